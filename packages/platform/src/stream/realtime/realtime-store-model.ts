/**
 * A reference model of the `RealtimeStore` port for the model test: what Redis documents for these commands,
 * written as plainly as possible (maps, filter and sort, BigInt) with a virtual clock and none of the adapters'
 * code, so that an adapter agreeing with it agrees with Redis for a reason of its own.
 */
import type { RealtimeStoreErrorCode } from './realtime-store.ts';

export type Operation =
  | { op: 'set'; key: string; value: string; ttl?: number }
  | { op: 'get'; key: string }
  | { op: 'incrBy'; key: string; by: number; ttl?: number }
  | { op: 'zadd'; key: string; score: number; member: string; ttl?: number }
  | { op: 'zcount'; key: string; min: number; max: number }
  | { op: 'zremRangeByScore'; key: string; min: number; max: number }
  | { op: 'zrangeByScore'; key: string; min: number; max: number; limit?: number }
  | { op: 'hset'; key: string; fields: Record<string, string>; ttl?: number }
  | { op: 'hgetall'; key: string }
  | { op: 'del'; key: string }
  /** Lets virtual time pass. */
  | { op: 'elapse'; ms: number }
  /** Reads the key's remaining time to live, as Redis's PTTL. */
  | { op: 'pttl'; key: string };

/** What an operation answered: a value, or the code of the error it was refused with. */
export type Outcome = { value: unknown } | { error: RealtimeStoreErrorCode };

type ModelValue =
  | { kind: 'string'; text: string }
  | { kind: 'zset'; scores: Map<string, number> }
  | { kind: 'hash'; fields: Map<string, string> };

type ModelEntry = ModelValue & { expiresAt?: number };

/** Redis keeps bytes: a string is what survives a trip through UTF-8. */
const utf8 = (text: string): string => Buffer.from(text, 'utf8').toString('utf8');

/** Redis orders members with memcmp over their bytes. */
const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Redis's INCRBY takes a string whose integer prints back as the same text and fits in 64 bits. */
function redisInteger(text: string): bigint | undefined {
  try {
    const value = BigInt(text);
    return String(value) === text && BigInt.asIntN(64, value) === value ? value : undefined;
  } catch {
    return undefined;
  }
}

class Refused extends Error {
  constructor(readonly code: RealtimeStoreErrorCode) {
    super(code);
  }
}

export class RealtimeStoreModel {
  #now = 0;
  #keys = new Map<string, ModelEntry>();

  apply(operation: Operation): Outcome {
    try {
      return { value: this.#apply(operation) };
    } catch (error) {
      if (error instanceof Refused) return { error: error.code };
      throw error;
    }
  }

  #apply(o: Operation): unknown {
    if (o.op === 'elapse') {
      this.#now += o.ms;
      return undefined;
    }
    const key = utf8(o.key);
    const entry = this.#lookup(key);
    switch (o.op) {
      case 'set':
        this.#keys.set(key, { kind: 'string', text: utf8(o.value) });
        this.#expire(key, o.ttl);
        return undefined;
      case 'get':
        return this.#expect(key, entry, 'string', undefined)?.text;
      case 'incrBy': {
        const current = this.#expect(key, entry, 'string', o.ttl);
        const before = current === undefined ? 0n : redisInteger(current.text);
        if (before === undefined) this.#refuse(key, o.ttl, 'NOT_INTEGER');
        const after = before + BigInt(o.by);
        if (BigInt.asIntN(64, after) !== after) this.#refuse(key, o.ttl, 'OVERFLOW');
        this.#keys.set(key, { kind: 'string', text: String(after), expiresAt: entry?.expiresAt });
        this.#expire(key, o.ttl);
        return Number(after);
      }
      case 'zadd': {
        const scores = this.#expect(key, entry, 'zset', o.ttl)?.scores ?? new Map<string, number>();
        const member = utf8(o.member);
        // An equal score leaves the member as it was (0 and -0 are equal).
        if (scores.get(member) !== o.score) scores.set(member, o.score);
        this.#keys.set(key, { kind: 'zset', scores, expiresAt: entry?.expiresAt });
        this.#expire(key, o.ttl);
        return undefined;
      }
      case 'zcount':
        return this.#inRange(key, entry, o.min, o.max).length;
      case 'zrangeByScore': {
        const members = this.#inRange(key, entry, o.min, o.max);
        return o.limit === undefined ? members : members.slice(0, o.limit);
      }
      case 'zremRangeByScore': {
        const doomed = this.#inRange(key, entry, o.min, o.max);
        const zset = entry as (ModelEntry & { kind: 'zset' }) | undefined;
        for (const member of doomed) zset?.scores.delete(member);
        if (zset !== undefined && zset.scores.size === 0) this.#keys.delete(key);
        return doomed.length;
      }
      case 'hset': {
        const fields = this.#expect(key, entry, 'hash', o.ttl)?.fields ?? new Map<string, string>();
        for (const [field, value] of Object.entries(o.fields)) fields.set(utf8(field), utf8(value));
        this.#keys.set(key, { kind: 'hash', fields, expiresAt: entry?.expiresAt });
        this.#expire(key, o.ttl);
        return undefined;
      }
      case 'hgetall': {
        const fields = this.#expect(key, entry, 'hash', undefined)?.fields;
        return fields === undefined ? {} : Object.fromEntries(fields);
      }
      case 'del':
        this.#keys.delete(key);
        return undefined;
      case 'pttl':
        if (entry === undefined) return -2;
        return entry.expiresAt === undefined ? -1 : entry.expiresAt - this.#now;
    }
  }

  /** The key's entry, unless there is none or it has expired (Redis: expired once now is past the expiry). */
  #lookup(key: string): ModelEntry | undefined {
    const entry = this.#keys.get(key);
    if (entry?.expiresAt !== undefined && this.#now > entry.expiresAt) {
      this.#keys.delete(key);
      return undefined;
    }
    return entry;
  }

  /** The entry as `kind`, refusing another kind; a write's `ttl` still applies (the MULTI's EXPIRE runs). */
  #expect<K extends ModelValue['kind']>(
    key: string,
    entry: ModelEntry | undefined,
    kind: K,
    ttl: number | undefined,
  ): (ModelEntry & { kind: K }) | undefined {
    if (entry === undefined) return undefined;
    if (entry.kind !== kind) this.#refuse(key, ttl, 'WRONGTYPE');
    return entry as ModelEntry & { kind: K };
  }

  #refuse(key: string, ttl: number | undefined, code: RealtimeStoreErrorCode): never {
    this.#expire(key, ttl);
    throw new Refused(code);
  }

  #expire(key: string, ttl: number | undefined): void {
    const entry = this.#keys.get(key);
    if (ttl !== undefined && entry !== undefined) entry.expiresAt = this.#now + ttl * 1000;
  }

  #inRange(key: string, entry: ModelEntry | undefined, min: number, max: number): string[] {
    const scores = this.#expect(key, entry, 'zset', undefined)?.scores;
    if (scores === undefined) return [];
    return [...scores]
      .filter(([, score]) => min <= score && score <= max)
      .sort(([a, scoreA], [b, scoreB]) => (scoreA === scoreB ? byteOrder(a, b) : scoreA - scoreB))
      .map(([member]) => member);
  }
}
