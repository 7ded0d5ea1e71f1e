/**
 * How long to wait before the next attempt: exponential backoff with "equal jitter" (half the step fixed, half
 * random, so clients that failed together spread out yet never hammer at once), and a server's `Retry-After`
 * taken as the least wait, plus up to a tenth of it so that clients told the same second do not return together.
 */

export interface BackoffOptions {
  /** Delay after the first failure, before jitter. */
  initialDelayMs: number;
  /** Ceiling of the exponential step. */
  maxDelayMs: number;
}

/**
 * @param attempt failures in a row so far, 1 for the first
 * @param retryAfterMs the server's `Retry-After`, when it sent one
 * @param random a number in [0, 1)
 */
export function retryDelay(
  attempt: number,
  options: BackoffOptions,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined) {
    return retryAfterMs + Math.floor(random() * Math.min(retryAfterMs / 10, 5_000));
  }
  const step = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(step / 2 + random() * (step / 2));
}

/** `Retry-After` in milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function parseRetryAfter(
  header: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (header === null || header === undefined) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
