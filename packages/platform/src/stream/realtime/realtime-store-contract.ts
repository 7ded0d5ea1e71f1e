/**
 * The behaviour every `RealtimeStore` adapter promises, as one suite that each adapter's test file runs with its
 * own fixture, plus a model test holding random operation sequences to `RealtimeStoreModel`.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type RealtimeStore, RealtimeStoreError } from './realtime-store.ts';
import { type Operation, type Outcome, RealtimeStoreModel } from './realtime-store-model.ts';

export interface RealtimeStoreFixture {
  store: RealtimeStore;
  /** Milliseconds until `key` expires, as Redis's PTTL: -1 without an expiry, -2 when it does not exist. */
  pttl(key: string): Promise<number>;
  /**
   * Lets `ms` pass as far as expiry goes: the memory adapter's clock moves; on Redis every key's expiry comes
   * `ms` closer. Real time passes too on Redis, so tests keep expiries seconds away from the moment they check.
   */
  elapse(ms: number): Promise<void>;
  /** Closes the store and removes whatever the test left behind. */
  dispose(): Promise<void>;
}

/** The error code a rejection carries, to compare adapters by Redis's refusal rather than by message. */
async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RealtimeStoreError) return error.code;
    throw error;
  }
  throw new Error('expected the store to refuse');
}

/** A TTL just set to `seconds`, read back on a clock that may have moved a little (Redis) or not (memory). */
function expectFreshTtl(pttl: number, seconds: number): void {
  expect(pttl).toBeLessThanOrEqual(seconds * 1000);
  expect(pttl).toBeGreaterThan(seconds * 1000 - 10_000);
}

export function describeRealtimeStoreContract(name: string, open: () => Promise<RealtimeStoreFixture>): void {
  describe(`RealtimeStore contract: ${name}`, () => {
    let fixture: RealtimeStoreFixture;
    let store: RealtimeStore;

    beforeEach(async () => {
      fixture = await open();
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture.dispose();
    });

    describe('strings', () => {
      it('gets what was set, and undefined for a missing key', async () => {
        await store.set('greeting', 'hello');
        await store.set('greeting', 'bonjour');
        expect(await store.get('greeting')).toBe('bonjour');
        expect(await store.get('missing')).toBeUndefined();
        await store.set('empty', '');
        expect(await store.get('empty')).toBe('');
      });

      it('keeps text through UTF-8, turning a lone surrogate into U+FFFD', async () => {
        await store.set('ключ 😀', 'värde 😀');
        expect(await store.get('ключ 😀')).toBe('värde 😀');
        await store.set('broken', 'a\uD800b');
        expect(await store.get('broken')).toBe('a\uFFFDb');
        // Keys go through UTF-8 as well, so two lone surrogates name the same key.
        await store.set('k\uD800', 'one');
        expect(await store.get('k\uDC00')).toBe('one');
      });

      it('sets an expiry with ttlSeconds and hides the key once it has passed', async () => {
        await store.set('session', 'alive', 60);
        expectFreshTtl(await fixture.pttl('session'), 60);
        await fixture.elapse(50_000);
        expect(await store.get('session')).toBe('alive');
        await fixture.elapse(10_001);
        expect(await store.get('session')).toBeUndefined();
        expect(await fixture.pttl('session')).toBe(-2);
      });

      it('drops an old expiry when set again without ttlSeconds, as SET does', async () => {
        await store.set('session', 'a', 60);
        await store.set('session', 'b');
        expect(await fixture.pttl('session')).toBe(-1);
        await store.set('session', 'c', 120);
        expectFreshTtl(await fixture.pttl('session'), 120);
      });
    });

    describe('counters', () => {
      it('starts a missing counter at 0 and adds to it, negative steps included', async () => {
        expect(await store.incrBy('views', 1)).toBe(1);
        expect(await store.incrBy('views', 41)).toBe(42);
        expect(await store.incrBy('views', -50)).toBe(-8);
        expect(await store.incrBy('zero', 0)).toBe(0);
        expect(await store.get('views')).toBe('-8');
      });

      it('counts on from a string holding a canonical integer', async () => {
        await store.set('n', '-17');
        expect(await store.incrBy('n', 20)).toBe(3);
        await store.set('big', '9007199254740993');
        await store.incrBy('big', 1);
        // The stored digits stay exact past 2^53, where a JavaScript number would round.
        expect(await store.get('big')).toBe('9007199254740994');
      });

      it('refuses a string that is not a canonical 64-bit integer and leaves it as it was', async () => {
        for (const text of ['abc', '', '1.5', '007', '+1', ' 1', '-0', '9223372036854775808']) {
          await store.set('n', text);
          expect(await refusal(store.incrBy('n', 1)), JSON.stringify(text)).toBe('NOT_INTEGER');
          expect(await store.get('n')).toBe(text);
        }
      });

      it('refuses to overflow 64 bits', async () => {
        await store.set('n', '9223372036854775807');
        expect(await refusal(store.incrBy('n', 1))).toBe('OVERFLOW');
        await store.set('n', '-9223372036854775808');
        expect(await refusal(store.incrBy('n', -1))).toBe('OVERFLOW');
        expect(await store.get('n')).toBe('-9223372036854775808');
      });

      it('refreshes the expiry when given ttlSeconds and keeps it when not', async () => {
        await store.incrBy('hits', 1, 60);
        expectFreshTtl(await fixture.pttl('hits'), 60);
        await fixture.elapse(30_000);
        await store.incrBy('hits', 1);
        expectFreshTtl(await fixture.pttl('hits'), 30);
        await store.incrBy('hits', 1, 600);
        expectFreshTtl(await fixture.pttl('hits'), 600);
        expect(await store.get('hits')).toBe('3');
      });

      it('starts again at 0 once the counter has expired', async () => {
        await store.incrBy('minute', 5, 60);
        await fixture.elapse(60_001);
        expect(await store.incrBy('minute', 2, 60)).toBe(2);
      });
    });

    describe('sorted sets', () => {
      it('orders members by score, then by member in UTF-8 byte order', async () => {
        const members: [number, string][] = [
          [2, 'b'],
          [1, 'z'],
          [2, 'B'],
          [2, 'a'],
          [2, 'ab'],
          [2, ''],
          [2, '😀'],
          [2, '\uFFFF'],
          [2, 'é'],
          [-1, 'neg'],
        ];
        for (const [score, member] of members) await store.zadd('ranking', score, member);
        expect(
          await store.zrangeByScore('ranking', Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY),
        ).toEqual(['neg', 'z', '', 'B', 'a', 'ab', 'b', 'é', '\uFFFF', '😀']);
      });

      it('includes both ends of a range and treats ±Infinity as open ends', async () => {
        for (const [score, member] of [
          [1, 'one'],
          [2, 'two'],
          [3, 'three'],
          [Number.POSITIVE_INFINITY, 'top'],
          [Number.NEGATIVE_INFINITY, 'bottom'],
        ] as const) {
          await store.zadd('s', score, member);
        }
        expect(await store.zcount('s', 1, 3)).toBe(3);
        expect(await store.zrangeByScore('s', 2, 3)).toEqual(['two', 'three']);
        expect(await store.zrangeByScore('s', 1.5, 1.9)).toEqual([]);
        expect(await store.zcount('s', Number.NEGATIVE_INFINITY, 1)).toBe(2);
        expect(await store.zcount('s', 3, Number.POSITIVE_INFINITY)).toBe(2);
        expect(await store.zcount('s', Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY)).toBe(1);
        expect(await store.zcount('s', 3, 1)).toBe(0);
        expect(await store.zrangeByScore('s', 3, 1)).toEqual([]);
        expect(await store.zcount('missing', 0, 10)).toBe(0);
        expect(await store.zrangeByScore('missing', 0, 10)).toEqual([]);
      });

      it('returns the first `limit` members of a range', async () => {
        for (let i = 0; i < 5; i++) await store.zadd('s', i, `m${i}`);
        expect(await store.zrangeByScore('s', 1, 10, 2)).toEqual(['m1', 'm2']);
        expect(await store.zrangeByScore('s', 1, 10, 10)).toEqual(['m1', 'm2', 'm3', 'm4']);
        expect(await store.zrangeByScore('s', 1, 10, 0)).toEqual([]);
      });

      it('moves a member added again to its new score', async () => {
        await store.zadd('s', 1, 'a');
        await store.zadd('s', 2, 'b');
        await store.zadd('s', 3, 'a');
        expect(await store.zrangeByScore('s', 0, 10)).toEqual(['b', 'a']);
        expect(await store.zcount('s', 0, 10)).toBe(2);
      });

      it('keeps fractional and extreme scores exact', async () => {
        await store.zadd('s', 0.1 + 0.2, 'sum');
        await store.zadd('s', 0.3, 'literal');
        await store.zadd('s', -1e300, 'tiny');
        await store.zadd('s', 5e-324, 'subnormal');
        expect(await store.zrangeByScore('s', 0.3, 0.3)).toEqual(['literal']);
        expect(await store.zrangeByScore('s', 0.1 + 0.2, 0.1 + 0.2)).toEqual(['sum']);
        expect(await store.zrangeByScore('s', -1e300, 5e-324)).toEqual(['tiny', 'subnormal']);
      });

      it('removes a range, both ends included, and deletes the set it empties', async () => {
        for (let i = 1; i <= 5; i++) await store.zadd('window', i * 1000, `event-${i}`);
        expect(await store.zremRangeByScore('window', Number.NEGATIVE_INFINITY, 2000)).toBe(2);
        expect(
          await store.zrangeByScore('window', Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY),
        ).toEqual(['event-3', 'event-4', 'event-5']);
        expect(await store.zremRangeByScore('window', 10_000, 20_000)).toBe(0);
        expect(await store.zremRangeByScore('window', 3000, 5000)).toBe(3);
        // The key is gone, not an empty set: it can hold a string now.
        expect(await store.get('window')).toBeUndefined();
        expect(await fixture.pttl('window')).toBe(-2);
        expect(await store.zremRangeByScore('missing', 0, 1)).toBe(0);
      });

      it('refreshes the expiry with ttlSeconds and keeps it without', async () => {
        await store.zadd('recent', 1, 'a', 60);
        expectFreshTtl(await fixture.pttl('recent'), 60);
        await store.zadd('recent', 2, 'b');
        expectFreshTtl(await fixture.pttl('recent'), 60);
        await store.zadd('recent', 3, 'c', 600);
        expectFreshTtl(await fixture.pttl('recent'), 600);
        await fixture.elapse(600_001);
        expect(await store.zcount('recent', Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY)).toBe(0);
      });
    });

    describe('hashes', () => {
      it('merges fields into the hash and reads them all back', async () => {
        expect(await store.hgetall('user:1')).toEqual({});
        await store.hset('user:1', { name: 'Ada', plan: 'trial' });
        await store.hset('user:1', { plan: 'paid', seats: '3' });
        expect(await store.hgetall('user:1')).toEqual({ name: 'Ada', plan: 'paid', seats: '3' });
      });

      it('keeps fields named like Object.prototype members as plain fields', async () => {
        const fields = Object.fromEntries([
          ['__proto__', 'p'],
          ['constructor', 'c'],
          ['toString', 't'],
        ]);
        await store.hset('h', fields);
        const read = await store.hgetall('h');
        expect(Object.entries(read).sort()).toEqual([
          ['__proto__', 'p'],
          ['constructor', 'c'],
          ['toString', 't'],
        ]);
      });

      it('sets the expiry with ttlSeconds and keeps it without', async () => {
        await store.hset('session:9', { page: '/' }, 1800);
        expectFreshTtl(await fixture.pttl('session:9'), 1800);
        await store.hset('session:9', { page: '/pricing' });
        expectFreshTtl(await fixture.pttl('session:9'), 1800);
        await fixture.elapse(1_800_001);
        expect(await store.hgetall('session:9')).toEqual({});
      });
    });

    describe('keys', () => {
      it('deletes a key of any kind, and a missing key without complaint', async () => {
        await store.set('s', 'v');
        await store.zadd('z', 1, 'm');
        await store.hset('h', { f: 'v' });
        for (const key of ['s', 'z', 'h', 'missing']) await store.del(key);
        for (const key of ['s', 'z', 'h']) expect(await fixture.pttl(key)).toBe(-2);
      });

      it('refuses to use a key as another kind than it holds, and set replaces any kind', async () => {
        await store.set('s', 'v');
        await store.zadd('z', 1, 'm');
        await store.hset('h', { f: 'v' });
        expect(await refusal(store.get('z'))).toBe('WRONGTYPE');
        expect(await refusal(store.incrBy('h', 1))).toBe('WRONGTYPE');
        expect(await refusal(store.zadd('s', 1, 'm'))).toBe('WRONGTYPE');
        expect(await refusal(store.zcount('h', 0, 1))).toBe('WRONGTYPE');
        expect(await refusal(store.zrangeByScore('s', 0, 1))).toBe('WRONGTYPE');
        expect(await refusal(store.zremRangeByScore('h', 0, 1))).toBe('WRONGTYPE');
        expect(await refusal(store.hset('z', { f: 'v' }))).toBe('WRONGTYPE');
        expect(await refusal(store.hgetall('s'))).toBe('WRONGTYPE');
        await store.set('z', 'now a string');
        expect(await store.get('z')).toBe('now a string');
      });

      it('applies ttlSeconds of a refused write to the key, as the EXPIRE in its MULTI runs', async () => {
        await store.hset('h', { f: 'v' });
        expect(await refusal(store.incrBy('h', 1, 60))).toBe('WRONGTYPE');
        expectFreshTtl(await fixture.pttl('h'), 60);
        expect(await store.hgetall('h')).toEqual({ f: 'v' });
      });

      it('lets an expired key be reused as another kind', async () => {
        await store.set('k', 'text', 10);
        await fixture.elapse(10_001);
        await store.hset('k', { now: 'a hash' });
        expect(await store.hgetall('k')).toEqual({ now: 'a hash' });
        expect(await fixture.pttl('k')).toBe(-1);
      });
    });

    describe('arguments', () => {
      it('rejects bad arguments with a RangeError before changing anything', async () => {
        await store.set('n', '1');
        await store.zadd('z', 1, 'm');
        const bad: [string, () => Promise<unknown>][] = [
          ['ttl 0', () => store.set('n', 'x', 0)],
          ['negative ttl', () => store.incrBy('n', 1, -5)],
          ['fractional ttl', () => store.zadd('z', 2, 'm', 1.5)],
          ['fractional increment', () => store.incrBy('n', 0.5)],
          ['unsafe increment', () => store.incrBy('n', 2 ** 53)],
          ['NaN score', () => store.zadd('z', Number.NaN, 'm')],
          ['NaN bound', () => store.zcount('z', Number.NaN, 1)],
          ['NaN bound in removal', () => store.zremRangeByScore('z', 0, Number.NaN)],
          ['negative limit', () => store.zrangeByScore('z', 0, 1, -1)],
          ['fractional limit', () => store.zrangeByScore('z', 0, 1, 1.5)],
          ['empty hash', () => store.hset('h', {})],
        ];
        for (const [what, call] of bad) await expect(call(), what).rejects.toBeInstanceOf(RangeError);
        expect(await store.get('n')).toBe('1');
        expect(await fixture.pttl('n')).toBe(-1);
        expect(await store.zrangeByScore('z', Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY)).toEqual([
          'm',
        ]);
        expect(await fixture.pttl('h')).toBe(-2);
      });
    });

    it('rejects calls once closed, and closes twice without complaint', async () => {
      await store.set('k', 'v');
      await store.close();
      await store.close();
      await expect(store.get('k')).rejects.toThrow('The real-time store is closed');
      await expect(store.set('k', 'w')).rejects.toThrow('The real-time store is closed');
    });

    it('answers random operation sequences as the reference model does', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(operation, { minLength: 1, maxLength: 60, size: 'max' }),
          async (operations) => {
            const model = new RealtimeStoreModel();
            const run = await open();
            try {
              for (const [index, o] of operations.entries()) {
                const expected = comparable(o, model.apply(o));
                const actual = comparable(o, await perform(run, o));
                expect(actual, `operation ${index}: ${JSON.stringify(o)}`).toEqual(expected);
              }
            } finally {
              await run.dispose();
            }
          },
        ),
        { numRuns: 200 },
      );
    });
  });
}

// The model test's operations: few keys, members and values, so that sequences collide, change kinds and expire.
const key = fc.constantFrom('a', 'b', 'ключ');
const member = fc.constantFrom('', 'm', 'M', 'mm', 'é', '\uFFFF', '\uFFFD', '😀', '\uD800');
const score = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 2 }), weight: 3 },
  {
    arbitrary: fc.constantFrom(-1, 0.5, -0, 1e300, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
    weight: 1,
  },
);
const text = fc.constantFrom(
  '0',
  '7',
  '-7',
  '007',
  '-0',
  '+1',
  ' 1',
  '',
  'x',
  '\uDC00',
  '9007199254740993',
  '9223372036854775806',
  '-9223372036854775807',
);
const increment = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER),
);
// Whole multiples of 10 s, and time moving in steps of 10 s·k + 1 ms: an expiry is then never within a few
// seconds of the moment it is checked, so Redis's own clock moving on during the run cannot change the outcome.
const ttl = fc.option(fc.constantFrom(10, 20, 60), { nil: undefined });
const elapse = fc.constantFrom(1, 10_001, 30_001);
const fields = fc
  .uniqueArray(
    fc.tuple(fc.constantFrom('f', 'g', '__proto__', 'constructor', '\uD800'), fc.constantFrom('', 'v', 'w')),
    { selector: ([field]) => field, minLength: 1, maxLength: 3 },
  )
  .map((pairs) => Object.fromEntries(pairs));

const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), key, value: text, ttl }),
  fc.record({ op: fc.constant('get' as const), key }),
  fc.record({ op: fc.constant('incrBy' as const), key, by: increment, ttl }),
  { arbitrary: fc.record({ op: fc.constant('zadd' as const), key, score, member, ttl }), weight: 4 },
  fc.record({ op: fc.constant('zcount' as const), key, min: score, max: score }),
  fc.record({ op: fc.constant('zremRangeByScore' as const), key, min: score, max: score }),
  fc.record({
    op: fc.constant('zrangeByScore' as const),
    key,
    min: score,
    max: score,
    limit: fc.option(fc.nat(3), { nil: undefined }),
  }),
  fc.record({ op: fc.constant('hset' as const), key, fields, ttl }),
  fc.record({ op: fc.constant('hgetall' as const), key }),
  fc.record({ op: fc.constant('del' as const), key }),
  fc.record({ op: fc.constant('elapse' as const), ms: elapse }),
  fc.record({ op: fc.constant('pttl' as const), key }),
);

async function perform(fixture: RealtimeStoreFixture, o: Operation): Promise<Outcome> {
  const { store } = fixture;
  try {
    switch (o.op) {
      case 'set':
        return { value: await store.set(o.key, o.value, o.ttl) };
      case 'get':
        return { value: await store.get(o.key) };
      case 'incrBy':
        return { value: await store.incrBy(o.key, o.by, o.ttl) };
      case 'zadd':
        return { value: await store.zadd(o.key, o.score, o.member, o.ttl) };
      case 'zcount':
        return { value: await store.zcount(o.key, o.min, o.max) };
      case 'zremRangeByScore':
        return { value: await store.zremRangeByScore(o.key, o.min, o.max) };
      case 'zrangeByScore':
        return { value: await store.zrangeByScore(o.key, o.min, o.max, o.limit) };
      case 'hset':
        return { value: await store.hset(o.key, o.fields, o.ttl) };
      case 'hgetall':
        return { value: await store.hgetall(o.key) };
      case 'del':
        return { value: await store.del(o.key) };
      case 'elapse':
        return { value: await fixture.elapse(o.ms) };
      case 'pttl':
        return { value: await fixture.pttl(o.key) };
    }
  } catch (error) {
    if (error instanceof RealtimeStoreError) return { error: error.code };
    throw error;
  }
}

/**
 * An outcome as the model test compares it: a remaining TTL in whole 10-second steps, as Redis's clock moves on
 * during the run (by far less than a step).
 */
function comparable(o: Operation, outcome: Outcome): Outcome {
  if (!('value' in outcome)) return outcome;
  const { value } = outcome;
  if (o.op === 'pttl' && typeof value === 'number' && value >= 0) {
    return { value: `${Math.ceil(value / 10_000)} steps` };
  }
  return outcome;
}
