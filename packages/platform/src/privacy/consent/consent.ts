/**
 * Consent in the words of the reference (§7.2): the purposes a subject grants or withdraws, what each event needs,
 * and the state a history of decisions comes to. Pure: the store, the cache, the gate and the routes build on it.
 */
import { eventDefinition, PURPOSES, type Purpose } from '@deepref/schema';

export { PURPOSES, type Purpose };

/**
 * What a subject without a record has granted. `opt-out`: `data_collection` and `analytics` until withdrawn.
 * `opt-in`: `data_collection` only. `osint_enrichment` and `marketing` are opt-in in both modes.
 */
export type ConsentMode = 'opt-out' | 'opt-in';

/** Who recorded a decision: the browser SDK (write key), a program through the API, or an operator. */
export type ConsentMethod = 'sdk' | 'api' | 'admin';
export const CONSENT_METHODS: readonly ConsentMethod[] = ['sdk', 'api', 'admin'];

/** The purposes an identifying request header withdraws for the events of that request (GPC, DNT). */
export const PRIVACY_SIGNAL_WITHDRAWS: readonly Purpose[] = ['analytics', 'marketing'];

/** One grant or withdrawal of one purpose, as the append-only history keeps it; `id` orders the history. */
export interface ConsentRecord {
  id: number;
  subjectId: string;
  purpose: Purpose;
  granted: boolean;
  policyVersion: string;
  method: ConsentMethod;
  recordedAt: string;
}

/** Where a purpose's state comes from: the latest record for it, or the mode's default. */
export type PurposeState =
  | { granted: boolean; basis: 'default' }
  | {
      granted: boolean;
      basis: 'record';
      recordId: number;
      policyVersion: string;
      method: ConsentMethod;
      recordedAt: string;
    };

export type ConsentState = Record<Purpose, PurposeState>;

/** Per purpose, granted or not: what the gate needs. */
export type Grants = Record<Purpose, boolean>;

export function defaultGrants(mode: ConsentMode): Grants {
  return { data_collection: true, analytics: mode === 'opt-out', osint_enrichment: false, marketing: false };
}

/**
 * The state a history comes to: per purpose, the record with the highest id wins, and a purpose without a record
 * keeps the mode's default. The histories of linked subjects may be passed together, in any order.
 */
export function foldConsent(history: readonly ConsentRecord[], mode: ConsentMode): ConsentState {
  const defaults = defaultGrants(mode);
  const state = Object.fromEntries(
    PURPOSES.map((purpose) => [purpose, { granted: defaults[purpose], basis: 'default' }]),
  ) as ConsentState;
  for (const record of history) {
    const current = state[record.purpose];
    if (current.basis === 'record' && current.recordId > record.id) continue;
    state[record.purpose] = {
      granted: record.granted,
      basis: 'record',
      recordId: record.id,
      policyVersion: record.policyVersion,
      method: record.method,
      recordedAt: record.recordedAt,
    };
  }
  return state;
}

const customEventPurposes: readonly Purpose[] = ['analytics'];

/**
 * The purposes an event needs: a registered event's declared purposes; a custom event needs `analytics`, since
 * what it measures is unknown and product analytics is what custom events are overwhelmingly used for. The
 * Segment `identify`, `group` and `alias` calls are custom names too, so they need `analytics` as well.
 */
export function purposesOf(eventName: string): readonly Purpose[] {
  return eventDefinition(eventName)?.purposes ?? customEventPurposes;
}

/** The policy text published when a deployment has none yet, so every record can name the version it was given under. */
export const builtInPolicy = {
  version: '1',
  text: [
    'data_collection (required): what the service needs to run, bill and secure itself. Withdrawing it stops all collection and limits features.',
    'analytics: product and usage analytics, to improve performance and the product. Withdrawing it has no other impact.',
    'osint_enrichment: enriching the profile from public sources. Withdrawing it reduces personalization.',
    'marketing: promotional communications and campaign attribution. Withdrawing it stops marketing emails.',
  ].join('\n'),
};
