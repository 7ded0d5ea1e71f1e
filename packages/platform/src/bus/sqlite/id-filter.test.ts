import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IdFilter } from './id-filter.ts';

/** Keys as the log makes them: a uuid as 32 hex digits, any other id after a `~`. */
const uuidKey = () => randomUUID().replaceAll('-', '');

describe('IdFilter', () => {
  it('knows every key it was given, and lets through few it was not', () => {
    const filter = new IdFilter(256 * 1024); // ~2 million bits for 100,000 keys: 20 bits a key
    const added = Array.from({ length: 100_000 }, () => uuidKey());
    for (const key of added) filter.add(key);
    expect(added.every((key) => filter.mightContain(key))).toBe(true);
    const fresh = Array.from({ length: 100_000 }, () => uuidKey());
    // Expected about 0.1 per cent with 4 probes at 20 bits a key; text keys hash like any other.
    expect(fresh.filter((key) => filter.mightContain(key)).length).toBeLessThan(500);
    expect(filter.mightContain('~order-17')).toBe(false);
  });

  it('stays correct when overfull: it only answers "maybe" more often', () => {
    const filter = new IdFilter(8);
    const added = Array.from({ length: 1_000 }, (_, i) => `~id-${i}`);
    for (const key of added) filter.add(key);
    expect(added.every((key) => filter.mightContain(key))).toBe(true);
    expect(filter.added).toBe(1_000);
  });
});
