/**
 * The argument checks both adapters run before touching data, so that a bad argument fails the same way (a
 * `RangeError` naming the argument) in memory and on Redis, instead of as whatever Redis says about its text.
 */

/** Redis's EXPIRE takes 64-bit seconds; a cap this low keeps expiry times exact in a double (memory). */
export const maxTtlSeconds = 2_147_483_647;

export function checkTtl(ttlSeconds: number | undefined): void {
  if (ttlSeconds === undefined) return;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > maxTtlSeconds) {
    throw new RangeError(`ttlSeconds must be a whole number from 1 to ${maxTtlSeconds}, got ${ttlSeconds}`);
  }
}

export function checkIncrement(by: number): void {
  if (!Number.isSafeInteger(by)) {
    throw new RangeError(`incrBy needs a safe integer increment, got ${by}`);
  }
}

export function checkScore(name: string, value: number): void {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new RangeError(`${name} must be a number or ±Infinity, got ${value}`);
  }
}

export function checkLimit(limit: number | undefined): void {
  if (limit === undefined) return;
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new RangeError(`limit must be a whole number from 0, got ${limit}`);
  }
}

/** The field/value pairs of an `hset`, which needs at least one (Redis refuses an HSET without fields). */
export function hashEntries(fields: Record<string, string>): [string, string][] {
  const entries = Object.entries(fields);
  if (entries.length === 0) throw new RangeError('hset needs at least one field');
  for (const [field, value] of entries) {
    if (typeof value !== 'string') {
      throw new RangeError(`hset field ${JSON.stringify(field)} must be a string, got ${typeof value}`);
    }
  }
  return entries;
}

/** What every call on a closed store rejects with, in both adapters. */
export function checkOpen(closed: boolean): void {
  if (closed) throw new Error('The real-time store is closed');
}
