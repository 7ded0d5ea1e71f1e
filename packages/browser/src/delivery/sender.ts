/**
 * The delivery engine: holding the send lock, it reads the oldest queued events, drops those past their
 * time-to-live or whose consent was withdrawn, sends the rest in batches, and removes them from the queue only
 * once the collector has acknowledged them. It stops at the first failure and says when to try again; the caller
 * keeps the timers. Nothing here touches the DOM, so it runs under test in Node.
 */
import { type Consent, decide } from '../consent.ts';
import type { QueuedEvent, QueueStore } from '../queue/queue-store.ts';
import type { SendLock } from '../send-lock.ts';
import { batchLength, maxBeaconBytes, requestBody, utf8Bytes } from './batches.ts';
import type { Transport } from './transport.ts';

/** What became of tracked events, for `stats()`. Nothing is dropped without being counted here. */
export interface Stats {
  tracked: number;
  /** Acknowledged by the collector as new (`accepted`) or already stored (`duplicate`). */
  delivered: number;
  duplicates: number;
  /** Refused by the collector as invalid; it keeps them as dead letters with the reason. */
  rejected: number;
  /** Failed requests that will be tried again. */
  retries: number;
  dropped: {
    /** Their purpose was denied (at track time, or withdrawn before sending). */
    consent: number;
    /** Older than the time-to-live when their turn came. */
    expired: number;
    /** Evicted, oldest first, to keep the queue within its byte budget. */
    budget: number;
    /** Larger than the collector takes (32 KB). */
    tooLarge: number;
    /** Waited for an undecided purpose past the in-memory limit. */
    pending: number;
  };
}

export function newStats(): Stats {
  return {
    tracked: 0,
    delivered: 0,
    duplicates: 0,
    rejected: 0,
    retries: 0,
    dropped: { consent: 0, expired: 0, budget: 0, tooLarge: 0, pending: 0 },
  };
}

export interface SenderDeps {
  store: QueueStore;
  lock: SendLock;
  transport: Transport;
  consent: () => Consent;
  stats: Stats;
  batchSize: number;
  maxRequestBytes: number;
  ttlMs: number;
  now: () => number;
  /** The ids of the events in a request right now (the page-exit beacon leaves them out). */
  inFlight: Set<string>;
  onDelivered: (ids: string[]) => void;
}

/**
 * `idle`: the queue is empty (or holds only events waiting for consent). `busy`: another sender holds the lock.
 * `retry`: a request failed with `status` (0: no answer); `retryAfterMs` is the collector's `Retry-After`.
 */
export type Delivery =
  | { kind: 'idle' }
  | { kind: 'busy' }
  | { kind: 'retry'; status: number; retryAfterMs: number };

/** Sends until the queue is empty or a request fails. With `wait`, waits for the lock instead of returning `busy`. */
export async function deliver(deps: SenderDeps, wait: boolean): Promise<Delivery> {
  const { store, stats } = deps;
  const outcome = await deps.lock(async (): Promise<Delivery> => {
    let limit = deps.batchSize;
    for (;;) {
      const queued = await store.peek(deps.batchSize);
      const consent = deps.consent();
      const now = deps.now();
      const dropped: string[] = [];
      const ready: QueuedEvent[] = [];
      for (const event of queued) {
        const decision = decide(event.purposes, consent);
        if (now - event.at > deps.ttlMs) {
          stats.dropped.expired++;
          dropped.push(event.id);
        } else if (decision === 'denied') {
          stats.dropped.consent++;
          dropped.push(event.id);
        } else if (decision === 'granted') ready.push(event);
      }
      if (dropped.length) await store.remove(dropped);
      if (!ready.length) {
        if (dropped.length) continue;
        return { kind: 'idle' };
      }

      const batch = ready.slice(0, batchLength(ready, limit, deps.maxRequestBytes));
      const ids = batch.map((event) => event.id);
      const body = requestBody(batch, new Date(now).toISOString());
      for (const id of ids) deps.inFlight.add(id);
      let result: Awaited<ReturnType<Transport>>;
      try {
        // keepalive lets a request finish after the page is gone, but only for small bodies.
        result = await deps.transport(body, utf8Bytes(body) <= maxBeaconBytes);
      } finally {
        for (const id of ids) deps.inFlight.delete(id);
      }

      if (result.ok) {
        for (const { status } of result.results) {
          if (status === 'rejected') stats.rejected++;
          else if (status === 'duplicate') stats.duplicates++;
        }
        const refused = result.results.filter((r) => r.status === 'rejected').length;
        stats.delivered += ids.length - refused;
        await store.remove(ids);
        deps.onDelivered(ids);
        limit = deps.batchSize;
        continue;
      }
      // Too large or not valid as a whole: halve the batch until the culprit stands alone, then drop it
      // (counted) rather than let one event block the queue.
      if (result.status === 413 || result.status === 400) {
        if (batch.length > 1) {
          limit = Math.ceil(batch.length / 2);
          continue;
        }
        stats.rejected++;
        await store.remove(ids);
        continue;
      }
      return { kind: 'retry', status: result.status, retryAfterMs: result.retryAfterMs };
    }
  }, wait);
  return outcome ?? { kind: 'busy' };
}
