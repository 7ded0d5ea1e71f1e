/**
 * When to try again after a failed send: exponential backoff with jitter, 0.5 s doubling to 60 s, and never
 * sooner than the collector asked for with `Retry-After`.
 */

export const minRetryMs = 500;
export const maxRetryMs = 60_000;
/** A `Retry-After` beyond this is treated as this: an event queue that waits a day is a lost queue. */
export const maxRetryAfterMs = 3_600_000;

/**
 * The delay before retry number `attempt` (0 for the first retry): uniform in [d/2, d] where
 * d = min(60 s, 0.5 s · 2^attempt), so that tabs and visitors who failed together spread out ("equal jitter").
 */
export function retryDelay(attempt: number, retryAfterMs = 0, random: () => number = Math.random): number {
  const nominal = Math.min(maxRetryMs, minRetryMs * 2 ** Math.min(attempt, 30));
  const jittered = nominal / 2 + (random() * nominal) / 2;
  return Math.max(Math.round(jittered), Math.min(retryAfterMs, maxRetryAfterMs));
}

/** `Retry-After` in milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); 0 when absent or unreadable. */
export function parseRetryAfter(header: string | null | undefined, now: number = Date.now()): number {
  if (!header) return 0;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? 0 : Math.max(0, at - now);
}
