import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteMetaStore } from '../../storage/sqlite/sqlite-meta-store.ts';
import {
  LaplaceMechanism,
  laplaceNoise,
  MemoryBudgetLedger,
  type PrivacyBudgetLedger,
  secureUniform,
} from './differential-privacy.ts';
import { MetaStoreBudgetLedger } from './meta-store-budget-ledger.ts';

describe('Laplace noise', () => {
  it('inverts the Laplace CDF', () => {
    // F⁻¹(u) = −b·sgn(u−½)·ln(1−2|u−½|): u = ¾ gives b·ln 2, u = ¼ gives −b·ln 2.
    expect(laplaceNoise(2, () => 0.75)).toBeCloseTo(2 * Math.LN2, 12);
    expect(laplaceNoise(2, () => 0.25)).toBeCloseTo(-2 * Math.LN2, 12);
    expect(laplaceNoise(2, () => 0.5)).toBe(-0);
  });

  it('has variance 2b² (within 5%) and mean 0 over 100,000 secure draws', () => {
    const b = 3;
    const n = 100_000;
    let sum = 0;
    let sumSquares = 0;
    for (let i = 0; i < n; i++) {
      const x = laplaceNoise(b);
      sum += x;
      sumSquares += x * x;
    }
    const mean = sum / n;
    const variance = sumSquares / n - mean * mean;
    // The sample variance's standard error is √(20/n)·b² ≈ 0.7% of 2b², so 5% is seven standard errors.
    expect(Math.abs(variance - 2 * b * b) / (2 * b * b)).toBeLessThan(0.05);
    // The mean's standard error is b·√(2/n) ≈ 0.013; five of them.
    expect(Math.abs(mean)).toBeLessThan(5 * b * Math.sqrt(2 / n));
  });

  it('draws uniforms strictly inside (0, 1)', () => {
    for (let i = 0; i < 10_000; i++) {
      const u = secureUniform();
      expect(u).toBeGreaterThan(0);
      expect(u).toBeLessThan(1);
    }
  });
});

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const ledgers: [string, () => Promise<PrivacyBudgetLedger>][] = [
  ['memory', async () => new MemoryBudgetLedger()],
  [
    'metastore (SQLite)',
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-dp-'));
      dirs.push(dir);
      return new MetaStoreBudgetLedger(await openSqliteMetaStore(path.join(dir, 'meta.db')));
    },
  ],
];

describe.each(ledgers)('privacy budget in %s', (_name, open) => {
  it('spends by sequential composition and refuses an overspend atomically', async () => {
    const ledger = await open();
    await ledger.setBudget('salaries', 1);
    const mechanism = new LaplaceMechanism(ledger);
    const first = await mechanism.count('salaries', 120, 0.4);
    expect(first.scale).toBeCloseTo(2.5, 12);
    expect(first.remaining).toBeCloseTo(0.6, 12);
    const second = await mechanism.sum('salaries', [10, 50, 500], { lower: 0, upper: 100 }, 0.5);
    expect(second.scale).toBeCloseTo(200, 12); // sensitivity 100 / ε 0.5
    await expect(mechanism.count('salaries', 120, 0.2)).rejects.toMatchObject({
      code: 'DEEPREF_PRIVACY_BUDGET_EXCEEDED',
      statusCode: 403,
    });
    // The refused query spent nothing: 0.1 is still there.
    expect((await ledger.state('salaries'))?.remaining).toBeCloseTo(0.1, 12);
    await mechanism.count('salaries', 120, 0.1);
    expect((await ledger.state('salaries'))?.remaining).toBeCloseTo(0, 12);
  });

  it('never lets concurrent queries overspend together', async () => {
    const ledger = await open();
    await ledger.setBudget('events', 1);
    const outcomes = await Promise.allSettled(Array.from({ length: 25 }, () => ledger.spend('events', 0.1)));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(10);
    expect((await ledger.state('events'))?.spent).toBeCloseTo(1, 9);
  });

  it('refuses a dataset without a budget and a non-positive ε', async () => {
    const ledger = await open();
    await expect(ledger.spend('unknown', 0.1)).rejects.toMatchObject({ code: 'DEEPREF_BAD_REQUEST' });
    await ledger.setBudget('d', 1);
    await expect(ledger.spend('d', 0)).rejects.toMatchObject({ code: 'DEEPREF_BAD_REQUEST' });
  });
});
