/**
 * The persistent event queue: what a page has tracked and the collector has not yet acknowledged. Events are
 * keyed by their UUID v7 eventId, so adding one twice keeps one and the store reads back in track order. Past
 * the byte budget the oldest events are evicted (and counted). Adapters: IndexedDB (default), localStorage
 * (fallback) and memory (cookieless mode).
 */
import type { Purpose } from '@deepref/schema';

export interface QueuedEvent {
  /** The eventId. */
  id: string;
  /** The event as JSON, without `sentAt` (set at send time). */
  json: string;
  /** UTF-8 bytes of `json`. */
  bytes: number;
  /** The consent purposes the event needs; checked again right before it is sent. */
  purposes: Purpose[];
  /** When it was tracked (epoch ms), for the time-to-live. */
  at: number;
}

export interface QueueStore {
  /** Adds events (an id already queued is skipped); resolves once they are stored, with how many old events were evicted. */
  add(events: readonly QueuedEvent[]): Promise<number>;
  /** Up to `limit` events, oldest first. */
  peek(limit: number): Promise<QueuedEvent[]>;
  remove(ids: readonly string[]): Promise<void>;
  /** The page is going away (pagehide) and may not come back. */
  leave?(): void;
  close(): void;
}

/**
 * The queue after adding `added` to `queue` (both in id order): ids already present are skipped, then the oldest
 * events are evicted until the total is within `maxBytes`.
 */
export function admit(
  queue: readonly QueuedEvent[],
  added: readonly QueuedEvent[],
  maxBytes: number,
): { queue: QueuedEvent[]; evicted: number } {
  const ids = new Set(queue.map((event) => event.id));
  const next = [...queue];
  let sorted = true;
  for (const event of added) {
    if (ids.has(event.id)) continue;
    ids.add(event.id);
    if (next.length && next[next.length - 1]!.id > event.id) sorted = false;
    next.push(event);
  }
  if (!sorted) next.sort((a, b) => (a.id < b.id ? -1 : 1));
  let total = 0;
  for (const event of next) total += event.bytes;
  let evicted = 0;
  while (total > maxBytes && evicted < next.length) total -= next[evicted++]!.bytes;
  return { queue: next.slice(evicted), evicted };
}
