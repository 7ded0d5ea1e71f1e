/**
 * The scheduler (Data Factory's triggers in the reference): named jobs on UTC cron schedules, each run recorded
 * in the MetaStore's `job_runs` with its report, runnable on demand (`deepref jobs run NAME`). Runs of one job
 * never overlap. With several processes, only the holder of the leader lock runs schedules (DESIGN.md: one
 * leader, a lock in PostgreSQL); a single process is always the leader.
 */
import { randomUUID } from 'node:crypto';
import { Cron } from 'croner';
import { DeeprefError } from '../errors.ts';
import type { JobRunsTable, MetaStore } from '../storage/meta-store.ts';

export interface JobContext {
  /** The time the run is for (its scheduled time, or now when run by hand). */
  now: Date;
  /** What started the run. */
  trigger: JobRunsTable['trigger'];
  /** Aborted when the scheduler stops; long jobs check it between steps. */
  signal: AbortSignal;
  /** A line of progress for the log. */
  progress(message: string): void;
}

export interface ScheduledJob {
  /** kebab-case, unique. */
  name: string;
  description: string;
  /** Cron in UTC (5 or 6 fields), or null for a job only run by hand. */
  schedule: string | null;
  /** Does the work; what it returns is stored as the run's report. */
  run(context: JobContext): Promise<Record<string, unknown>>;
}

/** Who may run schedules when several processes share one MetaStore. */
export interface LeaderLock {
  /** True while this process holds the lock (taken on first call if free). */
  isLeader(): Promise<boolean>;
  release(): Promise<void>;
}

/** A process alone on its stores is always the leader. */
export const soleLeader: LeaderLock = { isLeader: async () => true, release: async () => undefined };

export interface JobRun {
  id: string;
  job: string;
  trigger: JobRunsTable['trigger'];
  startedAt: string;
  finishedAt: string | null;
  status: JobRunsTable['status'];
  report: Record<string, unknown> | null;
}

export interface SchedulerOptions {
  jobs: readonly ScheduledJob[];
  meta: MetaStore;
  logger: { info(obj: object, msg: string): void; error(obj: object, msg: string): void };
  lock?: LeaderLock;
}

export class Scheduler {
  readonly #jobs: Map<string, ScheduledJob>;
  readonly #meta: MetaStore;
  readonly #logger: SchedulerOptions['logger'];
  readonly #lock: LeaderLock;
  readonly #crons: Cron[] = [];
  readonly #running = new Map<string, Promise<JobRun>>();
  readonly #abort = new AbortController();

  constructor(options: SchedulerOptions) {
    this.#jobs = new Map(options.jobs.map((job) => [job.name, job]));
    if (this.#jobs.size !== options.jobs.length) throw new Error('scheduled job names must be unique');
    this.#meta = options.meta;
    this.#logger = options.logger;
    this.#lock = options.lock ?? soleLeader;
  }

  /** Starts the schedules. */
  start(): void {
    for (const job of this.#jobs.values()) {
      if (!job.schedule) continue;
      const cron = new Cron(job.schedule, { timezone: 'UTC', protect: true }, async () => {
        if (!(await this.#lock.isLeader())) return;
        await this.run(job.name, 'schedule').catch(() => undefined);
      });
      this.#crons.push(cron);
    }
  }

  jobs(): { name: string; description: string; schedule: string | null; nextRun: string | null }[] {
    return [...this.#jobs.values()].map((job) => ({
      name: job.name,
      description: job.description,
      schedule: job.schedule,
      nextRun: job.schedule
        ? (new Cron(job.schedule, { timezone: 'UTC' }).nextRun()?.toISOString() ?? null)
        : null,
    }));
  }

  /**
   * Runs a job now and resolves with its finished run (failed runs resolve too, with status `failed`). A job
   * already running is not started twice: the caller gets the run in progress.
   */
  run(name: string, trigger: JobRunsTable['trigger'] = 'manual'): Promise<JobRun> {
    const job = this.#jobs.get(name);
    if (!job) throw new DeeprefError('DEEPREF_NOT_FOUND', { what: `Scheduled job ${name}` });
    const inFlight = this.#running.get(name);
    if (inFlight) return inFlight;
    const run = this.#execute(job, trigger).finally(() => this.#running.delete(name));
    this.#running.set(name, run);
    return run;
  }

  async #execute(job: ScheduledJob, trigger: JobRunsTable['trigger']): Promise<JobRun> {
    const id = randomUUID();
    const startedAt = new Date().toISOString();
    await this.#meta
      .insertInto('job_runs')
      .values({
        id,
        job: job.name,
        trigger,
        started_at: startedAt,
        finished_at: null,
        status: 'running',
        report: null,
      })
      .execute();
    this.#logger.info({ job: job.name, run: id, trigger }, 'scheduled job started');
    let status: JobRun['status'] = 'succeeded';
    let report: Record<string, unknown>;
    try {
      report = await job.run({
        now: new Date(),
        trigger,
        signal: this.#abort.signal,
        progress: (message) => this.#logger.info({ job: job.name, run: id }, message),
      });
    } catch (error) {
      status = 'failed';
      report = { error: (error as Error).message };
      this.#logger.error({ job: job.name, run: id, err: error }, 'scheduled job failed');
    }
    const finishedAt = new Date().toISOString();
    await this.#meta
      .updateTable('job_runs')
      .set({ finished_at: finishedAt, status, report: JSON.stringify(report) })
      .where('id', '=', id)
      .execute();
    if (status === 'succeeded')
      this.#logger.info({ job: job.name, run: id, report }, 'scheduled job finished');
    return { id, job: job.name, trigger, startedAt, finishedAt, status, report };
  }

  /** The latest runs, newest first. */
  async runs(options: { job?: string; limit?: number } = {}): Promise<JobRun[]> {
    let query = this.#meta
      .selectFrom('job_runs')
      .selectAll()
      .orderBy('started_at', 'desc')
      .limit(options.limit ?? 20);
    if (options.job) query = query.where('job', '=', options.job);
    const rows = await query.execute();
    return rows.map((row) => ({
      id: row.id,
      job: row.job,
      trigger: row.trigger,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
      status: row.status,
      report: row.report ? (JSON.parse(row.report) as Record<string, unknown>) : null,
    }));
  }

  /** Stops the schedules, signals running jobs, waits for them, and releases the leader lock. */
  async stop(): Promise<void> {
    for (const cron of this.#crons) cron.stop();
    this.#abort.abort();
    await Promise.allSettled([...this.#running.values()]);
    await this.#lock.release();
  }
}
