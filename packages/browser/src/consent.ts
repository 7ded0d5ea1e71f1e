/**
 * Consent in the browser: which purposes the visitor granted, and what an event needs. Nothing is stored or sent
 * for a purpose that is denied; an event whose purpose is undecided waits in memory for `setConsent`.
 * Do Not Track and Global Privacy Control deny everything but `data_collection` until the visitor says otherwise.
 */
import type { Purpose } from '@deepref/schema';

/** Per purpose: granted (true), denied (false) or not decided yet (absent). */
export type Consent = Partial<Record<Purpose, boolean>>;
export type ConsentDecision = 'granted' | 'denied' | 'pending';

/**
 * The registered events whose purpose is `data_collection` (running and securing the service); every other
 * registered event needs `analytics`. Kept equal to @deepref/schema by a test, so that the bundle carries this
 * list rather than the schema.
 */
const dataCollectionEvents = new Set(
  'javascript_error api_latency database_query cache_access cache_hit_rate resource_usage trial_start trial_end subscription_complete subscription_upgrade subscription_downgrade subscription_cancel payment login logout mfa_challenge password_reset access_control threat_detected'.split(
    ' ',
  ),
);

/** The purposes an event needs: its registered purposes, `analytics` for a custom event. */
export function purposesOf(eventName: string): Purpose[] {
  return [dataCollectionEvents.has(eventName) ? 'data_collection' : 'analytics'];
}

/** Denied if any purpose is denied, pending if any is undecided, granted when all are granted. */
export function decide(purposes: readonly Purpose[], consent: Consent): ConsentDecision {
  let decision: ConsentDecision = 'granted';
  for (const purpose of purposes) {
    const granted = consent[purpose];
    if (granted === false) return 'denied';
    if (granted === undefined) decision = 'pending';
  }
  return decision;
}

/** Whether the browser sends Do Not Track or Global Privacy Control. */
export function privacySignal(): boolean {
  if (typeof navigator === 'undefined') return false;
  const nav = navigator as Navigator & { globalPrivacyControl?: boolean; msDoNotTrack?: string };
  const win = globalThis as { doNotTrack?: string };
  return (
    nav.globalPrivacyControl === true || [nav.doNotTrack, win.doNotTrack, nav.msDoNotTrack].includes('1')
  );
}

/**
 * The consent in force. `initial` is the site's starting point: by default `data_collection` and `analytics`
 * are granted and `marketing` and `osint_enrichment` undecided; `'pending'` leaves every purpose undecided.
 * A privacy signal denies all but `data_collection`. What the visitor chose with `setConsent` (`chosen`) wins
 * over both.
 */
export function effectiveConsent(
  initial: Consent | 'pending' | undefined,
  signal: boolean,
  chosen?: Consent,
): Consent {
  const consent: Consent =
    initial === 'pending' ? {} : { data_collection: true, analytics: true, ...initial };
  if (signal) consent.analytics = consent.marketing = consent.osint_enrichment = false;
  return { ...consent, ...chosen };
}
