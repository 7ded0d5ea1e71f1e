/**
 * The stream engine: event-log records in, window result rows out. It stamps every event once at the input
 * (`EventTimeline`), hands it to each job that reads the log, and whenever the watermark moves, closes the windows
 * that end before it, feeding each job's rows to the jobs that read them. Its whole state, with the offset of the
 * last record it took, is one JSON snapshot: restored, it goes on exactly as if it had never stopped.
 */
import type { LogRecord } from '../bus/event-log.ts';
import { EventTimeline, type EventTimePolicy, type EventTimeSnapshot, parseTime } from './event-time.ts';
import { type AnyStreamJob, jobSignature, type WindowResult } from './stream-job.ts';
import { type ErasedState, WindowedAggregation } from './windowed-aggregation.ts';

export interface EngineSnapshot {
  version: 1;
  /** The offset of the last record the state includes. */
  offset: number;
  timeline: EventTimeSnapshot;
  jobs: Record<string, { signature: string; state: unknown }>;
  /** UTC days (start, ms) that backfill events fell on, each with the offset of the last such event. */
  backfill?: [number, number][];
}

const DAY_MS = 86_400_000;

/** Per job, what its open windows hold of a subject (jobs holding nothing are left out). */
export type SubjectState = Record<string, ErasedState>;

export interface JobCounts {
  /** Inputs taken into a window (after WHERE and grouping). */
  inputs: number;
  /** Rows emitted. */
  rows: number;
  /** Key-window states held now. */
  openWindows: number;
}

/** Orders jobs so that each comes after the job it reads; rejects unknown sources and cycles. */
function topologicalOrder(jobs: readonly AnyStreamJob[]): AnyStreamJob[] {
  const byName = new Map(jobs.map((j) => [j.name, j]));
  if (byName.size !== jobs.length) throw new Error('stream job names must be unique');
  const ordered: AnyStreamJob[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (job: AnyStreamJob) => {
    if (state.get(job.name) === 'done') return;
    if (state.get(job.name) === 'visiting')
      throw new Error(`stream jobs read each other in a cycle at ${job.name}`);
    state.set(job.name, 'visiting');
    if (job.from !== undefined) {
      const source = byName.get(job.from);
      if (!source) throw new Error(`stream job ${job.name} reads unknown job ${job.from}`);
      visit(source);
    }
    state.set(job.name, 'done');
    ordered.push(job);
  };
  for (const job of jobs) visit(job);
  return ordered;
}

export class StreamEngine {
  readonly timeline: EventTimeline;
  offset = 0;
  readonly #operators: WindowedAggregation[];
  /** Operators reading the event log, as a plain array for the per-event loop. */
  readonly #fromLog: WindowedAggregation[];
  readonly #policy: Partial<EventTimePolicy>;
  /** Days awaiting recomputation from the warehouse → the offset of the last backfill event seen for each. */
  readonly #backfill = new Map<number, number>();

  constructor(jobs: readonly AnyStreamJob[], policy: Partial<EventTimePolicy> = {}) {
    this.#policy = policy;
    this.timeline = new EventTimeline(policy);
    this.#operators = topologicalOrder(jobs).map((job) => new WindowedAggregation(job));
    this.#fromLog = this.#operators.filter((op) => op.job.from === undefined);
  }

  get watermark(): number {
    return this.timeline.watermark;
  }

  /** Takes the records (ascending offsets) and returns the rows of the windows their watermark closed. */
  process(records: readonly LogRecord[]): WindowResult[] {
    const timeline = this.timeline;
    const fromLog = this.#fromLog;
    for (const record of records) {
      if (record.offset <= this.offset) continue;
      this.offset = record.offset;
      const event = record.event;
      const eventTime = parseTime(event.timestamp);
      const backfillBefore = timeline.counts.backfill;
      const time = timeline.admit(eventTime, parseTime(event.receivedAt));
      if (time === undefined) {
        if (timeline.counts.backfill !== backfillBefore) {
          this.#backfill.set(Math.floor(eventTime / DAY_MS) * DAY_MS, record.offset);
        }
        continue;
      }
      for (let i = 0; i < fromLog.length; i++) fromLog[i]!.add(event as never, time);
    }
    return this.#advance(timeline.watermark);
  }

  /**
   * Moves the watermark to `time` if that is later, closing the windows it passes; for an idle input, where no
   * event moves it. Safe only for a time no future event can be stamped before: the wall clock minus the
   * late-arrival tolerance, since every later arrival is admitted at or after that (see `EventTimeline`).
   */
  advanceTo(time: number): WindowResult[] {
    if (!(time > this.timeline.watermark)) return [];
    this.timeline.watermark = time;
    return this.#advance(time);
  }

  /** The backfilled days (UTC day start, ms) whose last backfill event is at or before `offset`. */
  backfillDays(offset: number): number[] {
    return [...this.#backfill].filter(([, seen]) => seen <= offset).map(([day]) => day);
  }

  /** Marks `day` recomputed, unless a backfill event for it arrived after `offset` (then it stays due). */
  backfillDone(day: number, offset: number): void {
    const seen = this.#backfill.get(day);
    if (seen !== undefined && seen <= offset) this.#backfill.delete(day);
  }

  /** End of input (a bounded replay, a test): closes every window and returns their rows. */
  finish(): WindowResult[] {
    return this.#advance(Number.POSITIVE_INFINITY);
  }

  #advance(watermark: number): WindowResult[] {
    const all: WindowResult[] = [];
    const byJob = new Map<string, WindowResult[]>();
    for (const op of this.#operators) {
      const from = op.job.from;
      if (from !== undefined) {
        // A previous step's rows are timestamped by their window end; none still to come ends before the watermark.
        for (const row of byJob.get(from) ?? []) op.add(row as never, row.windowEnd);
      }
      const rows = op.emit(watermark);
      byJob.set(op.job.name, rows);
      for (const row of rows) all.push(row);
    }
    return all;
  }

  /**
   * A privacy erasure: takes out of every job's open windows the groups keyed by one of `ids` (a user id and the
   * anonymous ids linked to it) and the ids kept as values in other groups (see `WindowedAggregation.erase`), so no
   * window closing later writes a row that names them. Returns what went, per job.
   */
  eraseSubject(ids: readonly string[]): SubjectState {
    return this.#erase(ids, false);
  }

  /** What `eraseSubject(ids)` would take out, leaving the state as it is. */
  findSubject(ids: readonly string[]): SubjectState {
    return this.#erase(ids, true);
  }

  #erase(ids: readonly string[], dryRun: boolean): SubjectState {
    const wanted = new Set(ids);
    const erased: SubjectState = {};
    for (const op of this.#operators) {
      const state = op.erase(wanted, dryRun);
      if (state.groups > 0 || state.values > 0) erased[op.job.name] = state;
    }
    return erased;
  }

  counts(): Record<string, JobCounts> {
    const out: Record<string, JobCounts> = {};
    for (const op of this.#operators) {
      out[op.job.name] = { inputs: op.inputs, rows: op.emitted, openWindows: op.openWindows() };
    }
    return out;
  }

  toJSON(): EngineSnapshot {
    const jobs: EngineSnapshot['jobs'] = {};
    for (const op of this.#operators) {
      jobs[op.job.name] = { signature: jobSignature(op.job), state: op.toJSON() };
    }
    return {
      version: 1,
      offset: this.offset,
      timeline: this.timeline.toJSON(),
      jobs,
      ...(this.#backfill.size ? { backfill: [...this.#backfill] } : {}),
    };
  }

  /**
   * An engine for `jobs` holding the snapshot's state. A job whose definition changed since (window, grouping,
   * aggregates, source) starts empty: its old state would mean something else.
   */
  static restore(
    jobs: readonly AnyStreamJob[],
    snapshot: EngineSnapshot,
    policy: Partial<EventTimePolicy> = {},
  ): StreamEngine {
    const engine = new StreamEngine(jobs, policy);
    engine.offset = snapshot.offset;
    const timeline = EventTimeline.restore(snapshot.timeline, engine.#policy);
    engine.timeline.watermark = timeline.watermark;
    engine.timeline.counts = timeline.counts;
    for (const [day, offset] of snapshot.backfill ?? []) engine.#backfill.set(day, offset);
    for (const op of engine.#operators) {
      const saved = snapshot.jobs[op.job.name];
      if (saved && saved.signature === jobSignature(op.job)) op.restore(saved.state);
    }
    return engine;
  }
}
