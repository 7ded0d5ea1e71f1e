/**
 * The real-time store in the process's memory (the embedded default), with Redis's semantics command for command.
 * Memory stays bounded: an expired key is dropped when it is next touched, a timer sweeps the keys with an expiry
 * a batch at a time (as Redis's active expire cycle does), and past `maxKeys` unexpired keys a write that would
 * add a key rejects with `DEEPREF_REALTIME_STORE_FULL` instead of growing.
 */
import { DeeprefError } from '../../../errors.ts';
import {
  checkIncrement,
  checkLimit,
  checkOpen,
  checkScore,
  checkTtl,
  hashEntries,
} from '../realtime-arguments.ts';
import { type RealtimeStore, RealtimeStoreError, type RealtimeStoreErrorCode } from '../realtime-store.ts';
import { SortedSet } from './sorted-set.ts';

export interface MemoryRealtimeStoreOptions {
  /** Most keys held at once; expired keys are swept before a write is refused. Default 1,000,000. */
  maxKeys?: number;
  /** Milliseconds between two sweep batches; 0 turns the timer off (lazy expiry still applies). Default 100. */
  sweepIntervalMs?: number;
  /** Keys with an expiry examined per sweep batch. Default 10,000. */
  sweepBatch?: number;
  /** The time in milliseconds since the epoch; tests inject one to move time without waiting. */
  clock?: () => number;
}

type Value =
  | { kind: 'string'; value: string }
  | { kind: 'zset'; value: SortedSet }
  | { kind: 'hash'; value: Map<string, string> };

/** A key's value and when it expires (ms since the epoch; Infinity when it does not). */
type Entry = Value & { expiresAt: number };

const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;
/** The integers INCRBY accepts: Redis's string2ll takes no sign '+', no leading zeros, no '-0', no spaces. */
const canonicalInteger = /^(?:0|-?[1-9][0-9]{0,18})$/;

function parseInteger(text: string): bigint | undefined {
  if (!canonicalInteger.test(text)) return undefined;
  const value = BigInt(text);
  return value < int64Min || value > int64Max ? undefined : value;
}

/** String.prototype.isWellFormed/toWellFormed are in Node 20 but in TypeScript's ES2024 lib, not our ES2023. */
type Es2024String = string & { isWellFormed(): boolean; toWellFormed(): string };

/** What Redis stores for `text`: its UTF-8, in which a lone surrogate becomes U+FFFD. */
function stored(text: string): string {
  const candidate = text as Es2024String;
  return candidate.isWellFormed() ? text : candidate.toWellFormed();
}

export class MemoryRealtimeStore implements RealtimeStore {
  readonly maxKeys: number;
  #entries = new Map<string, Entry>();
  /** The keys whose entry has an expiry, which is all the sweep needs to look at. */
  #expiring = new Set<string>();
  #sweepCursor: Iterator<string> | undefined;
  #sweepBatch: number;
  #sweepTimer: NodeJS.Timeout | undefined;
  /** When a whole sweep last ran: until the clock moves, another one cannot find anything newly expired. */
  #lastFullSweepAt = Number.NaN;
  #clock: () => number;
  #closed = false;

  constructor(options: MemoryRealtimeStoreOptions = {}) {
    this.maxKeys = options.maxKeys ?? 1_000_000;
    this.#sweepBatch = options.sweepBatch ?? 10_000;
    this.#clock = options.clock ?? Date.now;
    if (!Number.isSafeInteger(this.maxKeys) || this.maxKeys < 1) {
      throw new RangeError(`maxKeys must be a whole number from 1, got ${this.maxKeys}`);
    }
    const interval = options.sweepIntervalMs ?? 100;
    if (interval > 0) {
      this.#sweepTimer = setInterval(() => this.#sweepSome(), interval);
      this.#sweepTimer.unref();
    }
  }

  /** Keys held, counting expired keys not yet swept. */
  get size(): number {
    return this.#entries.size;
  }

  async set(key: string, value: string, ttlSeconds?: number): Promise<void> {
    checkOpen(this.#closed);
    checkTtl(ttlSeconds);
    const name = stored(key);
    if (this.#live(name) === undefined) this.#makeRoom();
    const entry: Entry = { kind: 'string', value: stored(value), expiresAt: Number.POSITIVE_INFINITY };
    this.#entries.set(name, entry);
    this.#expiring.delete(name);
    this.#expire(name, entry, ttlSeconds);
  }

  async get(key: string): Promise<string | undefined> {
    checkOpen(this.#closed);
    const entry = this.#live(stored(key));
    if (entry === undefined) return undefined;
    if (entry.kind !== 'string') throw new RealtimeStoreError('WRONGTYPE');
    return entry.value;
  }

  async incrBy(key: string, by: number, ttlSeconds?: number): Promise<number> {
    checkOpen(this.#closed);
    checkIncrement(by);
    checkTtl(ttlSeconds);
    const name = stored(key);
    const entry = this.#live(name);
    if (entry !== undefined && entry.kind !== 'string') this.#refuse(name, entry, ttlSeconds, 'WRONGTYPE');
    const current = entry === undefined ? 0n : parseInteger(entry.value);
    if (current === undefined) this.#refuse(name, entry!, ttlSeconds, 'NOT_INTEGER');
    const next = current + BigInt(by);
    if (next < int64Min || next > int64Max) this.#refuse(name, entry!, ttlSeconds, 'OVERFLOW');
    const value = next.toString();
    if (entry === undefined) this.#create(name, { kind: 'string', value }, ttlSeconds);
    else {
      entry.value = value;
      this.#expire(name, entry, ttlSeconds);
    }
    return Number(next);
  }

  async zadd(key: string, score: number, member: string, ttlSeconds?: number): Promise<void> {
    checkOpen(this.#closed);
    checkScore('score', score);
    checkTtl(ttlSeconds);
    const name = stored(key);
    const entry = this.#live(name);
    if (entry === undefined) {
      const set = new SortedSet();
      set.add(score, stored(member));
      this.#create(name, { kind: 'zset', value: set }, ttlSeconds);
      return;
    }
    if (entry.kind !== 'zset') this.#refuse(name, entry, ttlSeconds, 'WRONGTYPE');
    entry.value.add(score, stored(member));
    this.#expire(name, entry, ttlSeconds);
  }

  async zcount(key: string, min: number, max: number): Promise<number> {
    checkOpen(this.#closed);
    checkScore('min', min);
    checkScore('max', max);
    return this.#sortedSet(key)?.count(min, max) ?? 0;
  }

  async zremRangeByScore(key: string, min: number, max: number): Promise<number> {
    checkOpen(this.#closed);
    checkScore('min', min);
    checkScore('max', max);
    const name = stored(key);
    const set = this.#sortedSet(name);
    if (set === undefined) return 0;
    const removed = set.removeRange(min, max);
    if (set.size === 0) this.#remove(name);
    return removed;
  }

  async zrangeByScore(key: string, min: number, max: number, limit?: number): Promise<string[]> {
    checkOpen(this.#closed);
    checkScore('min', min);
    checkScore('max', max);
    checkLimit(limit);
    return this.#sortedSet(key)?.range(min, max, limit) ?? [];
  }

  async hset(key: string, fields: Record<string, string>, ttlSeconds?: number): Promise<void> {
    checkOpen(this.#closed);
    const entries = hashEntries(fields);
    checkTtl(ttlSeconds);
    const name = stored(key);
    const entry = this.#live(name);
    if (entry !== undefined && entry.kind !== 'hash') this.#refuse(name, entry, ttlSeconds, 'WRONGTYPE');
    const hash = entry?.value ?? new Map<string, string>();
    for (const [field, value] of entries) hash.set(stored(field), stored(value));
    if (entry === undefined) this.#create(name, { kind: 'hash', value: hash }, ttlSeconds);
    else this.#expire(name, entry, ttlSeconds);
  }

  async hgetall(key: string): Promise<Record<string, string>> {
    checkOpen(this.#closed);
    const entry = this.#live(stored(key));
    if (entry === undefined) return {};
    if (entry.kind !== 'hash') throw new RealtimeStoreError('WRONGTYPE');
    // fromEntries defines own properties, so a field named __proto__ is a field (as ioredis returns it).
    return Object.fromEntries(entry.value);
  }

  async del(key: string): Promise<void> {
    checkOpen(this.#closed);
    this.#remove(stored(key));
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweepTimer);
    this.#entries.clear();
    this.#expiring.clear();
    this.#sweepCursor = undefined;
  }

  /** Milliseconds until `key` expires, as Redis's PTTL: -1 when it has no expiry, -2 when it does not exist. */
  pttl(key: string): number {
    checkOpen(this.#closed);
    const entry = this.#live(stored(key));
    if (entry === undefined) return -2;
    return entry.expiresAt === Number.POSITIVE_INFINITY ? -1 : entry.expiresAt - this.#clock();
  }

  /** Removes every expired key now and returns how many went. */
  sweepExpired(): number {
    const now = this.#clock();
    this.#lastFullSweepAt = now;
    let removed = 0;
    for (const key of this.#expiring) {
      if (now > this.#entries.get(key)!.expiresAt) {
        this.#remove(key);
        removed++;
      }
    }
    return removed;
  }

  /** One timer batch: the next `sweepBatch` keys with an expiry, resuming where the last batch stopped. */
  #sweepSome(): void {
    const now = this.#clock();
    for (let examined = 0; examined < this.#sweepBatch; examined++) {
      this.#sweepCursor ??= this.#expiring.values();
      const next = this.#sweepCursor.next();
      if (next.done) {
        this.#sweepCursor = undefined;
        return;
      }
      if (now > this.#entries.get(next.value)!.expiresAt) this.#remove(next.value);
    }
  }

  /** The entry under `key` unless it has expired (then it is dropped), as Redis's lazy expiry does. */
  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    // Redis counts a key as expired once the clock is past its expiry time, not at it.
    if (entry !== undefined && this.#clock() > entry.expiresAt) {
      this.#remove(key);
      return undefined;
    }
    return entry;
  }

  #sortedSet(key: string): SortedSet | undefined {
    const entry = this.#live(stored(key));
    if (entry === undefined) return undefined;
    if (entry.kind !== 'zset') throw new RealtimeStoreError('WRONGTYPE');
    return entry.value;
  }

  #create(key: string, value: Value, ttlSeconds: number | undefined): void {
    this.#makeRoom();
    const entry: Entry = { ...value, expiresAt: Number.POSITIVE_INFINITY };
    this.#entries.set(key, entry);
    this.#expire(key, entry, ttlSeconds);
  }

  /** Sets the expiry when `ttlSeconds` is given; otherwise leaves the entry's expiry as it is. */
  #expire(key: string, entry: Entry, ttlSeconds: number | undefined): void {
    if (ttlSeconds === undefined) return;
    entry.expiresAt = this.#clock() + ttlSeconds * 1000;
    this.#expiring.add(key);
  }

  /**
   * Rejects a write the key's value refuses. The Redis adapter sends the write and its EXPIRE in one MULTI, which
   * runs the EXPIRE even when the write fails, so the expiry is set here too.
   */
  #refuse(key: string, entry: Entry, ttlSeconds: number | undefined, code: RealtimeStoreErrorCode): never {
    this.#expire(key, entry, ttlSeconds);
    throw new RealtimeStoreError(code);
  }

  #makeRoom(): void {
    if (this.#entries.size < this.maxKeys) return;
    if (this.#clock() !== this.#lastFullSweepAt) this.sweepExpired();
    if (this.#entries.size >= this.maxKeys) {
      throw new DeeprefError('DEEPREF_REALTIME_STORE_FULL', { limit: this.maxKeys });
    }
  }

  #remove(key: string): void {
    this.#entries.delete(key);
    this.#expiring.delete(key);
  }
}
