/**
 * The `RealtimeStore` port (Cosmos DB hot store / Redis cache in the reference): string keys, counters, sorted
 * sets and hashes with expiry, for live dashboards, sliding windows and sessions. Its semantics are Redis's own
 * commands (SET, GET, INCRBY, ZADD, ZCOUNT, ZREMRANGEBYSCORE, ZRANGEBYSCORE, HSET, HGETALL, DEL), so the two
 * adapters behave identically: `memory/` (embedded default, one process) and `redis/` (scale-out).
 *
 * Shared rules:
 * - A key holds one kind of value (string, sorted set or hash). Using it as another kind rejects with a
 *   `RealtimeStoreError` of code `WRONGTYPE`; writing with `set` replaces whatever the key held.
 * - An expired key is gone: reads miss it, `incrBy` starts again at 0, and it may be reused as any kind.
 * - A sorted set emptied by `zremRangeByScore` is deleted, as in Redis.
 * - `ttlSeconds` is a whole number of seconds from 1 to 2147483647. Given to a write, it sets (or refreshes) the
 *   key's expiry in the same atomic step as the write. Left out, `set` makes the key persistent (SET drops an
 *   old expiry) while `incrBy`, `zadd` and `hset` keep whatever expiry the key had. As in a Redis MULTI, a write
 *   refused with `WRONGTYPE`, `NOT_INTEGER` or `OVERFLOW` still applies its `ttlSeconds` to the existing key.
 * - Strings are stored as UTF-8: a lone surrogate (not valid UTF-16) comes back as U+FFFD.
 * - Arguments outside these rules (a NaN score, a fractional increment, an empty hash, a negative limit) reject
 *   with a `RangeError` before anything is sent or changed.
 */
export interface RealtimeStore {
  /** Stores `value` under `key`, replacing any value of any kind (SET, or SET … EX when `ttlSeconds` is given). */
  set(key: string, value: string, ttlSeconds?: number): Promise<void>;
  /** The string under `key`, or undefined when there is none (GET). */
  get(key: string): Promise<string | undefined>;
  /**
   * Adds `by` (a safe integer, may be negative) to the 64-bit integer counter under `key`, starting from 0 when
   * the key is missing, and returns the new value (INCRBY). A string that is not a canonical integer rejects with
   * `NOT_INTEGER`, a result outside 64 bits with `OVERFLOW`. The stored digits are always exact; past 2^53 the
   * returned number is the nearest double to them.
   */
  incrBy(key: string, by: number, ttlSeconds?: number): Promise<number>;
  /** Adds `member` to the sorted set under `key` with `score`, or moves it to `score` (ZADD). ±Infinity allowed. */
  zadd(key: string, score: number, member: string, ttlSeconds?: number): Promise<void>;
  /** How many members have a score in [min, max], both ends inclusive; ±Infinity are open ends (ZCOUNT). */
  zcount(key: string, min: number, max: number): Promise<number>;
  /** Removes the members with a score in [min, max] and returns how many went (ZREMRANGEBYSCORE). */
  zremRangeByScore(key: string, min: number, max: number): Promise<number>;
  /**
   * The members with a score in [min, max], ordered by score and then by member (byte order of their UTF-8,
   * i.e. code point order), the first `limit` of them when given (ZRANGEBYSCORE … LIMIT 0 limit).
   */
  zrangeByScore(key: string, min: number, max: number, limit?: number): Promise<string[]>;
  /** Sets one or more fields of the hash under `key`, creating it when missing (HSET). */
  hset(key: string, fields: Record<string, string>, ttlSeconds?: number): Promise<void>;
  /** All fields of the hash under `key`; {} when there is none (HGETALL). */
  hgetall(key: string): Promise<Record<string, string>>;
  /** Removes `key` of any kind; nothing happens when it is missing (DEL). */
  del(key: string): Promise<void>;
  /** Releases the store (the memory adapter drops its data, the Redis adapter quits); later calls reject. */
  close(): Promise<void>;
}

/** Why Redis (or the memory adapter, with Redis's words) refused a command. */
export type RealtimeStoreErrorCode = 'WRONGTYPE' | 'NOT_INTEGER' | 'OVERFLOW';

/** A command refused because of what the key holds; the message is Redis's own. */
export class RealtimeStoreError extends Error {
  readonly code: RealtimeStoreErrorCode;

  constructor(code: RealtimeStoreErrorCode, options: { cause?: unknown } = {}) {
    super(realtimeStoreErrorMessages[code], options);
    this.name = 'RealtimeStoreError';
    this.code = code;
  }
}

export const realtimeStoreErrorMessages: Record<RealtimeStoreErrorCode, string> = {
  WRONGTYPE: 'WRONGTYPE Operation against a key holding the wrong kind of value',
  NOT_INTEGER: 'ERR value is not an integer or out of range',
  OVERFLOW: 'ERR increment or decrement would overflow',
};
