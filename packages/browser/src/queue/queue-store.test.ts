import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { memoryKv } from '../storage.ts';
import { localStorageQueueStore, memoryQueueStore } from './array-queue-store.ts';
import { admit, type QueuedEvent } from './queue-store.ts';

const event = (id: number, bytes: number): QueuedEvent => ({
  id: `id-${String(id).padStart(5, '0')}`,
  json: '{}',
  bytes,
  purposes: ['analytics'],
  at: 0,
});

const events = fc
  .array(fc.record({ id: fc.nat(300), bytes: fc.integer({ min: 1, max: 500 }) }), { maxLength: 80 })
  .map((list) => list.map(({ id, bytes }) => event(id, bytes)));

describe('admit', () => {
  it('keeps the queue in id order, each id once, within the budget, evicting only the oldest', () => {
    fc.assert(
      fc.property(events, events, fc.integer({ min: 500, max: 20_000 }), (first, second, budget) => {
        const before = admit([], first, budget).queue;
        const { queue, evicted } = admit(before, second, budget);
        const ids = queue.map((e) => e.id);
        expect(ids).toEqual([...new Set(ids)].sort());
        expect(queue.reduce((sum, e) => sum + e.bytes, 0)).toBeLessThanOrEqual(budget);

        const all = admit(before, second, Number.POSITIVE_INFINITY).queue;
        // What was evicted is the oldest part of what would otherwise be there.
        expect(queue).toEqual(all.slice(evicted));
      }),
    );
  });

  it('adding the same events twice keeps one of each', () => {
    const list = [event(1, 10), event(2, 10)];
    expect(admit(admit([], list, 100).queue, list, 100)).toEqual({ queue: list, evicted: 0 });
  });
});

describe('array queue stores', () => {
  for (const [name, open] of [
    ['memory', () => memoryQueueStore(100)],
    ['localStorage', () => localStorageQueueStore(memoryKv(), 'key', 'tab', 100, () => {})],
  ] as const) {
    it(`${name}: adds, reads oldest first, removes, and reports evictions past the budget`, async () => {
      const store = open();
      expect(await store.add([event(3, 40), event(1, 40)])).toBe(0);
      expect((await store.peek(10)).map((e) => e.id)).toEqual(['id-00001', 'id-00003']);
      expect(await store.add([event(4, 40)])).toBe(1);
      expect((await store.peek(1)).map((e) => e.id)).toEqual(['id-00003']);
      await store.remove(['id-00003', 'id-99999']);
      expect((await store.peek(10)).map((e) => e.id)).toEqual(['id-00004']);
    });
  }

  it('localStorage: a full storage gives up the oldest events rather than the write', async () => {
    const kv = memoryKv();
    const room = 3;
    const tight = {
      ...kv,
      set: (key: string, value: unknown) =>
        (value as { events: unknown[] }).events.length <= room && kv.set(key, value),
    };
    const store = localStorageQueueStore(tight, 'key', 'tab', 10_000, () => {});
    expect(await store.add([1, 2, 3, 4, 5, 6].map((n) => event(n, 1)))).toBe(3);
    expect((await store.peek(10)).map((e) => e.id)).toEqual(['id-00004', 'id-00005', 'id-00006']);
  });

  it('localStorage: a tab adopts the queue of a tab that left, or that went quiet', async () => {
    const kv = memoryKv();
    const left = localStorageQueueStore(kv, 'key', 'left', 10_000, () => {});
    const quiet = localStorageQueueStore(kv, 'key', 'quiet', 10_000, () => {});
    const alive = localStorageQueueStore(kv, 'key', 'alive', 10_000, () => {});
    await left.add([event(1, 1), event(2, 1)]);
    left.leave?.();
    await quiet.add([event(3, 1)]);
    kv.set('queue:key:quiet', { ...kv.get<object>('queue:key:quiet'), beat: Date.now() - 10_000 });
    await alive.add([event(4, 1)]);

    const next = localStorageQueueStore(kv, 'key', 'next', 10_000, () => {}, 5000);
    expect((await next.peek(10)).map((e) => e.id)).toEqual(['id-00001', 'id-00002', 'id-00003']);
    expect(kv.keys('queue:key:').sort()).toEqual(['queue:key:alive', 'queue:key:next']);
    expect((await alive.peek(10)).map((e) => e.id)).toEqual(['id-00004']);
  });

  it('localStorage: what adoption evicts past the budget is counted', async () => {
    const kv = memoryKv();
    const left = localStorageQueueStore(kv, 'key', 'left', 10, () => {});
    await left.add([event(1, 5), event(2, 5)]);
    left.leave?.();
    let evicted = 0;
    const next = localStorageQueueStore(kv, 'key', 'next', 10, (count) => {
      evicted += count;
    });
    await next.add([event(3, 5)]);
    expect((await next.peek(10)).map((e) => e.id)).toEqual(['id-00002', 'id-00003']);
    expect(evicted).toBe(1);
  });
});
