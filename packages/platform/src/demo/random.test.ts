import { describe, expect, it } from 'vitest';
import { Random } from './random.ts';

const draw = (rng: Random, n: number) => Array.from({ length: n }, () => rng.uint32());

describe('seeded random', () => {
  it('repeats a stream for the same key and starts another for a different one', () => {
    expect(draw(new Random(42, 1, 2), 20)).toEqual(draw(new Random(42, 1, 2), 20));
    expect(draw(new Random(42, 2, 1), 20)).not.toEqual(draw(new Random(42, 1, 2), 20));
    expect(draw(new Random(43, 1, 2), 20)).not.toEqual(draw(new Random(42, 1, 2), 20));
  });

  it('makes version 4 UUIDs that do not repeat across many streams', () => {
    const v4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const ids = new Set<string>();
    const malformed: string[] = [];
    for (let stream = 0; stream < 2000; stream++) {
      const rng = new Random(1, stream, 0);
      for (let i = 0; i < 100; i++) {
        const id = rng.uuid();
        if (!v4.test(id)) malformed.push(id);
        ids.add(id);
      }
    }
    expect(malformed).toEqual([]);
    expect(ids.size).toBe(200_000);
  });

  it('draws whole numbers within both bounds and picks by weight', () => {
    const rng = new Random(7);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) seen.add(rng.int(1, 3));
    expect([...seen].sort()).toEqual([1, 2, 3]);
    let heavy = 0;
    for (let i = 0; i < 10_000; i++) {
      if (
        rng.weighted([
          ['heavy', 9],
          ['light', 1],
        ]) === 'heavy'
      )
        heavy++;
    }
    expect(heavy / 10_000).toBeGreaterThan(0.87);
    expect(heavy / 10_000).toBeLessThan(0.93);
  });

  it('has Poisson means close to the asked mean, small and large', () => {
    const rng = new Random(9);
    for (const mean of [0.3, 4, 60]) {
      let sum = 0;
      for (let i = 0; i < 20_000; i++) sum += rng.poisson(mean);
      expect(sum / 20_000).toBeCloseTo(mean, mean < 1 ? 1 : 0);
    }
  });
});
