/**
 * The aggregates a stream job computes per key and window. Each is mergeable, so hopping windows are built from
 * panes (see `windowed-aggregation.ts`), and each can be written to and read from a checkpoint.
 * Like SQL, every aggregate but `count()` skips null and undefined values; the numeric ones also skip non-numbers.
 */
import { DDSketch, type DDSketchSnapshot, defaultRelativeAccuracy } from './sketches/ddsketch.ts';
import { HyperLogLog } from './sketches/hyperloglog.ts';

export type Scalar = number | string | boolean | null;
export type Value = Scalar | undefined;
/** Reads the aggregated value from an input; `time` is its (possibly adjusted) event time in ms. */
export type ValueOf<In> = (input: In, time: number) => Value;
export type AggregateResult = Scalar | Record<string, Scalar>;

export interface Accumulator {
  add(value: Value, time: number): void;
  /** Folds in `other`, which covers later times than this one (first/last rely on that order). */
  merge(other: Accumulator): void;
  result(): AggregateResult;
  toJSON(): unknown;
  /**
   * For a privacy erasure: forgets the kept values that are one of `ids` (set only by the accumulators that keep
   * values themselves: exact distinct sets, first/last); returns how many went, or with `dryRun` would go.
   */
  eraseValues?(ids: ReadonlySet<string>, dryRun: boolean): number;
}

/**
 * The aggregates whose state is a few numbers, which pane windows keep in flat arrays rather than in accumulator
 * objects (`windowed-aggregation.ts`), with the same results and the same checkpoint form as their accumulators.
 */
export type FlatKind = 'count' | 'countValues' | 'sum' | 'avg' | 'min' | 'max';

export interface AggregateSpec<In> {
  readonly kind: string;
  /** Undefined only for `count()`, which counts inputs. */
  readonly of: ValueOf<In> | undefined;
  /** Set by `count`, `sum`, `avg`, `min` and `max`: the flat form of its state. */
  readonly flat?: FlatKind;
  create(): Accumulator;
  restore(snapshot: unknown): Accumulator;
}

function spec<In>(
  kind: string,
  of: ValueOf<In> | undefined,
  create: () => Accumulator,
  restore: (snapshot: unknown) => Accumulator,
  flat?: FlatKind,
): AggregateSpec<In> {
  return flat ? { kind, of, flat, create, restore } : { kind, of, create, restore };
}

class CountAccumulator implements Accumulator {
  constructor(
    public n = 0,
    private readonly all = true,
  ) {}
  add(value: Value): void {
    if (this.all || (value !== null && value !== undefined)) this.n += 1;
  }
  merge(other: Accumulator): void {
    this.n += (other as CountAccumulator).n;
  }
  result(): number {
    return this.n;
  }
  toJSON(): number {
    return this.n;
  }
}

/** COUNT(*) without a value, COUNT(x) (non-null values of x) with one. */
export function count<In>(of?: ValueOf<In>): AggregateSpec<In> {
  const all = of === undefined;
  return spec(
    'count',
    of,
    () => new CountAccumulator(0, all),
    (s) => new CountAccumulator(s as number, all),
    all ? 'count' : 'countValues',
  );
}

/**
 * A sum in a checkpoint. JSON has no Infinity or NaN, which a sum of finite values reaches when it overflows
 * (1e308 + 1e308; then + -Infinity): JSON.stringify would write null, restored as 0, so a restart would change the
 * window's result. Those three are written as their names.
 */
export function sumToJSON(sum: number): number | string {
  return Number.isFinite(sum) ? sum : String(sum);
}

/** `sumToJSON` undone (`Number('Infinity')`, `Number('NaN')`). */
export function sumFromJSON(snapshot: unknown): number {
  return Number(snapshot);
}

class SumAccumulator implements Accumulator {
  constructor(
    public sum = 0,
    public n = 0,
    private readonly mean = false,
  ) {}
  add(value: Value): void {
    if (typeof value === 'number' && Number.isFinite(value)) {
      this.sum += value;
      this.n += 1;
    }
  }
  merge(other: Accumulator): void {
    const o = other as SumAccumulator;
    this.sum += o.sum;
    this.n += o.n;
  }
  result(): number | null {
    if (this.n === 0) return null;
    return this.mean ? this.sum / this.n : this.sum;
  }
  toJSON(): [number | string, number] {
    return [sumToJSON(this.sum), this.n];
  }
}

/** SUM(x); null over no values, as in SQL. */
export function sum<In>(of: ValueOf<In>): AggregateSpec<In> {
  return spec(
    'sum',
    of,
    () => new SumAccumulator(),
    (s) => new SumAccumulator(sumFromJSON((s as unknown[])[0]), (s as [unknown, number])[1]),
    'sum',
  );
}

/** AVG(x); null over no values. */
export function avg<In>(of: ValueOf<In>): AggregateSpec<In> {
  return spec(
    'avg',
    of,
    () => new SumAccumulator(0, 0, true),
    (s) => new SumAccumulator(sumFromJSON((s as unknown[])[0]), (s as [unknown, number])[1], true),
    'avg',
  );
}

class ExtremeAccumulator implements Accumulator {
  constructor(
    private readonly largest: boolean,
    public value: number | null = null,
  ) {}
  add(value: Value): void {
    if (typeof value !== 'number' || Number.isNaN(value)) return;
    if (this.value === null || (this.largest ? value > this.value : value < this.value)) this.value = value;
  }
  merge(other: Accumulator): void {
    this.add((other as ExtremeAccumulator).value);
  }
  result(): number | null {
    return this.value;
  }
  toJSON(): number | null {
    return this.value;
  }
}

export function min<In>(of: ValueOf<In>): AggregateSpec<In> {
  return spec(
    'min',
    of,
    () => new ExtremeAccumulator(false),
    (s) => new ExtremeAccumulator(false, s as number | null),
    'min',
  );
}

export function max<In>(of: ValueOf<In>): AggregateSpec<In> {
  return spec(
    'max',
    of,
    () => new ExtremeAccumulator(true),
    (s) => new ExtremeAccumulator(true, s as number | null),
    'max',
  );
}

class EdgeAccumulator implements Accumulator {
  constructor(
    private readonly latest: boolean,
    public value: Scalar = null,
    public time = Number.NaN,
  ) {}
  add(value: Value, time: number): void {
    if (value === undefined || value === null) return;
    // Ties go to the earliest arrival for first, the latest for last.
    if (Number.isNaN(this.time) || (this.latest ? time >= this.time : time < this.time)) {
      this.value = value;
      this.time = time;
    }
  }
  merge(other: Accumulator): void {
    const o = other as EdgeAccumulator;
    if (!Number.isNaN(o.time)) this.add(o.value, o.time);
  }
  /** The value before it is not kept: the result becomes null, as over no values. */
  eraseValues(ids: ReadonlySet<string>, dryRun: boolean): number {
    if (typeof this.value !== 'string' || !ids.has(this.value)) return 0;
    if (dryRun) return 1;
    this.value = null;
    this.time = Number.NaN;
    return 1;
  }
  result(): Scalar {
    return this.value;
  }
  toJSON(): [Scalar, number | null] {
    return [this.value, Number.isNaN(this.time) ? null : this.time];
  }
}

function restoreEdge(latest: boolean, s: unknown): EdgeAccumulator {
  const [value, time] = s as [Scalar, number | null];
  return new EdgeAccumulator(latest, value, time ?? Number.NaN);
}

/** The value of the input with the earliest event time (the earliest to arrive among equal times). */
export function first<In>(of: ValueOf<In>): AggregateSpec<In> {
  return spec(
    'first',
    of,
    () => new EdgeAccumulator(false),
    (s) => restoreEdge(false, s),
  );
}

/** The value of the input with the latest event time (the latest to arrive among equal times). */
export function last<In>(of: ValueOf<In>): AggregateSpec<In> {
  return spec(
    'last',
    of,
    () => new EdgeAccumulator(true),
    (s) => restoreEdge(true, s),
  );
}

/** Exact distinct values kept up to this many per key and window; past it, a HyperLogLog (error ≈ 0.81%). */
export const defaultExactDistinct = 10_000;

class DistinctAccumulator implements Accumulator {
  /**
   * The sketch of `exact`, made when first merged into a sketch and kept until the next add: a pane merged into
   * many hopping windows hashes its values once. Never modified once made.
   */
  #exactSketch: HyperLogLog | undefined;

  // Exactly one of `exact` and `sketch` is set (no parameter defaults: undefined would select them).
  constructor(
    private readonly threshold: number,
    public exact: Set<string> | undefined,
    public sketch: HyperLogLog | undefined,
  ) {}
  add(value: Value): void {
    if (value === null || value === undefined) return;
    const text = typeof value === 'string' ? value : String(value);
    if (this.exact) {
      this.exact.add(text);
      this.#exactSketch = undefined;
      if (this.exact.size > this.threshold) this.#toSketch();
    } else {
      this.sketch!.add(text);
    }
  }
  #sketchOfExact(): HyperLogLog {
    if (!this.#exactSketch) {
      const sketch = new HyperLogLog();
      for (const v of this.exact!) sketch.add(v);
      this.#exactSketch = sketch;
    }
    return this.#exactSketch;
  }
  #toSketch(): void {
    const cached = this.#exactSketch;
    this.sketch = cached ? new HyperLogLog(cached.registers.slice()) : this.#sketchOfExact();
    this.exact = undefined;
    this.#exactSketch = undefined;
  }
  /** The union, exact while it holds at most `threshold` values; past that, the sketch of the union. */
  merge(other: Accumulator): void {
    const o = other as DistinctAccumulator;
    if (o.exact && this.exact) {
      if (this.exact.size === 0) {
        this.exact = new Set(o.exact);
        this.#exactSketch = o.#exactSketch;
        return;
      }
      this.#exactSketch = undefined;
      for (const v of o.exact) {
        this.exact.add(v);
        if (this.exact.size > this.threshold) {
          // The rest of o's values go into the sketch: merging o's whole sketch adds them (and repeats the others).
          this.#toSketch();
          this.sketch!.merge(o.#sketchOfExact());
          return;
        }
      }
      return;
    }
    if (this.exact) this.#toSketch();
    this.sketch!.merge(o.exact ? o.#sketchOfExact() : o.sketch!);
  }
  result(): number {
    return this.exact ? this.exact.size : this.sketch!.estimate();
  }
  /** Exact values only: a value hashed into the sketch cannot be taken out of it. */
  eraseValues(ids: ReadonlySet<string>, dryRun: boolean): number {
    if (!this.exact) return 0;
    let erased = 0;
    for (const id of ids) if (dryRun ? this.exact.has(id) : this.exact.delete(id)) erased++;
    if (erased > 0 && !dryRun) this.#exactSketch = undefined;
    return erased;
  }
  toJSON(): { exact: string[] } | { hll: string } {
    return this.exact ? { exact: [...this.exact] } : { hll: this.sketch!.toJSON() };
  }
}

/**
 * COUNT(DISTINCT x): exact up to `threshold` distinct values per key and window, then a HyperLogLog with a
 * standard error of 0.81% (see `sketches/hyperloglog.ts`).
 */
export function countDistinct<In>(of: ValueOf<In>, threshold = defaultExactDistinct): AggregateSpec<In> {
  return spec(
    'countDistinct',
    of,
    () => new DistinctAccumulator(threshold, new Set(), undefined),
    (s) => {
      const snapshot = s as { exact?: string[]; hll?: string };
      return snapshot.exact
        ? new DistinctAccumulator(threshold, new Set(snapshot.exact), undefined)
        : new DistinctAccumulator(threshold, undefined, HyperLogLog.fromJSON(snapshot.hll!));
    },
  );
}

class QuantileAccumulator implements Accumulator {
  constructor(
    private readonly quantiles: Record<string, number> | number,
    public sketch: DDSketch,
  ) {}
  add(value: Value): void {
    if (typeof value === 'number' && Number.isFinite(value)) this.sketch.add(value);
  }
  merge(other: Accumulator): void {
    this.sketch.merge((other as QuantileAccumulator).sketch);
  }
  result(): AggregateResult {
    if (typeof this.quantiles === 'number') return this.sketch.quantile(this.quantiles) ?? null;
    const out: Record<string, Scalar> = {};
    for (const [name, q] of Object.entries(this.quantiles)) out[name] = this.sketch.quantile(q) ?? null;
    return out;
  }
  toJSON(): DDSketchSnapshot {
    return this.sketch.toJSON();
  }
}

/**
 * The q-quantile of x (0 ≤ q ≤ 1) from a DDSketch: within `relativeAccuracy` (default 1%) of the exact value of
 * rank ⌊q·(n−1)⌋ in the sorted values.
 */
export function percentile<In>(
  of: ValueOf<In>,
  q: number,
  relativeAccuracy = defaultRelativeAccuracy,
): AggregateSpec<In> {
  return spec(
    'percentile',
    of,
    () => new QuantileAccumulator(q, new DDSketch(relativeAccuracy)),
    (s) => new QuantileAccumulator(q, DDSketch.fromJSON(s as DDSketchSnapshot)),
  );
}

/**
 * Several quantiles of x from one sketch, each under its own output name, e.g.
 * `percentiles(latency, { p95LatencyMs: 0.95, p99LatencyMs: 0.99 })`. The names go into the result row directly.
 */
export function percentiles<In>(
  of: ValueOf<In>,
  quantiles: Record<string, number>,
  relativeAccuracy = defaultRelativeAccuracy,
): AggregateSpec<In> {
  return spec(
    'percentiles',
    of,
    () => new QuantileAccumulator(quantiles, new DDSketch(relativeAccuracy)),
    (s) => new QuantileAccumulator(quantiles, DDSketch.fromJSON(s as DDSketchSnapshot)),
  );
}
