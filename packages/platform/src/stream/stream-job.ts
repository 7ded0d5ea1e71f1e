/**
 * The declarative shape of a stream job: what it reads, how it groups, over which window, what it computes and
 * where the results go. Jobs read the event log (`StoredEvent`) or, with `from`, the result rows of another job,
 * as an ASA query reads a previous step (the rows' time is their window end). See docs/stream-jobs.md.
 */
import type { StoredEvent } from '@deepref/schema';
import type { AggregateSpec, Scalar, Value } from './aggregates.ts';
import type { WindowSpec } from './windows.ts';

/** One window's result for one key: a row of the job's output, timestamped by its window end. */
export interface WindowResult {
  job: string;
  /** The group values joined (one value: the value itself); with `windowEnd`, the row's identity. */
  key: string;
  group: Record<string, string>;
  /** Exclusive start, ms since the epoch (a session's is its first event, inclusive). */
  windowStart: number;
  /** Inclusive end, ms since the epoch: the row's timestamp (`System.Timestamp()`). */
  windowEnd: number;
  values: Record<string, Scalar>;
}

export interface StreamJob<In = StoredEvent> {
  /** Unique, snake_case: it names the rows in the warehouse and the keys in the real-time store. */
  name: string;
  description?: string;
  /** Another job whose result rows this job reads; omitted, the job reads the event log. */
  from?: string;
  /** Inputs to keep (ASA's WHERE on the input). */
  where?: (input: In) => boolean;
  /** GROUP BY: output name → value. An input whose group value is null or undefined is skipped. */
  groupBy: Record<string, (input: In) => Value>;
  window: WindowSpec;
  aggregates: Record<string, AggregateSpec<In>>;
  /** Further values computed from the aggregates, e.g. a rate. */
  derive?: (values: Record<string, Scalar>, window: { start: number; end: number }) => Record<string, Scalar>;
  /** Rows to keep (HAVING). */
  having?: (row: WindowResult) => boolean;
  /** Names of the sinks that receive the rows (`warehouse`, `realtime`, `alerts`, or any registered). */
  sinks?: string[];
}

/** A job of any input type, as the engine holds them. */
export type AnyStreamJob = StreamJob<never>;

const jobName = /^[a-z][a-z0-9_]{0,62}$/;

export function defineStreamJob<In = StoredEvent>(job: StreamJob<NoInfer<In>>): StreamJob<In> {
  if (!jobName.test(job.name)) throw new Error(`stream job name "${job.name}" must be snake_case`);
  if (Object.keys(job.aggregates).length === 0) throw new Error(`stream job ${job.name} has no aggregates`);
  return job;
}

/** A stream job reading another job's rows. */
export function defineDerivedJob(job: StreamJob<WindowResult> & { from: string }): StreamJob<WindowResult> {
  return defineStreamJob<WindowResult>(job);
}

/** Identifies what a job's checkpointed state means, so state from a changed definition is not reused. */
export function jobSignature(job: AnyStreamJob): string {
  const aggregates = Object.entries(job.aggregates).map(([name, a]) => `${name}:${a.kind}`);
  return JSON.stringify([job.from ?? null, job.window, Object.keys(job.groupBy), aggregates]);
}
