/**
 * One job's keyed, windowed aggregation: inputs come in with their final event time (see `event-time.ts`), and
 * `emit(watermark)` returns the rows of every window that ends before the watermark, then frees their state.
 * Memory holds only windows still open: panes for tumbling and hopping windows, the events of the last `size` for
 * sliding windows, and the not-yet-final events and open session per key for session windows.
 *
 * Hopping windows are built from panes of gcd(size, hop), so an input updates one pane however many windows
 * hold it, and a window is the merge of its size/gcd panes when it closes: of the panes its key has (each key
 * lists its own), taken as they are when there is one, and merged once for the key's windows over the same panes
 * in one emission. A pane keeps its groups in slots: the key → slot map (with several group values, nested maps
 * from the values, so an input's values are never joined), and the state of count, sum, avg, min and max in one
 * flat `Float64Array` (`FlatLayout`); only the other aggregates (distinct counts, percentiles, first/last) are
 * accumulator objects.
 */
import {
  type Accumulator,
  type AggregateResult,
  type AggregateSpec,
  type Scalar,
  sumFromJSON,
  sumToJSON,
  type Value,
} from './aggregates.ts';
import type { AnyStreamJob, WindowResult } from './stream-job.ts';
import { alignUp, gcd, sessionCutoff } from './windows.ts';

type Input = never;
type Snapshot = unknown;

interface Item {
  t: number;
  values: Value[];
}

/**
 * Receives one window's row: `results` holds each aggregate's result (read at once: the array is reused);
 * `fields` undefined means the key is the only group value.
 */
type Out = (
  key: string,
  fields: string[] | undefined,
  results: AggregateResult[],
  start: number,
  end: number,
) => void;

/** The group values of an input whose key is `key`. */
type FieldsOf = (key: string, input: Input) => string[];

/** What a privacy erasure took out of a job's open windows. */
export interface ErasedState {
  /** Group states (a pane's group, a sliding buffer, a session key) whose group values include an id. */
  groups: number;
  /** Ids kept as values in the other groups (exact distinct sets, first/last, buffered events' values). */
  values: number;
}

interface Strategy {
  add(key: string, input: Input, time: number): void;
  emit(watermark: number, out: Out): void;
  openWindows(): number;
  toJSON(): Snapshot;
  restore(snapshot: Snapshot): void;
  /** With `dryRun`, only counts what it would erase. */
  erase(ids: ReadonlySet<string>, dryRun: boolean): ErasedState;
}

const keySeparator = '\u001f';

export class WindowedAggregation {
  readonly job: AnyStreamJob;
  readonly #specs: AggregateSpec<Input>[];
  readonly #names: string[];
  readonly #groupNames: string[];
  readonly #groupOf: ((input: Input) => Value)[];
  readonly #strategy: Strategy;
  /** The group values of the input being added, when there are several. */
  readonly #parts: string[] = [];
  inputs = 0;
  emitted = 0;

  constructor(job: AnyStreamJob) {
    this.job = job;
    this.#names = Object.keys(job.aggregates);
    this.#specs = Object.values(job.aggregates);
    this.#groupNames = Object.keys(job.groupBy);
    this.#groupOf = Object.values(job.groupBy);
    const groupOf = this.#groupOf;
    // With one group value the key is that value as text; with none, there are no fields.
    const fieldsOf: FieldsOf =
      groupOf.length === 1
        ? (key) => [key]
        : groupOf.length === 0
          ? () => []
          : (_, input) => groupOf.map((of) => String(of(input)));
    // Panes hold many groups each: with one group value they keep no fields and read them from the key.
    const paneFieldsOf = groupOf.length === 1 ? undefined : fieldsOf;
    const window = job.window;
    if (window.kind === 'tumbling') {
      this.#strategy = new PaneWindows(
        this.#specs,
        paneFieldsOf,
        window.sizeMs,
        window.sizeMs,
        window.offsetMs,
      );
    } else if (window.kind === 'hopping') {
      this.#strategy = new PaneWindows(
        this.#specs,
        paneFieldsOf,
        window.sizeMs,
        window.hopMs,
        window.offsetMs,
      );
    } else if (window.kind === 'sliding') {
      this.#strategy = new SlidingWindows(this.#specs, fieldsOf, window.sizeMs);
    } else {
      this.#strategy = new SessionWindows(this.#specs, fieldsOf, window.timeoutMs, window.maxDurationMs);
    }
  }

  /** Adds an input at its final event time; false when `where` or a missing group value skips it. */
  add(input: Input, time: number): boolean {
    const job = this.job;
    if (job.where && !job.where(input)) return false;
    let key: string;
    const groupOf = this.#groupOf;
    if (groupOf.length === 1) {
      const v = groupOf[0]!(input);
      if (v === null || v === undefined) return false;
      key = typeof v === 'string' ? v : String(v);
    } else if (groupOf.length === 0) {
      key = '';
    } else {
      // Several group values: pane windows look them up in nested maps, without joining them.
      const parts = this.#parts;
      for (let i = 0; i < groupOf.length; i++) {
        const v = groupOf[i]!(input);
        if (v === null || v === undefined) return false;
        parts[i] = typeof v === 'string' ? v : String(v);
      }
      const strategy = this.#strategy;
      if (strategy instanceof PaneWindows) strategy.addParts(parts, input, time);
      else strategy.add(parts.join(keySeparator), input, time);
      this.inputs += 1;
      return true;
    }
    this.#strategy.add(key, input, time);
    this.inputs += 1;
    return true;
  }

  /** The rows of every window ending before `watermark`, after `derive` and `having`. */
  emit(watermark: number): WindowResult[] {
    const rows: WindowResult[] = [];
    const job = this.job;
    const names = this.#names;
    const groupNames = this.#groupNames;
    this.#strategy.emit(watermark, (key, fields, results, start, end) => {
      let values: Record<string, Scalar> = {};
      for (let i = 0; i < results.length; i++) {
        const result = results[i]!;
        if (result !== null && typeof result === 'object') Object.assign(values, result);
        else values[names[i]!] = result;
      }
      if (job.derive) values = { ...values, ...job.derive(values, { start, end }) };
      const group: Record<string, string> = {};
      if (fields === undefined) group[groupNames[0]!] = key;
      else for (let i = 0; i < fields.length; i++) group[groupNames[i]!] = fields[i]!;
      const row: WindowResult = { job: job.name, key, group, windowStart: start, windowEnd: end, values };
      if (!job.having || job.having(row)) rows.push(row);
    });
    this.emitted += rows.length;
    return rows;
  }

  /** Key-window states held: a bound on memory. */
  openWindows(): number {
    return this.#strategy.openWindows();
  }

  /**
   * Forgets every group one of whose group values is one of `ids`, and the ids kept as values in the others (a
   * privacy erasure); with `dryRun`, only counts them. The subject's events in other groups stay counted: a count or
   * a sketch cannot tell them apart.
   */
  erase(ids: ReadonlySet<string>, dryRun: boolean): ErasedState {
    return this.#strategy.erase(ids, dryRun);
  }

  toJSON(): Snapshot {
    return { inputs: this.inputs, emitted: this.emitted, state: this.#strategy.toJSON() };
  }

  restore(snapshot: Snapshot): void {
    const s = snapshot as { inputs: number; emitted: number; state: Snapshot };
    this.inputs = s.inputs;
    this.emitted = s.emitted;
    this.#strategy.restore(s.state);
  }
}

function valuesOf(specs: AggregateSpec<Input>[], input: Input, time: number): Value[] {
  const values: Value[] = new Array(specs.length);
  for (let i = 0; i < specs.length; i++) values[i] = specs[i]!.of?.(input, time);
  return values;
}

function freshAccs(specs: AggregateSpec<Input>[]): Accumulator[] {
  return specs.map((s) => s.create());
}

/** Each accumulator's result, into `results`. */
function resultsOf(accs: Accumulator[], results: AggregateResult[]): AggregateResult[] {
  for (let i = 0; i < accs.length; i++) results[i] = accs[i]!.result();
  return results;
}

function restoreAccs(specs: AggregateSpec<Input>[], snapshots: unknown[]): Accumulator[] {
  return specs.map((s, i) => s.restore(snapshots[i]));
}

const namesAny = (fields: readonly string[], ids: ReadonlySet<string>): boolean =>
  fields.some((field) => ids.has(field));

/** Erases (or counts) the ids kept by the accumulators `from` up to `to` of `accs`. */
function eraseAccValues(
  accs: readonly Accumulator[],
  ids: ReadonlySet<string>,
  dryRun: boolean,
  from = 0,
  to = accs.length,
): number {
  let erased = 0;
  for (let i = from; i < to; i++) erased += accs[i]!.eraseValues?.(ids, dryRun) ?? 0;
  return erased;
}

/** Buffered events' values that are an id become missing, as aggregates skip them (text only: an id is text). */
function eraseItemValues(items: readonly Item[], ids: ReadonlySet<string>, dryRun: boolean): number {
  let erased = 0;
  for (const item of items) {
    const values = item.values;
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (typeof value === 'string' && ids.has(value)) {
        if (!dryRun) values[i] = undefined;
        erased++;
      }
    }
  }
  return erased;
}

/** Window ends waiting for the watermark, each with the keys that have a window there, in first-touch order. */
class PendingEnds {
  ends: number[] = [];
  keys = new Map<number, Set<string>>();

  register(end: number, key: string): void {
    let set = this.keys.get(end);
    if (!set) {
      set = new Set();
      this.keys.set(end, set);
      insertSorted(this.ends, end);
    }
    set.add(key);
  }

  /** Takes the next end before the watermark with its keys, or undefined. */
  next(watermark: number): [number, Set<string>] | undefined {
    const end = this.ends[0];
    if (end === undefined || !(end < watermark)) return undefined;
    this.ends.shift();
    const keys = this.keys.get(end)!;
    this.keys.delete(end);
    return [end, keys];
  }

  toJSON(): [number, string[]][] {
    return this.ends.map((end) => [end, [...this.keys.get(end)!]]);
  }

  /** Forgets `keys` at every end; an end left without keys goes. */
  forget(keys: ReadonlySet<string>): void {
    if (keys.size === 0) return;
    for (const [end, set] of this.keys) {
      for (const key of keys) set.delete(key);
      if (set.size === 0) this.keys.delete(end);
    }
    this.ends = this.ends.filter((end) => this.keys.has(end));
  }

  restore(snapshot: [number, string[]][]): void {
    this.ends = snapshot.map(([end]) => end);
    this.keys = new Map(snapshot.map(([end, keys]) => [end, new Set(keys)]));
  }
}

// The state of one aggregate in a group: where it lives and how it is read.
const COUNT = 0;
const COUNT_VALUES = 1;
const SUM = 2;
const AVG = 3;
const MIN = 4;
const MAX = 5;
const OBJECT = 6;
const codeOf = { count: COUNT, countValues: COUNT_VALUES, sum: SUM, avg: AVG, min: MIN, max: MAX } as const;

/**
 * Where each aggregate of a job keeps a group's state in a pane: count, sum, avg, min and max as numbers in the
 * pane's flat array (`width` per group: a count; a sum and its count of values; min/max, NaN for none yet), the
 * others as accumulator objects (`objects` per group). Results and checkpoint form equal the accumulators'.
 */
class FlatLayout {
  readonly codes: number[];
  /** Offset in the group's numbers, or index among its objects. */
  readonly at: number[];
  readonly width: number;
  readonly objects: number;

  constructor(readonly specs: AggregateSpec<Input>[]) {
    this.codes = [];
    this.at = [];
    let width = 0;
    let objects = 0;
    for (const spec of specs) {
      const code = spec.flat === undefined ? OBJECT : codeOf[spec.flat];
      this.codes.push(code);
      if (code === OBJECT) {
        this.at.push(objects++);
      } else {
        this.at.push(width);
        width += code === SUM || code === AVG ? 2 : 1;
      }
    }
    this.width = width;
    this.objects = objects;
  }

  /** Sets the group at `base` in `nums` (and its objects) to empty. */
  init(nums: Float64Array, base: number, objs: Accumulator[], objBase: number): void {
    const { codes, at, specs } = this;
    for (let i = 0; i < codes.length; i++) {
      const code = codes[i]!;
      if (code === OBJECT) objs[objBase + at[i]!] = specs[i]!.create();
      else if (code === MIN || code === MAX) nums[base + at[i]!] = Number.NaN;
      else if (code === SUM || code === AVG) {
        nums[base + at[i]!] = 0;
        nums[base + at[i]! + 1] = 0;
      } else nums[base + at[i]!] = 0;
    }
  }

  add(
    nums: Float64Array,
    base: number,
    objs: Accumulator[],
    objBase: number,
    input: Input,
    time: number,
  ): void {
    const { codes, at, specs } = this;
    for (let i = 0; i < codes.length; i++) {
      const code = codes[i]!;
      const k = base + at[i]!;
      if (code === COUNT) {
        nums[k]! += 1;
        continue;
      }
      const value = specs[i]!.of?.(input, time);
      if (code === OBJECT) {
        objs[objBase + at[i]!]!.add(value, time);
      } else if (code === SUM || code === AVG) {
        if (typeof value === 'number' && Number.isFinite(value)) {
          nums[k]! += value;
          nums[k + 1]! += 1;
        }
      } else if (code === MIN || code === MAX) {
        if (typeof value === 'number' && !Number.isNaN(value)) {
          const current = nums[k]!;
          if (Number.isNaN(current) || (code === MAX ? value > current : value < current)) nums[k] = value;
        }
      } else if (value !== null && value !== undefined) {
        nums[k]! += 1;
      }
    }
  }

  /** Folds the group at `fromBase` (a later pane) into the one at `base`. */
  merge(
    nums: Float64Array,
    base: number,
    objs: Accumulator[],
    objBase: number,
    from: Float64Array,
    fromBase: number,
    fromObjs: Accumulator[],
    fromObjBase: number,
  ): void {
    const { codes, at } = this;
    for (let i = 0; i < codes.length; i++) {
      const code = codes[i]!;
      const k = base + at[i]!;
      const f = fromBase + at[i]!;
      if (code === OBJECT) {
        objs[objBase + at[i]!]!.merge(fromObjs[fromObjBase + at[i]!]!);
      } else if (code === MIN || code === MAX) {
        const value = from[f]!;
        const current = nums[k]!;
        if (
          !Number.isNaN(value) &&
          (Number.isNaN(current) || (code === MAX ? value > current : value < current))
        ) {
          nums[k] = value;
        }
      } else {
        nums[k]! += from[f]!;
        if (code === SUM || code === AVG) nums[k + 1]! += from[f + 1]!;
      }
    }
  }

  results(
    nums: Float64Array,
    base: number,
    objs: Accumulator[],
    objBase: number,
    out: AggregateResult[],
  ): void {
    const { codes, at } = this;
    for (let i = 0; i < codes.length; i++) {
      const code = codes[i]!;
      const k = base + at[i]!;
      if (code === OBJECT) out[i] = objs[objBase + at[i]!]!.result();
      else if (code === SUM) out[i] = nums[k + 1] === 0 ? null : nums[k]!;
      else if (code === AVG) out[i] = nums[k + 1] === 0 ? null : nums[k]! / nums[k + 1]!;
      else if (code === MIN || code === MAX) out[i] = Number.isNaN(nums[k]!) ? null : nums[k]!;
      else out[i] = nums[k]!;
    }
  }

  /** The group's state as its accumulators write it to a checkpoint. */
  toJSON(nums: Float64Array, base: number, objs: Accumulator[], objBase: number): unknown[] {
    const { codes, at } = this;
    return codes.map((code, i) => {
      const k = base + at[i]!;
      if (code === OBJECT) return objs[objBase + at[i]!]!.toJSON();
      if (code === SUM || code === AVG) return [sumToJSON(nums[k]!), nums[k + 1]!];
      if (code === MIN || code === MAX) return Number.isNaN(nums[k]!) ? null : nums[k]!;
      return nums[k]!;
    });
  }

  restore(
    nums: Float64Array,
    base: number,
    objs: Accumulator[],
    objBase: number,
    snapshots: unknown[],
  ): void {
    const { codes, at, specs } = this;
    for (let i = 0; i < codes.length; i++) {
      const code = codes[i]!;
      const k = base + at[i]!;
      const s = snapshots[i];
      if (code === OBJECT) objs[objBase + at[i]!] = specs[i]!.restore(s);
      else if (code === SUM || code === AVG) {
        nums[k] = sumFromJSON((s as unknown[])[0]);
        nums[k + 1] = (s as [unknown, number])[1];
      } else if (code === MIN || code === MAX) nums[k] = s === null ? Number.NaN : (s as number);
      else nums[k] = s as number;
    }
  }
}

/**
 * Nested maps from group values to a slot, one level per value: a slot number where only one group has the values
 * so far (its further values are checked against its fields), a map of the next value where several do.
 */
type Paths = Map<string, Paths | number>;

/**
 * The groups of one pane, in first-touch order: slot i holds keys[i], its fields (none when the key is the only
 * field), numbers and objects. With several group values, `paths` finds a slot from the values without joining
 * them into the key.
 */
class Pane {
  readonly slots = new Map<string, number>();
  readonly paths: Paths = new Map();
  readonly keys: string[] = [];
  readonly fields: (string[] | undefined)[] = [];
  nums: Float64Array;
  readonly objs: Accumulator[] = [];

  constructor(readonly layout: FlatLayout) {
    this.nums = new Float64Array(layout.width * 16);
  }

  /** A new empty group for `key`; returns its slot. */
  open(key: string, fields: string[] | undefined): number {
    const slot = this.keys.length;
    const width = this.layout.width;
    if ((slot + 1) * width > this.nums.length) {
      const grown = new Float64Array(this.nums.length * 2);
      grown.set(this.nums);
      this.nums = grown;
    }
    this.slots.set(key, slot);
    this.keys.push(key);
    this.fields.push(fields);
    this.layout.init(this.nums, slot * width, this.objs, slot * this.layout.objects);
    return slot;
  }

  /** `open` for a group restored or copied from another pane: with several values, its path too. */
  reopen(key: string, fields: string[] | undefined): number {
    const slot = this.open(key, fields);
    if (fields && fields.length > 1) this.openParts(fields);
    return slot;
  }

  /**
   * A new pane with this one's groups, in the same order, but those keyed by one of `keys`: a pane keeps its groups
   * in slots of shared arrays, which cannot lose one in the middle. The kept groups' accumulator objects are moved,
   * not copied: this pane is to be dropped.
   */
  without(keys: ReadonlySet<string>): Pane {
    const { width, objects } = this.layout;
    const kept = new Pane(this.layout);
    for (let slot = 0; slot < this.keys.length; slot++) {
      const key = this.keys[slot]!;
      if (keys.has(key)) continue;
      const to = kept.reopen(key, this.fields[slot]);
      kept.nums.set(this.nums.subarray(slot * width, (slot + 1) * width), to * width);
      for (let j = 0; j < objects; j++) kept.objs[to * objects + j] = this.objs[slot * objects + j]!;
    }
    return kept;
  }

  /** The slot of the group with values `parts` (two or more), if it has one. */
  slotOfParts(parts: string[]): number | undefined {
    let level = this.paths;
    for (let i = 0; i < parts.length; i++) {
      const next = level.get(parts[i]!);
      if (next === undefined) return undefined;
      if (typeof next === 'number') {
        const fields = this.fields[next]!;
        for (let j = i + 1; j < parts.length; j++) if (fields[j] !== parts[j]) return undefined;
        return next;
      }
      level = next;
    }
    return undefined;
  }

  /**
   * The slot of the group with values `parts`, opened if new. Values that join into the key of a group with other
   * values share its slot, and get no path: they are found by the key.
   */
  openParts(parts: string[]): number {
    const key = parts.join(keySeparator);
    let slot = this.slots.get(key);
    if (slot === undefined) slot = this.open(key, parts.slice());
    else {
      const fields = this.fields[slot]!;
      for (let j = 0; j < parts.length; j++) if (fields[j] !== parts[j]) return slot;
    }
    let level = this.paths;
    const last = parts.length - 1;
    for (let i = 0; i < last; i++) {
      const next = level.get(parts[i]!);
      if (next === undefined || next === slot) {
        level.set(parts[i]!, slot);
        return slot;
      }
      if (typeof next === 'number') {
        // Another group shares the values so far: a level for the next value.
        const split: Paths = new Map([[this.fields[next]![i + 1]!, next]]);
        level.set(parts[i]!, split);
        level = split;
      } else {
        level = next;
      }
    }
    level.set(parts[last]!, slot);
    return slot;
  }
}

/** Hopping windows: the groups a key has in the panes held, ascending by pane end. */
interface KeyPanes {
  ends: number[];
  panes: Pane[];
  slots: number[];
  /**
   * The results of the last merge of several of these panes (`mergedFrom` up to `mergedTo`), in emission
   * `mergedIn`: the key's next window in the same emission over the same panes has the same results.
   */
  merged: AggregateResult[] | undefined;
  mergedFrom: number;
  mergedTo: number;
  mergedIn: number;
}

class PaneWindows implements Strategy {
  readonly #pane: number;
  /** A tumbling window (or a hopping one whose hop is its size) is one pane. */
  readonly #single: boolean;
  readonly #layout: FlatLayout;
  #panes = new Map<number, Pane>();
  /** Tumbling: the ends of the panes held, ascending; each pane's groups are its window's rows. */
  #ends: number[] = [];
  /** Hopping: the window ends waiting, with the keys of each. */
  #pending = new PendingEnds();
  /** Hopping: each key's groups in the panes, so a window merges only the panes its key is in. */
  #keyPanes = new Map<string, KeyPanes>();
  /** Counts the calls of `#emitMerged` (see `KeyPanes.merged`). */
  #emissions = 0;
  #lastPaneEnd = Number.NaN;
  #lastPane: Pane | undefined;
  readonly #results: AggregateResult[] = [];

  constructor(
    specs: AggregateSpec<Input>[],
    /** Undefined when the key is the group's only field. */
    private readonly fieldsOf: FieldsOf | undefined,
    private readonly size: number,
    private readonly hop: number,
    private readonly offset: number,
  ) {
    this.#pane = gcd(size, hop);
    this.#single = this.#pane === size;
    this.#layout = new FlatLayout(specs);
  }

  #paneAt(time: number): Pane {
    const paneEnd = alignUp(time, this.#pane, this.offset % this.#pane);
    if (paneEnd === this.#lastPaneEnd) return this.#lastPane!;
    let pane = this.#panes.get(paneEnd);
    if (!pane) {
      pane = new Pane(this.#layout);
      this.#panes.set(paneEnd, pane);
      if (this.#single) insertSorted(this.#ends, paneEnd);
    }
    this.#lastPaneEnd = paneEnd;
    this.#lastPane = pane;
    return pane;
  }

  add(key: string, input: Input, time: number): void {
    const pane = this.#paneAt(time);
    let slot = pane.slots.get(key);
    if (slot === undefined) {
      slot = pane.open(key, this.fieldsOf?.(key, input));
      this.#opened(key, pane, slot);
    }
    this.#addAt(pane, slot, input, time);
  }

  /** `add` for a group of two or more values. */
  addParts(parts: string[], input: Input, time: number): void {
    const pane = this.#paneAt(time);
    let slot = pane.slotOfParts(parts);
    if (slot === undefined) {
      const groups = pane.keys.length;
      slot = pane.openParts(parts);
      if (pane.keys.length > groups) this.#opened(pane.keys[slot]!, pane, slot);
    }
    this.#addAt(pane, slot, input, time);
  }

  /** Folds `input` into the accumulators of group `slot` of `pane`. */
  #addAt(pane: Pane, slot: number, input: Input, time: number): void {
    const layout = this.#layout;
    layout.add(pane.nums, slot * layout.width, pane.objs, slot * layout.objects, input, time);
  }

  /** Registers a new group of the last pane with every window holding the pane. */
  #opened(key: string, pane: Pane, slot: number): void {
    if (this.#single) return;
    const paneEnd = this.#lastPaneEnd;
    this.#keyPaneAdd(key, paneEnd, pane, slot);
    // Every window holding the pane: ends k·hop + offset in [paneEnd, paneEnd + size).
    for (let end = alignUp(paneEnd, this.hop, this.offset); end < paneEnd + this.size; end += this.hop) {
      this.#pending.register(end, key);
    }
  }

  #keyPaneAdd(key: string, paneEnd: number, pane: Pane, slot: number): void {
    let held = this.#keyPanes.get(key);
    if (!held) {
      held = { ends: [], panes: [], slots: [], merged: undefined, mergedFrom: 0, mergedTo: 0, mergedIn: 0 };
      this.#keyPanes.set(key, held);
    }
    // Mostly appended: inputs come nearly in time order.
    let at = held.ends.length;
    while (at > 0 && held.ends[at - 1]! > paneEnd) at--;
    held.ends.splice(at, 0, paneEnd);
    held.panes.splice(at, 0, pane);
    held.slots.splice(at, 0, slot);
    held.mergedIn = 0;
  }

  emit(watermark: number, out: Out): void {
    if (this.#single) this.#emitPanes(watermark, out);
    else this.#emitMerged(watermark, out);
  }

  #emitPanes(watermark: number, out: Out): void {
    const { width, objects } = this.#layout;
    const results = this.#results;
    const ends = this.#ends;
    let n = 0;
    for (; n < ends.length && ends[n]! < watermark; n++) {
      const end = ends[n]!;
      const pane = this.#panes.get(end)!;
      for (let slot = 0; slot < pane.keys.length; slot++) {
        this.#layout.results(pane.nums, slot * width, pane.objs, slot * objects, results);
        out(pane.keys[slot]!, pane.fields[slot], results, end - this.size, end);
      }
      this.#panes.delete(end);
    }
    if (n > 0) {
      ends.splice(0, n);
      this.#lastPaneEnd = Number.NaN;
      this.#lastPane = undefined;
    }
  }

  #emitMerged(watermark: number, out: Out): void {
    const layout = this.#layout;
    const { width, objects } = layout;
    const nums = new Float64Array(width);
    const objs: Accumulator[] = new Array(objects);
    // Panes in windows that end before the watermark are final: no input still to come falls in them.
    const emission = ++this.#emissions;
    for (let next = this.#pending.next(watermark); next; next = this.#pending.next(watermark)) {
      const [end, keys] = next;
      const start = end - this.size;
      // No window still to come (ends from end + hop) holds a pane ending at or before end + hop − size.
      const limit = end + this.hop - this.size;
      for (const key of keys) {
        const held = this.#keyPanes.get(key);
        // The key's panes in the window (start, end]: `from` up to `to`.
        let from = 0;
        let to = 0;
        if (held) {
          const ends = held.ends;
          while (from < ends.length && ends[from]! <= start) from++;
          to = from;
          while (to < ends.length && ends[to]! <= end) to++;
        }
        let fields: string[] | undefined;
        let results = this.#results;
        if (to - from === 1) {
          // One pane: its group is the window's.
          const pane = held!.panes[from]!;
          const slot = held!.slots[from]!;
          fields = pane.fields[slot];
          layout.results(pane.nums, slot * width, pane.objs, slot * objects, results);
        } else if (held?.mergedIn === emission && held.mergedFrom === from && held.mergedTo === to) {
          fields = held.panes[from]!.fields[held.slots[from]!];
          results = held.merged!;
        } else {
          layout.init(nums, 0, objs, 0);
          for (let i = from; i < to; i++) {
            const pane = held!.panes[i]!;
            const slot = held!.slots[i]!;
            if (i === from) fields = pane.fields[slot];
            layout.merge(nums, 0, objs, 0, pane.nums, slot * width, pane.objs, slot * objects);
          }
          layout.results(nums, 0, objs, 0, results);
          if (held && to - from > 1) {
            held.merged = results.slice();
            held.mergedFrom = from;
            held.mergedTo = to;
            held.mergedIn = emission;
          }
        }
        out(key, fields, results, start, end);
        if (held) {
          let drop = 0;
          while (drop < held.ends.length && held.ends[drop]! <= limit) drop++;
          if (drop === held.ends.length) this.#keyPanes.delete(key);
          else if (drop > 0) {
            held.ends.splice(0, drop);
            held.panes.splice(0, drop);
            held.slots.splice(0, drop);
            held.mergedIn = 0;
          }
        }
      }
      for (const paneEnd of this.#panes.keys()) {
        if (paneEnd <= limit) this.#panes.delete(paneEnd);
      }
      this.#lastPaneEnd = Number.NaN;
      this.#lastPane = undefined;
    }
  }

  openWindows(): number {
    let n = 0;
    for (const pane of this.#panes.values()) n += pane.keys.length;
    return n;
  }

  toJSON(): Snapshot {
    const layout = this.#layout;
    return {
      panes: [...this.#panes].map(([end, pane]) => [
        end,
        pane.keys.map((key, slot) => [
          key,
          pane.fields[slot] ?? [key],
          layout.toJSON(pane.nums, slot * layout.width, pane.objs, slot * layout.objects),
        ]),
      ]),
      pending: this.#single
        ? this.#ends.map((end) => [end, [...this.#panes.get(end)!.keys]])
        : this.#pending.toJSON(),
    };
  }

  restore(snapshot: Snapshot): void {
    const s = snapshot as {
      panes: [number, [string, string[], unknown[]][]][];
      pending: [number, string[]][];
    };
    const layout = this.#layout;
    this.#panes = new Map();
    this.#keyPanes = new Map();
    for (const [end, groups] of s.panes) {
      const pane = new Pane(layout);
      for (const [key, fields, accs] of groups) {
        const slot = pane.reopen(key, this.fieldsOf ? fields : undefined);
        layout.restore(pane.nums, slot * layout.width, pane.objs, slot * layout.objects, accs);
        if (!this.#single) this.#keyPaneAdd(key, end, pane, slot);
      }
      this.#panes.set(end, pane);
    }
    if (this.#single) this.#ends = [...this.#panes.keys()].sort((a, b) => a - b);
    else this.#pending.restore(s.pending);
    this.#lastPaneEnd = Number.NaN;
    this.#lastPane = undefined;
  }

  erase(ids: ReadonlySet<string>, dryRun: boolean): ErasedState {
    const objects = this.#layout.objects;
    const erased = new Set<string>();
    const changed: [number, Pane][] = [];
    let groups = 0;
    let values = 0;
    for (const [end, pane] of this.#panes) {
      const before = groups;
      for (let slot = 0; slot < pane.keys.length; slot++) {
        const key = pane.keys[slot]!;
        if (namesAny(pane.fields[slot] ?? [key], ids)) {
          erased.add(key);
          groups++;
        } else {
          values += eraseAccValues(pane.objs, ids, dryRun, slot * objects, (slot + 1) * objects);
        }
      }
      if (groups > before) changed.push([end, pane]);
    }
    if (groups === 0 || dryRun) return { groups, values };
    for (const key of erased) this.#keyPanes.delete(key);
    this.#pending.forget(erased);
    for (const [end, pane] of changed) {
      const kept = pane.without(erased);
      // Hopping: each kept key finds its group in the new pane, at its new slot.
      for (let slot = 0; slot < kept.keys.length; slot++) {
        const held = this.#keyPanes.get(kept.keys[slot]!);
        if (!held) continue;
        const at = held.panes.indexOf(pane);
        held.panes[at] = kept;
        held.slots[at] = slot;
        held.mergedIn = 0;
      }
      if (kept.keys.length > 0) this.#panes.set(end, kept);
      else {
        this.#panes.delete(end);
        if (this.#single) this.#ends.splice(this.#ends.indexOf(end), 1);
      }
    }
    this.#lastPaneEnd = Number.NaN;
    this.#lastPane = undefined;
    return { groups, values };
  }
}

/** Inserts `value` into the ascending `values` (mostly appended: values come nearly in order). */
function insertSorted(values: number[], value: number): void {
  let lo = values.length;
  if (lo > 0 && values[lo - 1]! > value) {
    lo = 0;
    let hi = values.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (values[mid]! < value) lo = mid + 1;
      else hi = mid;
    }
  }
  values.splice(lo, 0, value);
}

/** Inserts keeping `items` sorted by time, after any item of the same time (arrival order among ties). */
function insertByTime(items: Item[], item: Item): void {
  let lo = items.length;
  if (lo > 0 && items[lo - 1]!.t > item.t) {
    lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (items[mid]!.t <= item.t) lo = mid + 1;
      else hi = mid;
    }
  }
  items.splice(lo, 0, item);
}

interface Buffer {
  fields: string[];
  items: Item[];
}

function bufferToJSON(b: Buffer): [string[], [number, Value[]][]] {
  return [b.fields, b.items.map((i) => [i.t, i.values])];
}

function bufferFromJSON([fields, items]: [string[], [number, Value[]][]]): Buffer {
  return { fields, items: items.map(([t, values]) => ({ t, values })) };
}

class SlidingWindows implements Strategy {
  #buffers = new Map<string, Buffer>();
  readonly #results: AggregateResult[] = [];
  #pending = new PendingEnds();

  constructor(
    private readonly specs: AggregateSpec<Input>[],
    private readonly fieldsOf: FieldsOf,
    private readonly size: number,
  ) {}

  add(key: string, input: Input, time: number): void {
    let buffer = this.#buffers.get(key);
    if (!buffer) {
      buffer = { fields: this.fieldsOf(key, input), items: [] };
      this.#buffers.set(key, buffer);
    }
    insertByTime(buffer.items, { t: time, values: valuesOf(this.specs, input, time) });
    // The content changes when the event enters and when it leaves.
    this.#pending.register(time, key);
    this.#pending.register(time + this.size, key);
  }

  emit(watermark: number, out: Out): void {
    for (let next = this.#pending.next(watermark); next; next = this.#pending.next(watermark)) {
      const [end, keys] = next;
      const start = end - this.size;
      for (const key of keys) {
        const buffer = this.#buffers.get(key);
        if (!buffer) continue;
        let accs: Accumulator[] | undefined;
        for (const item of buffer.items) {
          if (item.t <= start) continue;
          if (item.t > end) break;
          accs ??= freshAccs(this.specs);
          for (let i = 0; i < accs.length; i++) accs[i]!.add(item.values[i], item.t);
        }
        if (accs) out(key, buffer.fields, resultsOf(accs, this.#results), start, end);
      }
    }
    // Outputs still to come end at or after the watermark, so they never hold an event at or before W − size.
    const limit = watermark - this.size;
    for (const [key, buffer] of this.#buffers) {
      let n = 0;
      while (n < buffer.items.length && buffer.items[n]!.t <= limit) n++;
      if (n > 0) buffer.items.splice(0, n);
      if (buffer.items.length === 0) this.#buffers.delete(key);
    }
  }

  openWindows(): number {
    let n = 0;
    for (const b of this.#buffers.values()) n += b.items.length;
    return n;
  }

  toJSON(): Snapshot {
    return {
      buffers: [...this.#buffers].map(([key, b]) => [key, bufferToJSON(b)]),
      pending: this.#pending.toJSON(),
    };
  }

  restore(snapshot: Snapshot): void {
    const s = snapshot as {
      buffers: [string, [string[], [number, Value[]][]]][];
      pending: [number, string[]][];
    };
    this.#buffers = new Map(s.buffers.map(([key, b]) => [key, bufferFromJSON(b)]));
    this.#pending.restore(s.pending);
  }

  erase(ids: ReadonlySet<string>, dryRun: boolean): ErasedState {
    const erased = new Set<string>();
    let values = 0;
    for (const [key, buffer] of this.#buffers) {
      if (namesAny(buffer.fields, ids)) erased.add(key);
      else values += eraseItemValues(buffer.items, ids, dryRun);
    }
    if (!dryRun) {
      for (const key of erased) this.#buffers.delete(key);
      this.#pending.forget(erased);
    }
    return { groups: erased.size, values };
  }
}

interface OpenSession {
  start: number;
  last: number;
  accs: Accumulator[];
}

interface SessionKey extends Buffer {
  open: OpenSession | undefined;
}

class SessionWindows implements Strategy {
  #keys = new Map<string, SessionKey>();
  readonly #results: AggregateResult[] = [];

  constructor(
    private readonly specs: AggregateSpec<Input>[],
    private readonly fieldsOf: FieldsOf,
    private readonly timeout: number,
    private readonly maxDuration: number,
  ) {}

  #closesAt(session: OpenSession): number {
    return Math.min(session.last + this.timeout, sessionCutoff(session.start, this.maxDuration));
  }

  /** Emits the key's open session as a finished window and forgets it. */
  #closeOpen(key: string, state: SessionKey, open: OpenSession, out: Out): void {
    out(key, state.fields, resultsOf(open.accs, this.#results), open.start, this.#closesAt(open));
    state.open = undefined;
  }

  add(key: string, input: Input, time: number): void {
    let state = this.#keys.get(key);
    if (!state) {
      state = { fields: this.fieldsOf(key, input), items: [], open: undefined };
      this.#keys.set(key, state);
    }
    // Held until the watermark passes it: only then is every earlier event of the key known.
    insertByTime(state.items, { t: time, values: valuesOf(this.specs, input, time) });
  }

  emit(watermark: number, out: Out): void {
    for (const [key, state] of this.#keys) {
      let n = 0;
      for (; n < state.items.length; n++) {
        const item = state.items[n]!;
        if (!(item.t < watermark)) break;
        if (state.open && item.t > this.#closesAt(state.open)) {
          this.#closeOpen(key, state, state.open, out);
        }
        state.open ??= { start: item.t, last: item.t, accs: freshAccs(this.specs) };
        state.open.last = item.t;
        const accs = state.open.accs;
        for (let i = 0; i < accs.length; i++) accs[i]!.add(item.values[i], item.t);
      }
      if (n > 0) state.items.splice(0, n);
      if (state.open && this.#closesAt(state.open) < watermark) {
        this.#closeOpen(key, state, state.open, out);
      }
      if (!state.open && state.items.length === 0) this.#keys.delete(key);
    }
  }

  openWindows(): number {
    let n = 0;
    for (const s of this.#keys.values()) n += s.items.length + (s.open ? 1 : 0);
    return n;
  }

  toJSON(): Snapshot {
    return [...this.#keys].map(([key, s]) => [
      key,
      bufferToJSON(s),
      s.open ? [s.open.start, s.open.last, s.open.accs.map((a) => a.toJSON())] : null,
    ]);
  }

  restore(snapshot: Snapshot): void {
    const s = snapshot as [string, [string[], [number, Value[]][]], [number, number, unknown[]] | null][];
    this.#keys = new Map(
      s.map(([key, buffer, open]) => [
        key,
        {
          ...bufferFromJSON(buffer),
          open: open ? { start: open[0], last: open[1], accs: restoreAccs(this.specs, open[2]) } : undefined,
        },
      ]),
    );
  }

  erase(ids: ReadonlySet<string>, dryRun: boolean): ErasedState {
    let groups = 0;
    let values = 0;
    for (const [key, state] of this.#keys) {
      if (namesAny(state.fields, ids)) {
        if (!dryRun) this.#keys.delete(key);
        groups++;
      } else {
        values += eraseItemValues(state.items, ids, dryRun);
        if (state.open) values += eraseAccValues(state.open.accs, ids, dryRun);
      }
    }
    return { groups, values };
  }
}
