/**
 * Enforces the retention policies on every store: warehouse events by class, stream results and alerts
 * (aggregated metrics), the lake's event partitions and result days, the event log's consumed prefix and its dead
 * letters, and finished job runs. A dry run counts what would go and removes nothing (`deepref retention
 * --dry-run`). Each line of the report names the store, the class, the cutoff, what was found and what removed.
 * Where the lake's event files belong to another process (a split deployment), the run queues their part for the
 * worker that writes them (lake-retention-runner.ts) and names the queued run in its report.
 */
import { DeeprefError } from '../../errors.ts';
import type { JobRunsTable, MetaStore } from '../../storage/meta-store.ts';
import type { Warehouse } from '../../storage/warehouse.ts';
import { streamAlertsTableSql } from '../../stream/sinks/alert-sink.ts';
import { streamResultsTableSql } from '../../stream/sinks/warehouse-result-sink.ts';
import type { QueuedLakeRetention } from './lake-retention-runner.ts';
import {
  cutoff,
  type DataClass,
  type EventDataClass,
  eventClassPredicate,
  eventDataClasses,
  type RetentionConfig,
  retentionDays,
} from './retention-policy.ts';

export interface RetentionLine {
  store: string;
  dataClass: DataClass;
  /** Data older than this goes. */
  cutoff: string;
  found: number;
  removed: number;
}

export interface RetentionReport {
  dryRun: boolean;
  now: string;
  lines: RetentionLine[];
  /**
   * The queued run (`job_runs`, job `lake-retention`) that expires the lake's event files on the worker holding the
   * singleton lease, when they are not this process's.
   */
  lakeEventsRun?: string;
  /** When each earlier lake part that no worker took was queued (each now failed, `DEEPREF_LAKE_RETENTION_NOT_TAKEN`). */
  lakeEventsNotTaken?: string[];
}

/** Expiry in the lake's event partitions: a whole UTC day goes for a class once the day is past its cutoff. */
export interface LakeEventRetention {
  expireEvents(
    cutoffs: Record<EventDataClass, Date>,
    dryRun: boolean,
  ): Promise<Record<EventDataClass, number>>;
}

/**
 * Expiry in the lake: its event files where this process writes them (absent in a split deployment's api or
 * scheduler process), and the result days the `stream-results-to-lake` job wrote to this process's lake.
 */
export interface LakeRetention extends Partial<LakeEventRetention> {
  expireResults(before: Date, dryRun: boolean): Promise<number>;
}

/** Expiry in the event log: events every consumer has passed and dead letters, each older than its cutoff. */
export interface LogRetention {
  expire(
    before: { events: Date; deadLetters: Date },
    dryRun: boolean,
  ): Promise<{ events: number; deadLetters: number }>;
}

export interface RetentionStores {
  warehouse: Pick<Warehouse, 'query'>;
  meta: MetaStore;
  /** Data-subject export packages: they go when their download link expires (7 days). */
  exports?: { countExpired(): Promise<number>; deleteExpired(): Promise<number> };
  lake?: LakeRetention;
  /**
   * Where the lake's event files are another process's: queues their expiry for `now` (lake-retention-runner.ts).
   * Not called by a dry run, which cannot count files it cannot read.
   */
  queueLakeEvents?: (now: Date, trigger: JobRunsTable['trigger']) => Promise<QueuedLakeRetention>;
  log?: LogRetention;
}

export async function enforceRetention(
  stores: RetentionStores,
  config: RetentionConfig,
  options: { now?: Date; dryRun?: boolean; trigger?: JobRunsTable['trigger'] } = {},
): Promise<RetentionReport> {
  const now = options.now ?? new Date();
  const dryRun = options.dryRun ?? false;
  for (const [name, days] of Object.entries(config)) {
    if (name.endsWith('Days') && !(Number.isInteger(days) && (days as number) >= 1)) {
      throw new DeeprefError('DEEPREF_CONFIG_INVALID', {
        detail: `retention.${name} must be a whole number of days ≥ 1`,
      });
    }
  }
  const lines: RetentionLine[] = [];
  const at = (dataClass: DataClass) => cutoff(now, retentionDays(config, dataClass));
  const line = (store: string, dataClass: DataClass, found: number, removed: number) =>
    lines.push({ store, dataClass, cutoff: at(dataClass).toISOString(), found, removed });
  let queued: QueuedLakeRetention | undefined;

  const { warehouse } = stores;
  for (const dataClass of eventDataClasses) {
    const where = `timestamp < CAST($1 AS TIMESTAMPTZ) AND ${eventClassPredicate(dataClass)}`;
    const params = [at(dataClass)];
    const found = await count(warehouse, `SELECT count(*) FROM events WHERE ${where}`, params);
    if (!dryRun && found > 0) await warehouse.query(`DELETE FROM events WHERE ${where}`, params);
    line('warehouse.events', dataClass, found, dryRun ? 0 : found);
  }

  await warehouse.query(streamResultsTableSql);
  await warehouse.query(streamAlertsTableSql);
  // Cutoffs are bound as Dates, which each warehouse adapter writes in its engine's terms. As ISO text, a cutoff in
  // year 0000 (1 BC) reaches PostgreSQL as a year it does not have, and the query fails.
  const metricsBefore = at('aggregated_metrics');
  for (const table of ['stream_results', 'stream_alerts']) {
    const where = 'window_end < CAST($1 AS TIMESTAMP)';
    const found = await count(warehouse, `SELECT count(*) FROM ${table} WHERE ${where}`, [metricsBefore]);
    if (!dryRun && found > 0) await warehouse.query(`DELETE FROM ${table} WHERE ${where}`, [metricsBefore]);
    line(`warehouse.${table}`, 'aggregated_metrics', found, dryRun ? 0 : found);
  }

  const { lake } = stores;
  if (lake?.expireEvents) {
    lines.push(...(await expireLakeEventFiles(lake as LakeEventRetention, config, now, dryRun)));
  } else if (stores.queueLakeEvents && !dryRun) {
    queued = await stores.queueLakeEvents(now, options.trigger ?? 'manual');
  }
  if (lake) {
    const days = await lake.expireResults(at('aggregated_metrics'), dryRun);
    line('lake.stream_results (days)', 'aggregated_metrics', days, dryRun ? 0 : days);
  }

  if (stores.log) {
    // The log is the transport, not the archive: past the shortest event retention, consumed events leave it.
    const shortest = eventDataClasses.reduce((a, b) =>
      retentionDays(config, a) <= retentionDays(config, b) ? a : b,
    );
    const expired = await stores.log.expire(
      { events: at(shortest), deadLetters: at('dead_letters') },
      dryRun,
    );
    line('log.events', shortest, expired.events, dryRun ? 0 : expired.events);
    line('log.dead_letters', 'dead_letters', expired.deadLetters, dryRun ? 0 : expired.deadLetters);
  }

  if (stores.exports) {
    const found = await stores.exports.countExpired();
    const removed = dryRun || found === 0 ? 0 : await stores.exports.deleteExpired();
    lines.push({ store: 'exports', dataClass: 'exports', cutoff: now.toISOString(), found, removed });
  }

  const runsBefore = at('job_runs').toISOString();
  const oldRuns = await stores.meta
    .selectFrom('job_runs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('started_at', '<', runsBefore)
    .where('status', 'in', ['succeeded', 'failed'])
    .executeTakeFirst();
  const runs = Number(oldRuns?.n ?? 0);
  if (!dryRun && runs > 0) {
    await stores.meta
      .deleteFrom('job_runs')
      .where('started_at', '<', runsBefore)
      .where('status', 'in', ['succeeded', 'failed'])
      .execute();
  }
  line('meta.job_runs', 'job_runs', runs, dryRun ? 0 : runs);

  return {
    dryRun,
    now: now.toISOString(),
    lines,
    ...(queued ? { lakeEventsRun: queued.id } : {}),
    ...(queued?.notTaken.length ? { lakeEventsNotTaken: queued.notTaken } : {}),
  };
}

/** The lake's event files past each class's cutoff at `now`, one line per class. */
export async function expireLakeEventFiles(
  lake: LakeEventRetention,
  config: RetentionConfig,
  now: Date,
  dryRun: boolean,
): Promise<RetentionLine[]> {
  const cutoffs = Object.fromEntries(
    eventDataClasses.map((c) => [c, cutoff(now, retentionDays(config, c))]),
  ) as Record<EventDataClass, Date>;
  const removed = await lake.expireEvents(cutoffs, dryRun);
  return eventDataClasses.map((dataClass) => ({
    store: 'lake.events',
    dataClass,
    cutoff: cutoffs[dataClass].toISOString(),
    found: removed[dataClass],
    removed: dryRun ? 0 : removed[dataClass],
  }));
}

async function count(warehouse: Pick<Warehouse, 'query'>, sql: string, params: unknown[]): Promise<number> {
  const result = await warehouse.query(sql, params);
  return Number(result.rows[0]?.[0] ?? 0);
}
