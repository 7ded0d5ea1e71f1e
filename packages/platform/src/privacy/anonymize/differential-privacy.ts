/**
 * Differential privacy for released counts and sums (§7.5): the Laplace mechanism with noise drawn from the
 * operating system's CSPRNG, and a per-dataset ε budget spent by sequential composition — a query that would
 * overspend is refused before any noise is drawn, and nothing is spent for it.
 *
 * Not done: the floating-point attack on naive Laplace sampling (Mironov 2012) is not mitigated by a snapping
 * mechanism; releases are rounded to the precision the caller asks for, which narrows but does not close it.
 */
import { randomBytes } from 'node:crypto';
import { DeeprefError } from '../../errors.ts';

/** A source of uniform numbers in the open interval (0, 1). */
export type UniformSource = () => number;

const POOL_DRAWS = 1024;
let pool = Buffer.alloc(0);
let poolOffset = 0;

/** Uniform in (0, 1) with 53 random bits from `crypto.randomBytes`, never exactly 0 or 1. */
export const secureUniform: UniformSource = () => {
  if (poolOffset + 8 > pool.length) {
    pool = randomBytes(8 * POOL_DRAWS);
    poolOffset = 0;
  }
  const high = pool.readUInt32BE(poolOffset) >>> 11; // 21 bits
  const low = pool.readUInt32BE(poolOffset + 4); // 32 bits
  poolOffset += 8;
  return (high * 2 ** 32 + low + 0.5) / 2 ** 53;
};

/** One draw from Laplace(0, scale) by inverting its CDF; its variance is 2·scale². */
export function laplaceNoise(scale: number, uniform: UniformSource = secureUniform): number {
  if (!(scale > 0) || !Number.isFinite(scale))
    throw new RangeError(`scale must be a positive number, got ${scale}`);
  const u = uniform() - 0.5;
  return -scale * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
}

/** Where each dataset's budget is kept; `spend` must check and deduct atomically. */
export interface PrivacyBudgetLedger {
  /** Sets (or resets) a dataset's total budget and clears what was spent. */
  setBudget(dataset: string, epsilon: number): Promise<void>;
  /** Deducts ε if it fits; otherwise throws DEEPREF_PRIVACY_BUDGET_EXCEEDED and deducts nothing. */
  spend(dataset: string, epsilon: number): Promise<BudgetState>;
  state(dataset: string): Promise<BudgetState | undefined>;
}

export interface BudgetState {
  dataset: string;
  budget: number;
  spent: number;
  remaining: number;
}

/** Spending that lands within this of the budget counts as within it (ε values are decimal fractions). */
export const BUDGET_TOLERANCE = 1e-9;

/** A ledger in memory: for one process and for tests. `MetaStoreBudgetLedger` keeps budgets durable. */
export class MemoryBudgetLedger implements PrivacyBudgetLedger {
  readonly #budgets = new Map<string, { budget: number; spent: number }>();

  async setBudget(dataset: string, epsilon: number) {
    checkEpsilon(epsilon);
    this.#budgets.set(dataset, { budget: epsilon, spent: 0 });
  }

  async spend(dataset: string, epsilon: number) {
    checkEpsilon(epsilon);
    const entry = this.#budgets.get(dataset);
    if (!entry) throw noBudget(dataset);
    if (entry.spent + epsilon > entry.budget + BUDGET_TOLERANCE) throw exceeded(dataset, epsilon, entry);
    entry.spent += epsilon;
    return toState(dataset, entry);
  }

  async state(dataset: string) {
    const entry = this.#budgets.get(dataset);
    return entry ? toState(dataset, entry) : undefined;
  }
}

export interface NoisyRelease {
  value: number;
  epsilon: number;
  /** The Laplace scale b = sensitivity / ε used; the noise's standard deviation is b·√2. */
  scale: number;
  remaining: number;
}

/** Releases counts and sums under a dataset's ε budget. */
export class LaplaceMechanism {
  constructor(
    private readonly ledger: PrivacyBudgetLedger,
    private readonly uniform: UniformSource = secureUniform,
  ) {}

  /** A count (sensitivity 1: one person adds or removes one row). */
  async count(dataset: string, trueCount: number, epsilon: number): Promise<NoisyRelease> {
    return this.#release(dataset, trueCount, 1, epsilon);
  }

  /**
   * A sum of per-person values clamped to [lower, upper]; sensitivity max(|lower|, |upper|). Clamping is what
   * bounds the sensitivity, so values outside the bounds are moved to them before summing.
   */
  async sum(
    dataset: string,
    values: readonly number[],
    bounds: { lower: number; upper: number },
    epsilon: number,
  ): Promise<NoisyRelease> {
    const { lower, upper } = bounds;
    if (!(lower <= upper)) throw new DeeprefError('DEEPREF_BAD_REQUEST', { detail: 'lower must be ≤ upper' });
    const clamped = values.reduce((sum, v) => sum + Math.min(upper, Math.max(lower, v)), 0);
    return this.#release(dataset, clamped, Math.max(Math.abs(lower), Math.abs(upper)), epsilon);
  }

  async #release(
    dataset: string,
    value: number,
    sensitivity: number,
    epsilon: number,
  ): Promise<NoisyRelease> {
    const { remaining } = await this.ledger.spend(dataset, epsilon);
    const scale = sensitivity / epsilon;
    return { value: value + laplaceNoise(scale, this.uniform), epsilon, scale, remaining };
  }
}

export function checkEpsilon(epsilon: number) {
  if (!(epsilon > 0) || !Number.isFinite(epsilon)) {
    throw new DeeprefError('DEEPREF_BAD_REQUEST', { detail: `ε must be a positive number, got ${epsilon}` });
  }
}

export function noBudget(dataset: string) {
  return new DeeprefError('DEEPREF_BAD_REQUEST', {
    detail: `dataset ${dataset} has no privacy budget; set one first`,
  });
}

export function exceeded(dataset: string, epsilon: number, entry: { budget: number; spent: number }) {
  return new DeeprefError('DEEPREF_PRIVACY_BUDGET_EXCEEDED', {
    dataset,
    epsilon,
    budget: entry.budget,
    remaining: Math.max(0, entry.budget - entry.spent),
  });
}

export function toState(dataset: string, entry: { budget: number; spent: number }): BudgetState {
  return {
    dataset,
    budget: entry.budget,
    spent: entry.spent,
    remaining: Math.max(0, entry.budget - entry.spent),
  };
}
