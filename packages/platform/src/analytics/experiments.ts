/**
 * A/B test read-out (reference §6.4, significance 0.95): conversion per variant, lift over the control, a pooled
 * two-proportion z-test, the 95% confidence interval of the difference, and a sample-ratio-mismatch check.
 * Pure arithmetic on counts, so any source of counts (the warehouse, an export) can use it.
 */
import { DeeprefError } from '../errors.ts';

export interface VariantCounts {
  name: string;
  /** People exposed to the variant. */
  users: number;
  /** Of them, people who converted. */
  conversions: number;
  /** Share of traffic the variant was meant to get (default: an equal split). */
  expectedShare?: number;
}

export interface VariantComparison {
  /** rate − control rate. */
  absoluteLift: number;
  /** (rate − control rate) / control rate; null when the control rate is 0. */
  relativeLift: number | null;
  /** (p − p₀) / √(p̂(1−p̂)(1/n + 1/n₀)) with p̂ the pooled rate; 0 when that error is 0. */
  z: number;
  /** Two-sided p-value of z. */
  pValue: number;
  /** 95% interval of p − p₀ with the unpooled error √(p(1−p)/n + p₀(1−p₀)/n₀). */
  ci95: [number, number];
  /** pValue < 0.05 (significant at 0.95). */
  significant: boolean;
}

export interface VariantResult {
  name: string;
  users: number;
  conversions: number;
  rate: number;
  /** Absent for the control. */
  vsControl?: VariantComparison;
}

export interface SampleRatioCheck {
  /** Σ (observed − expected)² / expected over the variants' users. */
  chiSquare: number;
  degreesOfFreedom: number;
  pValue: number;
  /** pValue < 0.001: the split is not what was planned, so the comparison is not to be trusted. */
  mismatch: boolean;
}

export interface ExperimentResult {
  control: string;
  variants: VariantResult[];
  sampleRatio: SampleRatioCheck;
}

/** The 0.975 quantile of the standard normal (two-sided 95%). */
export const z975 = 1.959963984540054;
export const significanceLevel = 0.05;
export const sampleRatioLevel = 0.001;

/** P(Z ≤ z) for the standard normal. */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/** erfc(x) = Q(1/2, x²) for x ≥ 0 (and 2 − erfc(−x) below 0): as exact as the incomplete gamma, about 1e-15. */
export function erfc(x: number): number {
  const q = upperGamma(0.5, x * x);
  return x >= 0 ? q : 2 - q;
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7). */
function lnGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const y = x - 1;
  let a = c[0]!;
  const t = y + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (y + i);
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
}

/** The regularized upper incomplete gamma Q(a, x) (series below a + 1, continued fraction above). */
function upperGamma(a: number, x: number): number {
  if (x <= 0) return 1;
  const front = Math.exp(-x + a * Math.log(x) - lnGamma(a));
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 1000 && Math.abs(term) > Math.abs(sum) * 1e-15; n++) {
      term *= x / (a + n);
      sum += term;
    }
    return 1 - sum * front;
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return front * h;
}

/** P(X ≥ x) for a chi-square variable with `df` degrees of freedom. */
export function chiSquareSurvival(x: number, df: number): number {
  return upperGamma(df / 2, x / 2);
}

function bad(detail: string): DeeprefError {
  return new DeeprefError('DEEPREF_BAD_REQUEST', { detail });
}

function checkVariants(variants: VariantCounts[]): void {
  if (!Array.isArray(variants) || variants.length < 2) throw bad('An experiment needs at least two variants');
  const names = new Set<string>();
  for (const v of variants) {
    if (names.has(v.name)) throw bad(`Variant "${v.name}" is listed twice`);
    names.add(v.name);
    if (!Number.isInteger(v.users) || !Number.isInteger(v.conversions) || v.users < 0 || v.conversions < 0) {
      throw bad(`Variant "${v.name}" needs whole, non-negative users and conversions`);
    }
    if (v.conversions > v.users) throw bad(`Variant "${v.name}" has more conversions than users`);
    if (v.expectedShare !== undefined && !(v.expectedShare > 0)) {
      throw bad(`Variant "${v.name}" needs an expected share above 0`);
    }
  }
  const given = variants.filter((v) => v.expectedShare !== undefined).length;
  if (given !== 0 && given !== variants.length)
    throw bad('Give an expected share for every variant or for none');
}

/** Compares a variant with the control. */
export function compareProportions(
  variant: { users: number; conversions: number },
  control: { users: number; conversions: number },
): VariantComparison {
  const p = variant.users === 0 ? 0 : variant.conversions / variant.users;
  const p0 = control.users === 0 ? 0 : control.conversions / control.users;
  const difference = p - p0;
  let z = 0;
  let standardError = 0;
  if (variant.users > 0 && control.users > 0) {
    const pooled = (variant.conversions + control.conversions) / (variant.users + control.users);
    const pooledError = Math.sqrt(pooled * (1 - pooled) * (1 / variant.users + 1 / control.users));
    z = pooledError === 0 ? 0 : difference / pooledError;
    standardError = Math.sqrt((p * (1 - p)) / variant.users + (p0 * (1 - p0)) / control.users);
  }
  const pValue = Math.min(1, 2 * (1 - normalCdf(Math.abs(z))));
  return {
    absoluteLift: difference,
    relativeLift: p0 === 0 ? null : difference / p0,
    z,
    pValue,
    ci95: [difference - z975 * standardError, difference + z975 * standardError],
    significant: pValue < significanceLevel,
  };
}

/** Chi-square goodness of fit of the users per variant against the planned split. */
export function sampleRatioCheck(variants: VariantCounts[]): SampleRatioCheck {
  const total = variants.reduce((sum, v) => sum + v.users, 0);
  const shares = variants.map((v) => v.expectedShare ?? 1);
  const shareTotal = shares.reduce((sum, s) => sum + s, 0);
  let chiSquare = 0;
  variants.forEach((v, i) => {
    const expected = (total * (shares[i] ?? 1)) / shareTotal;
    if (expected > 0) chiSquare += (v.users - expected) ** 2 / expected;
  });
  const degreesOfFreedom = variants.length - 1;
  const pValue = total === 0 ? 1 : chiSquareSurvival(chiSquare, degreesOfFreedom);
  return { chiSquare, degreesOfFreedom, pValue, mismatch: pValue < sampleRatioLevel };
}

/** The read-out of an experiment; the control is `control` or else the first variant. */
export function analyzeExperiment(variants: VariantCounts[], control?: string): ExperimentResult {
  checkVariants(variants);
  const base = control === undefined ? variants[0] : variants.find((v) => v.name === control);
  if (base === undefined) throw bad(`The control "${control}" is not one of the variants`);
  return {
    control: base.name,
    variants: variants.map((v) => {
      const result: VariantResult = {
        name: v.name,
        users: v.users,
        conversions: v.conversions,
        rate: v.users === 0 ? 0 : v.conversions / v.users,
      };
      if (v !== base) result.vsControl = compareProportions(v, base);
      return result;
    }),
    sampleRatio: sampleRatioCheck(variants),
  };
}
