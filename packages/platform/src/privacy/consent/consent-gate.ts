/**
 * The consent gate, the collector's first edge stage: an event is stored only when its subject has granted every
 * purpose the event needs; otherwise it is dropped with DEEPREF_CONSENT_WITHHELD (counted, nothing kept). An
 * `identify` carrying both ids links them first, so that consent under either applies to both from then on.
 * A request with `Sec-GPC: 1` or `DNT: 1` withdraws analytics and marketing for its own events.
 */
import type { StoredEvent } from '@deepref/schema';
import type { EdgeContext, EdgeDecision, EdgeStage } from '../../collector/pipeline.ts';
import type { ConsentConfig } from '../../config.ts';
import { DeeprefError } from '../../errors.ts';
import { type Grants, PRIVACY_SIGNAL_WITHDRAWS, type Purpose, purposesOf } from './consent.ts';
import type { ConsentCache } from './consent-cache.ts';

function idsOf(event: StoredEvent): string[] {
  if (event.userId === undefined) return event.anonymousId === undefined ? [] : [event.anonymousId];
  return event.anonymousId === undefined ? [event.userId] : [event.userId, event.anonymousId];
}

export function consentGate(
  consent: ConsentCache,
  config: Pick<ConsentConfig, 'mode' | 'honorPrivacySignals'>,
): EdgeStage {
  // One message per outcome, made once: a dropped event costs no string building.
  const messages = new Map<string, EdgeDecision>();
  const dropped = (missing: Purpose[], bySignal: boolean): EdgeDecision => {
    const key = `${missing.join(',')}|${bySignal}`;
    let decision = messages.get(key);
    if (!decision) {
      const detail = bySignal
        ? 'the request withdrew with its Sec-GPC or DNT header'
        : `the subject has not granted (consent mode ${config.mode})`;
      const error = new DeeprefError('DEEPREF_CONSENT_WITHHELD', { purposes: missing.join(' and '), detail });
      decision = { dropped: { code: error.code, message: error.message } };
      messages.set(key, decision);
    }
    return decision;
  };

  return {
    name: 'consent',
    async apply(events: readonly StoredEvent[], context: EdgeContext): Promise<EdgeDecision[]> {
      for (const event of events) {
        if (event.type === 'identify' && event.userId !== undefined && event.anonymousId !== undefined) {
          await consent.link(event.anonymousId, event.userId);
        }
      }
      const signal = config.honorPrivacySignals && context.request.privacySignal === true;
      // From the cache without a promise when every subject is there (the common case); the others are looked
      // up once per distinct pair of ids.
      const all: (Grants | undefined)[] = [];
      let misses: Map<string, Promise<Grants>> | undefined;
      // A batch mostly comes from one visitor: an event with the previous one's ids shares its grants (nothing
      // awaits in this loop, so no consent write comes between them).
      let previous: StoredEvent | undefined;
      let previousGrants: Grants | undefined;
      for (const event of events) {
        if (
          previousGrants &&
          event.userId === previous!.userId &&
          event.anonymousId === previous!.anonymousId
        ) {
          all.push(previousGrants);
          continue;
        }
        const ids = idsOf(event);
        const grants = consent.cachedGrants(ids, config.mode);
        all.push(grants);
        previous = event;
        previousGrants = grants;
        if (grants === undefined) {
          misses ??= new Map();
          const key = ids.join('\u0000');
          if (!misses.has(key)) misses.set(key, consent.grants(ids, config.mode));
        }
      }
      if (misses) {
        for (let i = 0; i < events.length; i++) {
          all[i] ??= await misses.get(idsOf(events[i]!).join('\u0000'))!;
        }
      }
      return events.map((event, i): EdgeDecision => {
        const grants = all[i]!;
        const needs = purposesOf(event.eventName);
        // Checked before any list is made: nearly every event has all it needs.
        if (!needs.every((purpose) => grants[purpose])) {
          return dropped(
            needs.filter((purpose) => !grants[purpose]),
            false,
          );
        }
        if (signal) {
          const withdrawn = needs.filter((purpose) => PRIVACY_SIGNAL_WITHDRAWS.includes(purpose));
          if (withdrawn.length) return dropped(withdrawn, true);
        }
        return { event };
      });
    },
  };
}
