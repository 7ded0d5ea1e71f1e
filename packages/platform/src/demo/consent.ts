/**
 * The demo users' consent, recorded before their traffic the way their browsers' consent banners would
 * (`POST /api/v1/consent` with the write key): every one grants `data_collection` and `analytics`, so the
 * dashboards have data whatever the consent mode, and some grant `marketing` and `osint_enrichment`, so the
 * consent history has choices to show. Deterministic for a seed.
 */
import type { Purpose } from '../privacy/consent/consent.ts';
import { Random } from './random.ts';
import type { DemoUser } from './users.ts';

const CONSENT_STREAM = 0x636f6e; // "con"

export interface DemoConsent {
  userId: string;
  anonymousId: string;
  purposes: Record<Purpose, boolean>;
}

export function demoConsent(user: DemoUser, seed: number): DemoConsent {
  const rng = new Random(seed, CONSENT_STREAM, user.index);
  return {
    userId: user.userId,
    anonymousId: user.anonymousId,
    purposes: {
      data_collection: true,
      analytics: true,
      marketing: rng.chance(0.35),
      osint_enrichment: rng.chance(0.1),
    },
  };
}

/**
 * Records each choice, `concurrency` at a time; resolves to how many the collector recorded. Fails on the first
 * refusal (an unknown write key, no collector), since the traffic would fail the same way.
 */
export async function recordDemoConsent(
  choices: Iterable<DemoConsent>,
  options: { url: string; writeKey: string; concurrency: number },
): Promise<number> {
  const endpoint = `${options.url.replace(/\/+$/, '')}/api/v1/consent`;
  const authorization = `Basic ${Buffer.from(`${options.writeKey}:`).toString('base64')}`;
  const iterator = choices[Symbol.iterator]();
  let recorded = 0;
  const worker = async () => {
    for (let step = iterator.next(); !step.done; step = iterator.next()) {
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body: JSON.stringify(step.value),
      });
      if (!response.ok) {
        const text = await response.text();
        throw new Error(`recording demo consent: HTTP ${response.status} ${text.slice(0, 300)}`);
      }
      recorded++;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
  return recorded;
}
