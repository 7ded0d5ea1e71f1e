import { describe, expect, it } from 'vitest';
import type { ConsentRecord } from './consent.ts';
import { ConsentCache } from './consent-cache.ts';
import type { ConsentStore } from './consent-store.ts';

/** A store of subjects that are each their own group, with no decisions, counting the lookups of each. */
function countingStore() {
  const lookups = new Map<string, number>();
  const store = {
    async rootOf(subjectId: string) {
      lookups.set(subjectId, (lookups.get(subjectId) ?? 0) + 1);
      return subjectId;
    },
    async group(root: string) {
      return [root];
    },
    async latest(): Promise<ConsentRecord[]> {
      return [];
    },
  } as unknown as ConsentStore;
  return { store, lookups };
}

describe('ConsentCache', () => {
  it('evicts past its size the oldest subject not read since it was last passed over', async () => {
    const { store, lookups } = countingStore();
    const cache = new ConsentCache(store, { ttlMs: 60_000, maxSubjects: 2 });
    await cache.grants(['a'], 'opt-out');
    await cache.grants(['b'], 'opt-out');
    expect(cache.cachedGrants(['a'], 'opt-out')).toBeDefined(); // read: a gets a second chance
    await cache.grants(['c'], 'opt-out'); // full: b, unread, goes; a moves behind c
    expect(cache.cachedGrants(['a'], 'opt-out')).toBeDefined();
    expect(cache.cachedGrants(['b'], 'opt-out')).toBeUndefined();
    expect(cache.cachedGrants(['c'], 'opt-out')).toBeDefined();
    expect(Object.fromEntries(lookups)).toEqual({ a: 1, b: 1, c: 1 });
  });

  it('answers a group with one shared, frozen grants object per mode, made again after a change', async () => {
    const { store } = countingStore();
    const cache = new ConsentCache(store, { ttlMs: 60_000, maxSubjects: 10 });
    await cache.grants(['a'], 'opt-out');
    const first = cache.cachedGrants(['a'], 'opt-out');
    expect(cache.cachedGrants(['a', 'a'], 'opt-out')).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(first).toEqual({
      data_collection: true,
      analytics: true,
      osint_enrichment: false,
      marketing: false,
    });
    expect(cache.cachedGrants(['a'], 'opt-in')).toEqual({ ...first, analytics: false });
  });

  it('forgets an entry once its time is up', async () => {
    const { store, lookups } = countingStore();
    let now = 0;
    const cache = new ConsentCache(store, { ttlMs: 1_000, maxSubjects: 10, now: () => now });
    await cache.grants(['a'], 'opt-out');
    now = 999;
    expect(cache.cachedGrants(['a'], 'opt-out')).toBeDefined();
    now = 1_000;
    expect(cache.cachedGrants(['a'], 'opt-out')).toBeUndefined();
    await cache.grants(['a'], 'opt-out');
    expect(lookups.get('a')).toBe(2);
  });
});
