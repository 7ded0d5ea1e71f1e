import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DeeprefError } from '../../../errors.ts';
import { describeRealtimeStoreContract } from '../realtime-store-contract.ts';
import { MemoryRealtimeStore } from './memory-realtime-store.ts';
import { compareMembers } from './sorted-set.ts';

const start = Date.UTC(2026, 10, 27);

/** A store on a clock the test moves, with the sweep timer off unless asked for. */
function clockedStore(options: { maxKeys?: number; sweepIntervalMs?: number; sweepBatch?: number } = {}) {
  const clock = { now: start };
  const store = new MemoryRealtimeStore({ sweepIntervalMs: 0, ...options, clock: () => clock.now });
  return { store, clock };
}

describeRealtimeStoreContract('memory', async () => {
  const { store, clock } = clockedStore();
  return {
    store,
    pttl: async (key) => store.pttl(key),
    elapse: async (ms) => {
      clock.now += ms;
    },
    dispose: () => store.close(),
  };
});

describe('MemoryRealtimeStore', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reports the exact expiry on its own clock', async () => {
    const { store, clock } = clockedStore();
    await store.set('k', 'v', 60);
    expect(store.pttl('k')).toBe(60_000);
    clock.now += 60_000;
    // Redis counts a key as expired once the clock is past its expiry, not at it.
    expect(store.pttl('k')).toBe(0);
    expect(await store.get('k')).toBe('v');
    clock.now += 1;
    expect(await store.get('k')).toBeUndefined();
    await store.close();
  });

  it('holds an expired key until it is touched or swept', async () => {
    const { store, clock } = clockedStore();
    await store.set('a', '1', 10);
    await store.set('b', '2', 10);
    await store.set('c', '3');
    clock.now += 10_001;
    expect(store.size).toBe(3);
    expect(await store.get('a')).toBeUndefined();
    expect(store.size).toBe(2);
    expect(store.sweepExpired()).toBe(1);
    expect(store.size).toBe(1);
    await store.close();
  });

  it('sweeps expired keys on a timer, a batch at a time', async () => {
    vi.useFakeTimers();
    const { store, clock } = clockedStore({ sweepIntervalMs: 100, sweepBatch: 2 });
    for (const key of ['k1', 'k2', 'k3', 'k4', 'k5']) await store.set(key, 'v', 10);
    await store.set('persistent', 'v');
    clock.now += 10_001;
    vi.advanceTimersByTime(100);
    expect(store.size).toBe(4);
    vi.advanceTimersByTime(200);
    expect(store.size).toBe(1);
    expect(await store.get('persistent')).toBe('v');
    await store.close();
  });

  it('refuses a new key past maxKeys with an error that says what to do', async () => {
    const { store } = clockedStore({ maxKeys: 3 });
    await store.set('a', '1');
    await store.incrBy('b', 1);
    await store.zadd('c', 1, 'm');
    const refused = store.hset('d', { f: 'v' });
    await expect(refused).rejects.toBeInstanceOf(DeeprefError);
    await expect(refused).rejects.toMatchObject({
      code: 'DEEPREF_REALTIME_STORE_FULL',
      statusCode: 503,
      message:
        'The in-memory real-time store holds its limit of 3 unexpired keys. Give live keys a shorter ttlSeconds, ' +
        'raise maxKeys, or use the Redis real-time store.',
    });
    for (const write of [
      () => store.set('e', '1'),
      () => store.incrBy('e', 1),
      () => store.zadd('e', 1, 'm'),
    ]) {
      await expect(write()).rejects.toMatchObject({ code: 'DEEPREF_REALTIME_STORE_FULL' });
    }
    // Keys already held can still be written, and a deleted key makes room.
    await store.set('a', '2');
    await store.incrBy('b', 1);
    await store.zadd('c', 2, 'n');
    await store.del('a');
    await store.hset('d', { f: 'v' });
    expect(store.size).toBe(3);
    await store.close();
  });

  it('sweeps expired keys to make room before refusing a new one', async () => {
    const { store, clock } = clockedStore({ maxKeys: 2 });
    await store.set('old', 'v', 10);
    await store.set('live', 'v');
    await expect(store.set('new', 'v')).rejects.toMatchObject({ code: 'DEEPREF_REALTIME_STORE_FULL' });
    clock.now += 10_001;
    await store.set('new', 'v');
    expect(store.size).toBe(2);
    expect(store.pttl('old')).toBe(-2);
    await store.close();
  });

  it('drops its data when closed', async () => {
    const { store } = clockedStore();
    await store.set('k', 'v');
    await store.close();
    expect(store.size).toBe(0);
  });

  it('orders members as Redis does, by the bytes of their UTF-8', () => {
    const sign = (n: number) => Math.sign(n);
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        expect(sign(compareMembers(a, b))).toBe(sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
      }),
      { numRuns: 2000 },
    );
  });
});
