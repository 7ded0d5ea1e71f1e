/**
 * The stream processor: the event-log consumer that runs the stream engine and hands its rows to the sinks.
 * Per batch: the engine takes the records, the sinks write the rows the batch closed (each sink is idempotent by
 * job, key and window end), then — at most every `checkpointEveryMs` — the engine's state and offset are saved
 * together. After a crash or a failed batch it restores the last checkpoint and reads on from its offset: the rows
 * it emits again are the same rows, written again over themselves, so the sinks end as after a run that never
 * stopped.
 */
import type { EventLog } from '../bus/event-log.ts';
import type { Metrics } from '../ops/metrics.ts';
import { type LogConsumer, progressToMetrics, runConsumer } from '../storage/log-consumer.ts';
import type { CheckpointStore } from './checkpoint.ts';
import { type EventTimeCounts, type EventTimePolicy, emptyCounts } from './event-time.ts';
import { StreamEngine, type SubjectState } from './stream-engine.ts';
import type { AnyStreamJob, WindowResult } from './stream-job.ts';

export const streamConsumer = 'stream';

/** Where result rows go. `write` must be idempotent by (job, key, windowEnd): rows are written again after a crash. */
export interface StreamSink {
  write(rows: readonly WindowResult[]): Promise<void>;
  close?(): Promise<void>;
}

export interface StreamProcessorOptions {
  log: Pick<EventLog, 'read' | 'head' | 'commitOffset'>;
  jobs: readonly AnyStreamJob[];
  checkpoints: CheckpointStore;
  /** Sinks by the name jobs use in `sinks`. */
  sinks: Record<string, StreamSink>;
  policy?: Partial<EventTimePolicy>;
  metrics?: Metrics;
  /** Most records per batch (default 5,000). */
  batchSize?: number;
  /** Sleep once caught up, in ms (default 500). */
  idleMs?: number;
  /** Least time between two checkpoints, in ms (default 1,000; 0 checkpoints every batch). */
  checkpointEveryMs?: number;
  onError?: (error: unknown, consumer: string) => void;
  /**
   * The wall clock. Given, an idle log no longer holds windows open: the watermark moves to now − late-arrival
   * tolerance, a time before which no later arrival can be stamped, so the rows are the ones a busy log gives.
   */
  clock?: () => number;
  /** Recomputes backfilled days from the warehouse (see backfill.ts); rows go to `sinks` only. */
  backfill?: {
    /** The offset up to which the warehouse holds the log. */
    loadedOffset: () => Promise<number>;
    recompute: (day: number) => Promise<WindowResult[]>;
    sinks: readonly string[];
  };
}

export interface StreamProcessor {
  readonly consumer: LogConsumer;
  /** The running engine (undefined before the first batch). */
  readonly engine: StreamEngine | undefined;
  start(): void;
  /** Processes up to the log's head as it is now, and checkpoints. */
  drain(): Promise<void>;
  /** End of a bounded input: closes every open window, writes the rows, checkpoints. */
  finish(): Promise<void>;
  stop(options?: { drain?: boolean }): Promise<void>;
  /** What the open windows hold of a subject's ids (see `StreamEngine.findSubject`). */
  findSubject(ids: readonly string[]): Promise<SubjectState>;
  /**
   * Erases a subject's ids from the open windows (`StreamEngine.eraseSubject`) between two batches, and checkpoints
   * at once, so that neither a later window nor the checkpoint file holds them.
   */
  eraseSubject(ids: readonly string[]): Promise<SubjectState>;
}

export function createStreamProcessor(options: StreamProcessorOptions): StreamProcessor {
  const { log, jobs, checkpoints, sinks, policy = {}, metrics } = options;
  const checkpointEveryMs = options.checkpointEveryMs ?? 1_000;
  for (const job of jobs) {
    for (const sink of job.sinks ?? []) {
      if (!sinks[sink]) throw new Error(`stream job ${job.name} writes to unknown sink ${sink}`);
    }
  }
  const sinksOf = new Map(jobs.map((job) => [job.name, job.sinks ?? []]));
  let engine: StreamEngine | undefined;
  let lastCheckpoint = 0;
  let reported: EventTimeCounts = emptyCounts();
  const reportedRows = new Map<string, number>();

  async function write(rows: readonly WindowResult[]): Promise<void> {
    if (rows.length === 0) return;
    const bySink = new Map<string, WindowResult[]>();
    for (const row of rows) {
      for (const sink of sinksOf.get(row.job) ?? []) {
        let list = bySink.get(sink);
        if (!list) {
          list = [];
          bySink.set(sink, list);
        }
        list.push(row);
      }
    }
    for (const [name, list] of bySink) await sinks[name]!.write(list);
  }

  // The idle loop and drain() both recompute; one at a time, or both would write the same rows at once.
  let backfillTurn: Promise<unknown> = Promise.resolve();
  function recomputeBackfill(): Promise<boolean> {
    const turn = backfillTurn.then(recomputeDueDays, recomputeDueDays);
    backfillTurn = turn.catch(() => undefined);
    return turn;
  }

  /** Recomputes the backfilled days the warehouse now holds; true when any was done. */
  async function recomputeDueDays(): Promise<boolean> {
    const backfill = options.backfill;
    if (!engine || !backfill) return false;
    const loaded = await backfill.loadedOffset();
    const days = engine.backfillDays(loaded);
    for (const day of days) {
      const rows = await backfill.recompute(day);
      for (const name of backfill.sinks) {
        const sink = sinks[name];
        const wanted = rows.filter((row) => sinksOf.get(row.job)?.includes(name));
        if (sink && wanted.length) await sink.write(wanted);
      }
      engine.backfillDone(day, loaded);
      metrics?.streamBackfillDays.inc();
    }
    return days.length > 0;
  }

  async function restoreEngine(): Promise<StreamEngine> {
    const snapshot = await checkpoints.load();
    return snapshot ? StreamEngine.restore(jobs, snapshot, policy) : new StreamEngine(jobs, policy);
  }

  /**
   * The engine the sinks agree with, on the consumer's turn. With no position (before the first batch, or after a
   * failed one, whose rows may not all be written) that is the checkpoint's, which the next batch would restore.
   */
  async function settledEngine(): Promise<StreamEngine> {
    if (consumer.position === undefined || !engine) engine = await restoreEngine();
    return engine;
  }

  async function checkpoint(): Promise<void> {
    if (!engine) return;
    await checkpoints.save(engine.toJSON());
    lastCheckpoint = Date.now();
    await log.commitOffset(streamConsumer, engine.offset);
  }

  function report(): void {
    if (!metrics || !engine) return;
    const counts = engine.timeline.counts;
    const late = metrics.streamLateEvents;
    late.inc({ kind: 'late', action: 'adjusted' }, counts.lateAdjusted - reported.lateAdjusted);
    late.inc({ kind: 'late', action: 'dropped' }, counts.lateDropped - reported.lateDropped);
    late.inc({ kind: 'early', action: 'adjusted' }, counts.earlyAdjusted - reported.earlyAdjusted);
    late.inc({ kind: 'early', action: 'dropped' }, counts.earlyDropped - reported.earlyDropped);
    late.inc(
      { kind: 'out_of_order', action: 'adjusted' },
      counts.outOfOrderAdjusted - reported.outOfOrderAdjusted,
    );
    late.inc(
      { kind: 'out_of_order', action: 'dropped' },
      counts.outOfOrderDropped - reported.outOfOrderDropped,
    );
    metrics.streamEvents.inc({ outcome: 'on_time' }, counts.onTime - reported.onTime);
    metrics.streamEvents.inc({ outcome: 'backfill' }, counts.backfill - reported.backfill);
    metrics.streamEvents.inc({ outcome: 'untimed' }, counts.untimed - reported.untimed);
    metrics.streamEvents.inc({ outcome: 'arrival_time' }, counts.arrivalFallback - reported.arrivalFallback);
    reported = { ...counts };
    for (const [job, c] of Object.entries(engine.counts())) {
      metrics.streamRows.inc({ job }, c.rows - (reportedRows.get(job) ?? 0));
      reportedRows.set(job, c.rows);
      metrics.streamOpenWindows.set({ job }, c.openWindows);
    }
    if (Number.isFinite(engine.watermark)) metrics.streamWatermark.set(engine.watermark / 1000);
  }

  const consumer = runConsumer({
    name: streamConsumer,
    log,
    batchSize: options.batchSize ?? 5_000,
    idleMs: options.idleMs ?? 500,
    ...(options.onError ? { onError: options.onError } : {}),
    ...(metrics ? { onProgress: progressToMetrics(metrics) } : {}),
    // On start and after any failure: back to the last checkpoint, whose rows the sinks already hold.
    startAfter: async () => {
      engine = await restoreEngine();
      // Counters on /metrics only ever go up: carry on from what was reported, not from the checkpoint.
      reported = { ...engine.timeline.counts };
      for (const [job, c] of Object.entries(engine.counts())) reportedRows.set(job, c.rows);
      return engine.offset;
    },
    handle: async (records) => {
      const rows = engine!.process(records);
      await write(rows);
      if (Date.now() - lastCheckpoint >= checkpointEveryMs) await checkpoint();
      report();
    },
    onIdle: async () => {
      if (!engine) return;
      const rows = options.clock
        ? engine.advanceTo(options.clock() - engine.timeline.policy.lateArrivalToleranceMs)
        : [];
      await write(rows);
      const recomputed = await recomputeBackfill();
      if (rows.length || recomputed) await checkpoint();
      report();
    },
  });

  return {
    consumer,
    get engine() {
      return engine;
    },
    start: () => consumer.start(),
    async drain() {
      await consumer.drain();
      await recomputeBackfill();
      await checkpoint();
    },
    async finish() {
      await consumer.drain();
      if (!engine) return;
      await write(engine.finish());
      await checkpoint();
      report();
    },
    async stop(stopOptions = {}) {
      await consumer.stop(stopOptions);
      await checkpoint();
    },
    findSubject: (ids) => consumer.inTurn(async () => (await settledEngine()).findSubject(ids)),
    eraseSubject: (ids) =>
      consumer.inTurn(async () => {
        const erased = (await settledEngine()).eraseSubject(ids);
        // Even with nothing erased now: the file may be older than the state, and hold windows closed since.
        await checkpoint();
        return erased;
      }),
  };
}
