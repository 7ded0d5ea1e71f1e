/**
 * The lake's event files in a split deployment. They are on the disk of the worker holding the singleton lease (it
 * runs the lake writer), not on the scheduler's, so the retention run there queues their part in the MetaStore's
 * `job_runs` (job `lake-retention`, status `queued`, the run's time in its report) and the lease holder's runner
 * takes it: a conditional update from `queued` to `running`, so one worker runs it, with the same cutoffs the
 * retention run had. Its outcome is recorded on the same row, beside the other jobs' runs (`deepref jobs`).
 *
 * A part nobody takes stays visible: the next retention run fails the waiting one
 * (`DEEPREF_LAKE_RETENTION_NOT_TAKEN`) before it queues its own, and a part found `running` when a runner starts was
 * left by a worker that stopped (`DEEPREF_LAKE_RETENTION_LOST`).
 */
import { randomUUID } from 'node:crypto';
import { DeeprefError } from '../../errors.ts';
import type { JobRunsTable, MetaStore } from '../../storage/meta-store.ts';
import { expireLakeEventFiles, type LakeEventRetention } from './retention.ts';
import type { RetentionConfig } from './retention-policy.ts';

export const lakeRetentionJob = 'lake-retention';

/**
 * Queues the lake's part of the retention run for `now`. Returns the queued run's id, and when the parts queued before
 * it were still waiting (now failed), the times they were queued.
 */
export async function queueLakeRetention(
  meta: MetaStore,
  now: Date,
  trigger: JobRunsTable['trigger'],
): Promise<QueuedLakeRetention> {
  const waiting = await meta
    .selectFrom('job_runs')
    .select(['id', 'started_at'])
    .where('job', '=', lakeRetentionJob)
    .where('status', '=', 'queued')
    .execute();
  const notTaken: string[] = [];
  for (const run of waiting) {
    const error = new DeeprefError('DEEPREF_LAKE_RETENTION_NOT_TAKEN', { queuedAt: run.started_at });
    // A worker may take it meanwhile: then it was taken after all.
    if (await finish(meta, run.id, 'queued', 'failed', { error: error.message, code: error.code }))
      notTaken.push(run.started_at);
  }
  const id = randomUUID();
  await meta
    .insertInto('job_runs')
    .values({
      id,
      job: lakeRetentionJob,
      trigger,
      started_at: new Date().toISOString(),
      finished_at: null,
      status: 'queued',
      report: JSON.stringify({ now: now.toISOString() }),
    })
    .execute();
  return { id, notTaken };
}

export interface QueuedLakeRetention {
  id: string;
  /** When each earlier part that no worker took was queued. */
  notTaken: string[];
}

export interface LakeRetentionRunnerOptions {
  meta: MetaStore;
  lake: LakeEventRetention;
  config: RetentionConfig;
  /** Who runs the parts, as their reports name it (the worker's lease owner). */
  name: string;
  /** How often to look for a queued part. Default 5 s (the part is queued once a day). */
  pollMs?: number;
  onError?: (error: unknown) => void;
}

/** Runs the queued lake parts of retention, in the worker holding the singleton lease. */
export class LakeRetentionRunner {
  readonly #options: LakeRetentionRunnerOptions;
  readonly #timer: NodeJS.Timeout;
  #turn: Promise<void> = Promise.resolve();
  #stopped = false;

  private constructor(options: LakeRetentionRunnerOptions) {
    this.#options = options;
    this.#timer = setInterval(() => this.#tick(), options.pollMs ?? 5_000);
    this.#timer.unref();
    this.#tick();
  }

  /** Fails the parts a stopped worker left running (only the lease holder runs them), then runs the queued ones. */
  static async start(options: LakeRetentionRunnerOptions): Promise<LakeRetentionRunner> {
    const left = await options.meta
      .selectFrom('job_runs')
      .select(['id', 'report'])
      .where('job', '=', lakeRetentionJob)
      .where('status', '=', 'running')
      .execute();
    for (const run of left) {
      const runner = (JSON.parse(run.report ?? '{}') as { runner?: string }).runner ?? 'unknown';
      const error = new DeeprefError('DEEPREF_LAKE_RETENTION_LOST', { runner });
      await finish(options.meta, run.id, 'running', 'failed', { error: error.message, code: error.code });
    }
    return new LakeRetentionRunner(options);
  }

  #tick(): void {
    this.#turn = this.#turn.then(() => this.#runQueued()).catch(this.#options.onError ?? (() => undefined));
  }

  async #runQueued(): Promise<void> {
    const { meta, lake, config, name } = this.#options;
    const queued = await meta
      .selectFrom('job_runs')
      .select(['id', 'report'])
      .where('job', '=', lakeRetentionJob)
      .where('status', '=', 'queued')
      .orderBy('started_at')
      .execute();
    for (const run of queued) {
      if (this.#stopped) return;
      const { now } = JSON.parse(run.report ?? '{}') as { now: string };
      const claimed = await meta
        .updateTable('job_runs')
        .set({ status: 'running', report: JSON.stringify({ now, runner: name }) })
        .where('id', '=', run.id)
        .where('status', '=', 'queued')
        .executeTakeFirst();
      // Failed by a newer retention run, or taken by another runner, between the listing and the claim.
      if (Number(claimed.numUpdatedRows) !== 1) continue;
      try {
        const lines = await expireLakeEventFiles(lake, config, new Date(now), false);
        const removed = lines.reduce((sum, line) => sum + line.removed, 0);
        await finish(meta, run.id, 'running', 'succeeded', { now, runner: name, lines, removed });
      } catch (error) {
        await finish(meta, run.id, 'running', 'failed', {
          now,
          runner: name,
          error: (error as Error).message,
        });
        throw error;
      }
    }
  }

  /** Stops looking for parts; resolves once the part running now (if any) has its outcome. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#turn;
  }
}

/** Records run `id`'s outcome if it is still `from` (a conditional update: one process decides it); whether it was. */
async function finish(
  meta: MetaStore,
  id: string,
  from: JobRunsTable['status'],
  status: JobRunsTable['status'],
  report: Record<string, unknown>,
): Promise<boolean> {
  const updated = await meta
    .updateTable('job_runs')
    .set({ status, finished_at: new Date().toISOString(), report: JSON.stringify(report) })
    .where('id', '=', id)
    .where('status', '=', from)
    .executeTakeFirst();
  return Number(updated.numUpdatedRows) === 1;
}
