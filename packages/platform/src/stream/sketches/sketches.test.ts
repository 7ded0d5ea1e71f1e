import { describe, expect, it } from 'vitest';
import { DDSketch } from './ddsketch.ts';
import { HyperLogLog } from './hyperloglog.ts';

describe('HyperLogLog', () => {
  it('estimates 200,000 distinct values within 2.5% (3 standard errors)', () => {
    const hll = new HyperLogLog();
    for (let i = 0; i < 200_000; i++) hll.add(`user-${i}`);
    for (let i = 0; i < 50_000; i++) hll.add(`user-${i}`);
    expect(Math.abs(hll.estimate() - 200_000) / 200_000).toBeLessThan(0.025);
  });

  it('merges to the estimate of the union and survives a checkpoint', () => {
    const a = new HyperLogLog();
    const b = new HyperLogLog();
    for (let i = 0; i < 30_000; i++) (i % 2 ? a : b).add(String(i));
    a.merge(HyperLogLog.fromJSON(b.toJSON()));
    expect(Math.abs(a.estimate() - 30_000) / 30_000).toBeLessThan(0.025);
  });
});

describe('DDSketch', () => {
  it('answers every percentile within 1% of the exact value', () => {
    const sketch = new DDSketch(0.01);
    const values = Array.from({ length: 10_001 }, (_, i) => ((i * 7919) % 10_001) * 0.37 + 0.5);
    for (const v of values) sketch.add(v);
    values.sort((a, b) => a - b);
    for (const q of [0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1]) {
      const exact = values[Math.floor(q * (values.length - 1))]!;
      expect(Math.abs(sketch.quantile(q)! - exact)).toBeLessThanOrEqual(0.01 * exact);
    }
  });

  it('handles zero and negative values and merges exactly', () => {
    const a = new DDSketch();
    const b = new DDSketch();
    for (const v of [-10, -1, 0, 0, 1, 10]) a.add(v);
    for (const v of [100, 1000]) b.add(v);
    a.merge(DDSketch.fromJSON(JSON.parse(JSON.stringify(b.toJSON()))));
    expect(a.quantile(0)).toBe(-10);
    expect(a.quantile(2 / 7)).toBe(0);
    expect(a.quantile(1)).toBe(1000);
  });
});
