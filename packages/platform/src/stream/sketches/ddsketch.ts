/**
 * DDSketch (Masson, Rim, Lee, VLDB 2019): a quantile sketch with a relative-error guarantee. With relative accuracy
 * α, the value returned for quantile q is within α·|x| of x, the exact value of rank ⌊q·(n−1)⌋ in the sorted input
 * (0-based). Buckets are logarithmic, so memory grows with the log of the value range, not with n: latencies from
 * 1 ms to 1 hour at α = 1% use at most about 750 buckets. Sketches merge exactly (bucket counts add).
 */
export interface DDSketchSnapshot {
  alpha: number;
  count: number;
  zeros: number;
  min: number;
  max: number;
  positive: [number, number][];
  negative: [number, number][];
}

export const defaultRelativeAccuracy = 0.01;

export class DDSketch {
  readonly alpha: number;
  readonly #gamma: number;
  readonly #logGamma: number;
  #positive = new Map<number, number>();
  #negative = new Map<number, number>();
  #zeros = 0;
  count = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;

  constructor(alpha = defaultRelativeAccuracy) {
    this.alpha = alpha;
    this.#gamma = (1 + alpha) / (1 - alpha);
    this.#logGamma = Math.log(this.#gamma);
  }

  add(value: number): void {
    this.count += 1;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (value > 0) {
      const index = Math.ceil(Math.log(value) / this.#logGamma);
      this.#positive.set(index, (this.#positive.get(index) ?? 0) + 1);
    } else if (value < 0) {
      const index = Math.ceil(Math.log(-value) / this.#logGamma);
      this.#negative.set(index, (this.#negative.get(index) ?? 0) + 1);
    } else {
      this.#zeros += 1;
    }
  }

  merge(other: DDSketch): void {
    if (other.alpha !== this.alpha) throw new Error('DDSketch: cannot merge sketches of different accuracy');
    for (const [index, n] of other.#positive) this.#positive.set(index, (this.#positive.get(index) ?? 0) + n);
    for (const [index, n] of other.#negative) this.#negative.set(index, (this.#negative.get(index) ?? 0) + n);
    this.#zeros += other.#zeros;
    this.count += other.count;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
  }

  /** The value at quantile q (0 ≤ q ≤ 1), or undefined when empty. */
  quantile(q: number): number | undefined {
    if (this.count === 0) return undefined;
    const rank = Math.floor(q * (this.count - 1));
    let seen = 0;
    const negatives = [...this.#negative.keys()].sort((a, b) => b - a);
    for (const index of negatives) {
      seen += this.#negative.get(index)!;
      if (seen > rank) return this.#clamp(-this.#value(index));
    }
    seen += this.#zeros;
    if (seen > rank) return 0;
    const positives = [...this.#positive.keys()].sort((a, b) => a - b);
    for (const index of positives) {
      seen += this.#positive.get(index)!;
      if (seen > rank) return this.#clamp(this.#value(index));
    }
    return this.max;
  }

  #value(index: number): number {
    return (2 * this.#gamma ** index) / (this.#gamma + 1);
  }

  #clamp(value: number): number {
    return Math.min(this.max, Math.max(this.min, value));
  }

  toJSON(): DDSketchSnapshot {
    return {
      alpha: this.alpha,
      count: this.count,
      zeros: this.#zeros,
      min: this.min,
      max: this.max,
      positive: [...this.#positive],
      negative: [...this.#negative],
    };
  }

  static fromJSON(snapshot: DDSketchSnapshot): DDSketch {
    const sketch = new DDSketch(snapshot.alpha);
    sketch.count = snapshot.count;
    sketch.#zeros = snapshot.zeros;
    sketch.min = snapshot.min ?? Number.POSITIVE_INFINITY;
    sketch.max = snapshot.max ?? Number.NEGATIVE_INFINITY;
    sketch.#positive = new Map(snapshot.positive);
    sketch.#negative = new Map(snapshot.negative);
    return sketch;
  }
}
