import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DeeprefError } from '../../errors.ts';
import { ageHierarchy, dateHierarchy, salaryHierarchy, zipHierarchy } from './hierarchies.ts';
import { kAnonymize, verifyKAnonymity } from './k-anonymity.ts';

describe('generalization hierarchies', () => {
  it("apply the reference's rules at their levels", () => {
    expect(ageHierarchy.generalize(47, 0)).toBe('47');
    expect(ageHierarchy.generalize(47, 1)).toBe('45-49');
    expect(ageHierarchy.generalize(47, 2)).toBe('40-49');
    expect(ageHierarchy.generalize(47, 4)).toBe('*');
    expect(zipHierarchy().generalize('02139', 2)).toBe('021**');
    expect(salaryHierarchy.generalize(57_300, 1)).toBe('$50000-$60000');
    expect(dateHierarchy.generalize('2026-03-17T10:00:00Z', 1)).toBe('2026-03');
    expect(dateHierarchy.generalize('2026-08-01', 2)).toBe('2026-Q3');
    expect(ageHierarchy.levels).toEqual(['exact', '5', '10', '20', '*']);
  });

  it('refuse values they cannot generalize', () => {
    expect(() => ageHierarchy.generalize('old', 1)).toThrow(TypeError);
    expect(() => dateHierarchy.generalize('not a date', 1)).toThrow(TypeError);
  });
});

describe('kAnonymize', () => {
  // Ages 31-38 and zips in two 3-digit areas: ages in 10-year bands and zips to 3 digits give two classes of 3.
  const rows = [
    { age: 31, zip: '02139', diagnosis: 'flu' },
    { age: 33, zip: '02141', diagnosis: 'cold' },
    { age: 35, zip: '02142', diagnosis: 'flu' },
    { age: 36, zip: '10001', diagnosis: 'asthma' },
    { age: 37, zip: '10002', diagnosis: 'flu' },
    { age: 38, zip: '10003', diagnosis: 'cold' },
  ];

  it('chooses the least generalization that makes every class hold k rows', () => {
    const result = kAnonymize(rows, {
      k: 3,
      quasiIdentifiers: { age: ageHierarchy, zip: zipHierarchy() },
      maxSuppression: 0,
    });
    // Age alone cannot split the two areas (31-35 vs 36-38 cross the 5-year band at 35/36 → 30-34, 35-39),
    // so age goes to 10 years (one band) and zip to 3 digits (021, 100): two classes of 3.
    expect(result.levels).toEqual({ age: '10', zip: '3-digit prefix' });
    expect(result.rows.map((r) => [r.age, r.zip, r.diagnosis])).toEqual([
      ['30-39', '021**', 'flu'],
      ['30-39', '021**', 'cold'],
      ['30-39', '021**', 'flu'],
      ['30-39', '100**', 'asthma'],
      ['30-39', '100**', 'flu'],
      ['30-39', '100**', 'cold'],
    ]);
    expect(result.suppressed).toBe(0);
    expect(result.classes).toBe(2);
    expect(result.smallestClass).toBe(3);
  });

  it('suppresses an outlier instead of generalizing everyone when the limit allows', () => {
    const withOutlier = [...rows, { age: 90, zip: '99999', diagnosis: 'flu' }];
    const strict = kAnonymize(withOutlier, {
      k: 3,
      quasiIdentifiers: { age: ageHierarchy, zip: zipHierarchy() },
      maxSuppression: 0,
    });
    const lenient = kAnonymize(withOutlier, {
      k: 3,
      quasiIdentifiers: { age: ageHierarchy, zip: zipHierarchy() },
      maxSuppression: 0.2,
    });
    expect(strict.suppressed).toBe(0);
    expect(lenient.suppressed).toBe(1);
    expect(lenient.rows).toHaveLength(6);
    expect(lenient.informationLoss).toBeLessThan(strict.informationLoss);
  });

  it('refuses with a stable code when k cannot be reached', () => {
    expect(() =>
      kAnonymize(rows.slice(0, 2), { k: 3, quasiIdentifiers: { age: ageHierarchy }, maxSuppression: 0.5 }),
    ).toThrow(expect.objectContaining({ code: 'DEEPREF_K_ANONYMITY_UNREACHABLE' }) as DeeprefError);
  });

  it('releases only k-anonymous rows within the suppression limit, for any dataset', () => {
    const row = fc.record({
      age: fc.integer({ min: 0, max: 99 }),
      zip: fc.integer({ min: 0, max: 99_999 }).map((n) => String(n).padStart(5, '0')),
      joined: fc
        .integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2026, 11, 31) })
        .map((t) => new Date(t).toISOString()),
      value: fc.integer(),
    });
    fc.assert(
      fc.property(
        fc.array(row, { minLength: 0, maxLength: 80 }),
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom(0, 0.05, 0.2),
        (data, k, maxSuppression) => {
          const options = {
            k,
            quasiIdentifiers: { age: ageHierarchy, zip: zipHierarchy(), joined: dateHierarchy },
            maxSuppression,
          };
          let result: ReturnType<typeof kAnonymize>;
          try {
            result = kAnonymize(data, options);
          } catch (error) {
            // Only possible when fewer than k rows exist and they may not all be suppressed.
            expect((error as DeeprefError).code).toBe('DEEPREF_K_ANONYMITY_UNREACHABLE');
            expect(data.length).toBeLessThan(k);
            return;
          }
          expect(verifyKAnonymity(result.rows, ['age', 'zip', 'joined'], k).ok).toBe(true);
          expect(result.suppressed).toBeLessThanOrEqual(Math.floor(maxSuppression * data.length));
          expect(result.rows.length + result.suppressed).toBe(data.length);
          // The non-identifying field passes through unchanged (as a multiset of the kept rows).
          const kept = new Set(result.rows.map((r) => r.value));
          for (const value of kept) expect(data.some((d) => d.value === value)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('verifyKAnonymity', () => {
  it('names the classes under k', () => {
    const check = verifyKAnonymity(
      [
        { age: '30-39', zip: '021**' },
        { age: '30-39', zip: '021**' },
        { age: '40-49', zip: '021**' },
      ],
      ['age', 'zip'],
      2,
    );
    expect(check.ok).toBe(false);
    expect(check.classes).toBe(2);
    expect(check.smallestClass).toBe(1);
    expect(check.violations).toEqual([{ values: { age: '40-49', zip: '021**' }, size: 1 }]);
  });
});
