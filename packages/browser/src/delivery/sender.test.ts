import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Consent } from '../consent.ts';
import { uuidv7 } from '../ids.ts';
import { memoryQueueStore } from '../queue/array-queue-store.ts';
import type { QueuedEvent } from '../queue/queue-store.ts';
import { tabLock } from '../send-lock.ts';
import { utf8Bytes } from './batches.ts';
import { deliver, newStats, type SenderDeps } from './sender.ts';
import type { EventResult, SendResult, Transport } from './transport.ts';

/** What the collector does with one request. `lost-ack` stores the batch but the answer never arrives. */
type Fault = 'ok' | 'network' | 'lost-ack' | '503' | '429';

/** A collector that stores by eventId, the way the real one deduplicates, and records every request. */
function fakeCollector(faults: Fault[], options: { maxEvents?: number; poison?: Set<string> } = {}) {
  const stored = new Map<string, number>();
  const received: string[] = [];
  let request = 0;
  const transport: Transport = async (body) => {
    const events = JSON.parse(body) as { eventId: string; sentAt: string; n: number }[];
    const fault = faults[request++ % faults.length] ?? 'ok';
    if (options.maxEvents && events.length > options.maxEvents) return failure(413);
    if (events.some((event) => options.poison?.has(event.eventId))) return failure(400);
    if (fault === 'network') return failure(0);
    if (fault === '503') return failure(503, 2000);
    if (fault === '429') return failure(429, 1000);
    const results: EventResult[] = events.map((event) => {
      received.push(event.eventId);
      expect(event.sentAt).toMatch(/^\d{4}-\d\d-\d\dT/);
      if (event.n % 13 === 12)
        return { eventId: event.eventId, status: 'rejected', reason: 'schema_violation' };
      const seen = stored.has(event.eventId);
      stored.set(event.eventId, (stored.get(event.eventId) ?? 0) + 1);
      return { eventId: event.eventId, status: seen ? 'duplicate' : 'accepted' };
    });
    return fault === 'lost-ack' ? failure(0) : { ok: true, results };
  };
  return { transport, stored, received };
}

const failure = (status: number, retryAfterMs = 0): SendResult => ({ ok: false, status, retryAfterMs });

function queued(n: number, at = Date.now(), purposes: QueuedEvent['purposes'] = ['analytics']): QueuedEvent {
  const eventId = uuidv7();
  const json = JSON.stringify({ eventId, eventName: 'test', n, pad: 'x'.repeat(n % 7) });
  return { id: eventId, json, bytes: utf8Bytes(json), purposes, at };
}

function senderDeps(transport: Transport, overrides: Partial<SenderDeps> = {}): SenderDeps {
  return {
    store: memoryQueueStore(10 * 1024 * 1024),
    lock: tabLock(),
    transport,
    consent: (): Consent => ({ analytics: true, data_collection: true }),
    stats: newStats(),
    batchSize: 7,
    maxRequestBytes: 500 * 1024,
    ttlMs: 60_000,
    now: Date.now,
    inFlight: new Set(),
    onDelivered: () => {},
    ...overrides,
  };
}

/** Delivers from `senders` side by side (two tabs sharing one queue and lock) until the queue is empty. */
async function drain(senders: SenderDeps[]): Promise<number> {
  for (let round = 1; round <= 500; round++) {
    const results = await Promise.all(senders.map((deps) => deliver(deps, false)));
    if (results.every((result) => result.kind !== 'retry') && !(await senders[0]!.store.peek(1)).length) {
      return round;
    }
  }
  throw new Error('the queue never drained');
}

describe('deliver', () => {
  it('stores every event exactly once through any sequence of failures, with two tabs sending', async () => {
    const faults = fc.array(fc.constantFrom<Fault>('ok', 'network', 'lost-ack', '503', '429'), {
      minLength: 1,
      maxLength: 12,
    });
    await fc.assert(
      fc.asyncProperty(faults, fc.integer({ min: 0, max: 60 }), async (plan, count) => {
        const collector = fakeCollector(['ok', ...plan]);
        const first = senderDeps(collector.transport);
        const second = { ...first, stats: newStats(), inFlight: new Set<string>() };
        const events = Array.from({ length: count }, (_, n) => queued(n));
        await first.store.add(events);
        await drain([first, second]);

        const rejected = events.filter((_, n) => n % 13 === 12).map((event) => event.id);
        const kept = events.map((event) => event.id).filter((id) => !rejected.includes(id));
        expect([...collector.stored.keys()].sort()).toEqual([...kept].sort());
        for (const times of collector.stored.values()) expect(times).toBeGreaterThanOrEqual(1);
        const delivered = first.stats.delivered + second.stats.delivered;
        const refused = first.stats.rejected + second.stats.rejected;
        expect(delivered).toBe(kept.length);
        expect(refused).toBe(rejected.length);
        // Only a lost acknowledgement makes an event go over the wire twice.
        if (!plan.includes('lost-ack')) expect(collector.received.length).toBe(count);
      }),
      { numRuns: 60 },
    );
  });

  it('stops at the first failure and passes on Retry-After', async () => {
    const collector = fakeCollector(['503']);
    const deps = senderDeps(collector.transport);
    await deps.store.add([queued(1)]);
    expect(await deliver(deps, false)).toEqual({ kind: 'retry', status: 503, retryAfterMs: 2000 });
    expect(await deps.store.peek(10)).toHaveLength(1);
  });

  it('halves a batch the collector finds too large until it fits', async () => {
    const collector = fakeCollector(['ok'], { maxEvents: 2 });
    const deps = senderDeps(collector.transport);
    const events = Array.from({ length: 12 }, (_, n) => queued(n));
    await deps.store.add(events);
    expect(await deliver(deps, false)).toEqual({ kind: 'idle' });
    expect(collector.stored.size).toBe(12);
  });

  it('drops alone, and counts, an event the collector refuses as a bad request', async () => {
    const events = Array.from({ length: 9 }, (_, n) => queued(n));
    const poison = new Set([events[4]!.id]);
    const collector = fakeCollector(['ok'], { poison });
    const deps = senderDeps(collector.transport);
    await deps.store.add(events);
    expect(await deliver(deps, false)).toEqual({ kind: 'idle' });
    expect([...collector.stored.keys()].sort()).toEqual(
      events.filter((e) => !poison.has(e.id)).map((e) => e.id),
    );
    expect(deps.stats.rejected).toBe(1);
  });

  it('drops, and counts, events past their time-to-live or whose purpose was withdrawn', async () => {
    const collector = fakeCollector(['ok']);
    const deps = senderDeps(collector.transport, {
      consent: () => ({ analytics: false, data_collection: true }),
    });
    const now = Date.now();
    await deps.store.add([
      queued(1, now - 120_000, ['data_collection']),
      queued(2, now, ['analytics']),
      queued(3, now, ['data_collection']),
    ]);
    expect(await deliver(deps, false)).toEqual({ kind: 'idle' });
    expect(collector.stored.size).toBe(1);
    expect(deps.stats.dropped).toMatchObject({ expired: 1, consent: 1 });
    expect(await deps.store.peek(10)).toEqual([]);
  });

  it('leaves events whose purpose is undecided in the queue', async () => {
    const collector = fakeCollector(['ok']);
    const deps = senderDeps(collector.transport, { consent: () => ({ data_collection: true }) });
    await deps.store.add([queued(1, Date.now(), ['marketing'])]);
    expect(await deliver(deps, false)).toEqual({ kind: 'idle' });
    expect(await deps.store.peek(10)).toHaveLength(1);
    expect(collector.received).toEqual([]);
  });

  it('answers busy while another sender holds the lock', async () => {
    let release = () => {};
    const lock = tabLock();
    const holding = lock(() => new Promise<void>((resolve) => (release = resolve)), true);
    const deps = senderDeps(fakeCollector(['ok']).transport, { lock });
    expect(await deliver(deps, false)).toEqual({ kind: 'busy' });
    release();
    await holding;
  });
});
