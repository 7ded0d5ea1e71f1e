/**
 * One job's keyed, windowed aggregation: inputs come in with their final event time (see `event-time.ts`), and
 * `emit(watermark)` returns the rows of every window that ends before the watermark, then frees their state.
 * Memory holds only windows still open: panes for tumbling and hopping windows, the events of the last `size` for
 * sliding windows, and the not-yet-final events and open session per key for session windows.
 *
 * Hopping windows are built from panes of gcd(size, hop), so an input updates one pane however many windows
 * hold it, and a window is the merge of its size/gcd panes when it closes.
 */
import type { Accumulator, AggregateSpec, Scalar, Value } from './aggregates.ts';
import type { AnyStreamJob, WindowResult } from './stream-job.ts';
import { alignUp, gcd, sessionCutoff } from './windows.ts';

type Input = never;
type Snapshot = unknown;

interface Group {
  fields: string[];
  accs: Accumulator[];
}

interface Item {
  t: number;
  values: Value[];
}

interface Strategy {
  add(key: string, input: Input, time: number): void;
  emit(
    watermark: number,
    out: (key: string, fields: string[], accs: Accumulator[], start: number, end: number) => void,
  ): void;
  openWindows(): number;
  toJSON(): Snapshot;
  restore(snapshot: Snapshot): void;
}

const keySeparator = '\u001f';

export class WindowedAggregation {
  readonly job: AnyStreamJob;
  readonly #specs: AggregateSpec<Input>[];
  readonly #names: string[];
  readonly #groupNames: string[];
  readonly #groupOf: ((input: Input) => Value)[];
  readonly #strategy: Strategy;
  inputs = 0;
  emitted = 0;

  constructor(job: AnyStreamJob) {
    this.job = job;
    this.#names = Object.keys(job.aggregates);
    this.#specs = Object.values(job.aggregates);
    this.#groupNames = Object.keys(job.groupBy);
    this.#groupOf = Object.values(job.groupBy);
    const fieldsOf = (input: Input) => this.#groupOf.map((of) => String(of(input)));
    const window = job.window;
    if (window.kind === 'tumbling') {
      this.#strategy = new PaneWindows(this.#specs, fieldsOf, window.sizeMs, window.sizeMs, window.offsetMs);
    } else if (window.kind === 'hopping') {
      this.#strategy = new PaneWindows(this.#specs, fieldsOf, window.sizeMs, window.hopMs, window.offsetMs);
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
      key = '';
      for (let i = 0; i < groupOf.length; i++) {
        const v = groupOf[i]!(input);
        if (v === null || v === undefined) return false;
        key = i === 0 ? String(v) : `${key}${keySeparator}${v}`;
      }
    }
    this.#strategy.add(key, input, time);
    this.inputs += 1;
    return true;
  }

  /** The rows of every window ending before `watermark`, after `derive` and `having`. */
  emit(watermark: number): WindowResult[] {
    const rows: WindowResult[] = [];
    const job = this.job;
    this.#strategy.emit(watermark, (key, fields, accs, start, end) => {
      let values: Record<string, Scalar> = {};
      for (let i = 0; i < accs.length; i++) {
        const result = accs[i]!.result();
        if (result !== null && typeof result === 'object') Object.assign(values, result);
        else values[this.#names[i]!] = result;
      }
      if (job.derive) values = { ...values, ...job.derive(values, { start, end }) };
      const group: Record<string, string> = {};
      for (let i = 0; i < fields.length; i++) group[this.#groupNames[i]!] = fields[i]!;
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

function restoreAccs(specs: AggregateSpec<Input>[], snapshots: unknown[]): Accumulator[] {
  return specs.map((s, i) => s.restore(snapshots[i]));
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
      // Mostly appended in order; a binary search keeps `ends` sorted when not.
      const ends = this.ends;
      let lo = ends.length;
      if (lo > 0 && ends[lo - 1]! > end) {
        lo = 0;
        let hi = ends.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (ends[mid]! < end) lo = mid + 1;
          else hi = mid;
        }
      }
      ends.splice(lo, 0, end);
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

  restore(snapshot: [number, string[]][]): void {
    this.ends = snapshot.map(([end]) => end);
    this.keys = new Map(snapshot.map(([end, keys]) => [end, new Set(keys)]));
  }
}

class PaneWindows implements Strategy {
  readonly #pane: number;
  #panes = new Map<number, Map<string, Group>>();
  #pending = new PendingEnds();
  #lastPaneEnd = Number.NaN;
  #lastPane: Map<string, Group> | undefined;

  constructor(
    private readonly specs: AggregateSpec<Input>[],
    private readonly fieldsOf: (input: Input) => string[],
    private readonly size: number,
    private readonly hop: number,
    private readonly offset: number,
  ) {
    this.#pane = gcd(size, hop);
  }

  add(key: string, input: Input, time: number): void {
    const paneEnd = alignUp(time, this.#pane, this.offset % this.#pane);
    let pane: Map<string, Group> | undefined;
    if (paneEnd === this.#lastPaneEnd) {
      pane = this.#lastPane!;
    } else {
      pane = this.#panes.get(paneEnd);
      if (!pane) {
        pane = new Map();
        this.#panes.set(paneEnd, pane);
      }
      this.#lastPaneEnd = paneEnd;
      this.#lastPane = pane;
    }
    let group = pane.get(key);
    if (!group) {
      group = { fields: this.fieldsOf(input), accs: freshAccs(this.specs) };
      pane.set(key, group);
      // Every window holding the pane: ends k·hop + offset in [paneEnd, paneEnd + size).
      for (let end = alignUp(paneEnd, this.hop, this.offset); end < paneEnd + this.size; end += this.hop) {
        this.#pending.register(end, key);
      }
    }
    const accs = group.accs;
    const specs = this.specs;
    for (let i = 0; i < accs.length; i++) accs[i]!.add(specs[i]!.of?.(input, time), time);
  }

  emit(
    watermark: number,
    out: (key: string, fields: string[], accs: Accumulator[], start: number, end: number) => void,
  ): void {
    const single = this.#pane === this.size;
    for (let next = this.#pending.next(watermark); next; next = this.#pending.next(watermark)) {
      const [end, keys] = next;
      const start = end - this.size;
      for (const key of keys) {
        if (single) {
          const group = this.#panes.get(end)!.get(key)!;
          out(key, group.fields, group.accs, start, end);
          continue;
        }
        let fields: string[] | undefined;
        const accs = freshAccs(this.specs);
        for (let paneEnd = start + this.#pane; paneEnd <= end; paneEnd += this.#pane) {
          const group = this.#panes.get(paneEnd)?.get(key);
          if (!group) continue;
          fields ??= group.fields;
          for (let i = 0; i < accs.length; i++) accs[i]!.merge(group.accs[i]!);
        }
        out(key, fields!, accs, start, end);
      }
      // No window still to come (ends from end + hop) holds a pane ending at or before end + hop − size.
      const limit = end + this.hop - this.size;
      for (const paneEnd of this.#panes.keys()) {
        if (paneEnd <= limit) this.#panes.delete(paneEnd);
      }
      this.#lastPaneEnd = Number.NaN;
      this.#lastPane = undefined;
    }
  }

  openWindows(): number {
    let n = 0;
    for (const pane of this.#panes.values()) n += pane.size;
    return n;
  }

  toJSON(): Snapshot {
    return {
      panes: [...this.#panes].map(([end, pane]) => [
        end,
        [...pane].map(([key, g]) => [key, g.fields, g.accs.map((a) => a.toJSON())]),
      ]),
      pending: this.#pending.toJSON(),
    };
  }

  restore(snapshot: Snapshot): void {
    const s = snapshot as {
      panes: [number, [string, string[], unknown[]][]][];
      pending: [number, string[]][];
    };
    this.#panes = new Map(
      s.panes.map(([end, groups]) => [
        end,
        new Map(groups.map(([key, fields, accs]) => [key, { fields, accs: restoreAccs(this.specs, accs) }])),
      ]),
    );
    this.#pending.restore(s.pending);
    this.#lastPaneEnd = Number.NaN;
    this.#lastPane = undefined;
  }
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
  #pending = new PendingEnds();

  constructor(
    private readonly specs: AggregateSpec<Input>[],
    private readonly fieldsOf: (input: Input) => string[],
    private readonly size: number,
  ) {}

  add(key: string, input: Input, time: number): void {
    let buffer = this.#buffers.get(key);
    if (!buffer) {
      buffer = { fields: this.fieldsOf(input), items: [] };
      this.#buffers.set(key, buffer);
    }
    insertByTime(buffer.items, { t: time, values: valuesOf(this.specs, input, time) });
    // The content changes when the event enters and when it leaves.
    this.#pending.register(time, key);
    this.#pending.register(time + this.size, key);
  }

  emit(
    watermark: number,
    out: (key: string, fields: string[], accs: Accumulator[], start: number, end: number) => void,
  ): void {
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
        if (accs) out(key, buffer.fields, accs, start, end);
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

  constructor(
    private readonly specs: AggregateSpec<Input>[],
    private readonly fieldsOf: (input: Input) => string[],
    private readonly timeout: number,
    private readonly maxDuration: number,
  ) {}

  #closesAt(session: OpenSession): number {
    return Math.min(session.last + this.timeout, sessionCutoff(session.start, this.maxDuration));
  }

  add(key: string, input: Input, time: number): void {
    let state = this.#keys.get(key);
    if (!state) {
      state = { fields: this.fieldsOf(input), items: [], open: undefined };
      this.#keys.set(key, state);
    }
    // Held until the watermark passes it: only then is every earlier event of the key known.
    insertByTime(state.items, { t: time, values: valuesOf(this.specs, input, time) });
  }

  emit(
    watermark: number,
    out: (key: string, fields: string[], accs: Accumulator[], start: number, end: number) => void,
  ): void {
    for (const [key, state] of this.#keys) {
      let n = 0;
      for (; n < state.items.length; n++) {
        const item = state.items[n]!;
        if (!(item.t < watermark)) break;
        if (state.open && item.t > this.#closesAt(state.open)) {
          out(key, state.fields, state.open.accs, state.open.start, this.#closesAt(state.open));
          state.open = undefined;
        }
        state.open ??= { start: item.t, last: item.t, accs: freshAccs(this.specs) };
        state.open.last = item.t;
        const accs = state.open.accs;
        for (let i = 0; i < accs.length; i++) accs[i]!.add(item.values[i], item.t);
      }
      if (n > 0) state.items.splice(0, n);
      if (state.open && this.#closesAt(state.open) < watermark) {
        out(key, state.fields, state.open.accs, state.open.start, this.#closesAt(state.open));
        state.open = undefined;
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
}
