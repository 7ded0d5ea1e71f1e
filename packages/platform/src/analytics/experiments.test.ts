import { describe, expect, it } from 'vitest';
import { DeeprefError } from '../errors.ts';
import { analyzeExperiment, chiSquareSurvival, normalCdf, sampleRatioCheck } from './experiments.ts';

describe('experiment read-out', () => {
  it('computes lift, the pooled z-test and the 95% interval of a known example', () => {
    // Control 100/1000 = 0.10, treatment 130/1000 = 0.13.
    const result = analyzeExperiment([
      { name: 'control', users: 1000, conversions: 100 },
      { name: 'treatment', users: 1000, conversions: 130 },
    ]);
    expect(result.control).toBe('control');
    expect(result.variants.map((v) => v.rate)).toEqual([0.1, 0.13]);
    expect(result.variants[0]!.vsControl).toBeUndefined();
    const c = result.variants[1]!.vsControl!;
    expect(c.absoluteLift).toBeCloseTo(0.03, 12); // 0.13 − 0.10
    expect(c.relativeLift).toBeCloseTo(0.3, 12); // 0.03 / 0.10
    // Pooled p̂ = 230 / 2000 = 0.115; SE = √(0.115 · 0.885 · (1/1000 + 1/1000)) = √0.00020355 = 0.0142671;
    // z = 0.03 / 0.0142671 = 2.10274. Two-sided p = 2 · (1 − Φ(2.10274)) = 0.035488 (scipy: 0.0354885).
    expect(c.z).toBeCloseTo(2.10274, 5);
    expect(c.pValue).toBeCloseTo(0.035488, 5);
    expect(c.significant).toBe(true);
    // Unpooled SE = √(0.1 · 0.9 / 1000 + 0.13 · 0.87 / 1000) = √0.0002031 = 0.0142513;
    // 0.03 ± 1.959964 · 0.0142513 = 0.03 ± 0.027932 → [0.002068, 0.057932].
    expect(c.ci95[0]).toBeCloseTo(0.002068, 6);
    expect(c.ci95[1]).toBeCloseTo(0.057932, 6);
    // 1000 vs 1000 is the planned even split: χ² = 0.
    expect(result.sampleRatio).toEqual({ chiSquare: 0, degreesOfFreedom: 1, pValue: 1, mismatch: false });
  });

  it('calls a small difference not significant', () => {
    // 100/1000 vs 110/1000: p̂ = 0.105, SE = √(0.105 · 0.895 · 0.002) = 0.0137095, z = 0.01 / 0.0137095 = 0.72942.
    const c = analyzeExperiment([
      { name: 'a', users: 1000, conversions: 100 },
      { name: 'b', users: 1000, conversions: 110 },
    ]).variants[1]!.vsControl!;
    expect(c.z).toBeCloseTo(0.72942, 5);
    expect(c.significant).toBe(false);
    expect(c.ci95[0]).toBeLessThan(0);
  });

  it('flags a sample-ratio mismatch', () => {
    // 1000 vs 1200, planned 50/50: expected 1100 each; χ² = 100²/1100 + 100²/1100 = 18.1818; p (1 df) = 2.0079e-5.
    const srm = sampleRatioCheck([
      { name: 'a', users: 1000, conversions: 0 },
      { name: 'b', users: 1200, conversions: 0 },
    ]);
    expect(srm.chiSquare).toBeCloseTo(18.1818, 4);
    expect(srm.pValue).toBeCloseTo(2.0079e-5, 8);
    expect(srm.mismatch).toBe(true);
    // 5000 vs 5200: χ² = 2 · 100²/5100 = 3.92157, p = 0.047670: unlikely but under the 0.001 alarm.
    const mild = sampleRatioCheck([
      { name: 'a', users: 5000, conversions: 0 },
      { name: 'b', users: 5200, conversions: 0 },
    ]);
    expect(mild.pValue).toBeCloseTo(0.04767, 5);
    expect(mild.mismatch).toBe(false);
  });

  it('checks a planned uneven split over three variants', () => {
    // Planned 50/25/25 of 2000: expected 1000, 500, 500; observed 1000, 560, 440.
    // χ² = 0 + 60²/500 + 60²/500 = 14.4; with 2 df, p = e^(−14.4/2) = 7.4659e-4.
    const srm = sampleRatioCheck([
      { name: 'a', users: 1000, conversions: 0, expectedShare: 0.5 },
      { name: 'b', users: 560, conversions: 0, expectedShare: 0.25 },
      { name: 'c', users: 440, conversions: 0, expectedShare: 0.25 },
    ]);
    expect(srm.chiSquare).toBeCloseTo(14.4, 10);
    expect(srm.degreesOfFreedom).toBe(2);
    expect(srm.pValue).toBeCloseTo(Math.exp(-7.2), 9);
    expect(srm.mismatch).toBe(true);
  });

  it('has accurate distribution functions', () => {
    expect(normalCdf(1.959963984540054)).toBeCloseTo(0.975, 7);
    expect(normalCdf(0)).toBeCloseTo(0.5, 12);
    expect(normalCdf(-3)).toBeCloseTo(0.0013498980316301, 12); // scipy norm.cdf(-3)
    // χ² with 3 df at 6: 0.1116102 (scipy chi2.sf(6, 3)).
    expect(chiSquareSurvival(6, 3)).toBeCloseTo(0.1116102, 6);
  });

  it('refuses impossible counts and an unknown control', () => {
    const ok = [
      { name: 'a', users: 10, conversions: 1 },
      { name: 'b', users: 10, conversions: 2 },
    ];
    expect(() => analyzeExperiment([ok[0]!])).toThrow(DeeprefError);
    expect(() => analyzeExperiment([ok[0]!, { name: 'b', users: 5, conversions: 6 }])).toThrow(DeeprefError);
    expect(() => analyzeExperiment([ok[0]!, { name: 'a', users: 5, conversions: 1 }])).toThrow(DeeprefError);
    expect(() => analyzeExperiment(ok, 'c')).toThrow(DeeprefError);
    expect(analyzeExperiment(ok, 'b').variants[0]!.vsControl!.absoluteLift).toBeCloseTo(-0.1, 12);
  });
});
