/**
 * Retention on each warehouse with cutoffs in year 0000 (a retention long enough to reach it): the windows before
 * the cutoff go and the later one stays. PostgreSQL refused the cutoff when it was sent as text, as it has no year 0.
 * And in a split deployment's scheduler, where the lake's event files are the worker's: the run queues their part,
 * a part no worker took fails and fails the next run, so that `deepref jobs list` shows it, and a part left running by
 * a worker that stopped is failed by the next one.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scheduler } from '../../batch/scheduler.ts';
import type { MetaStore } from '../../storage/meta-store.ts';
import { openSqliteMetaStore } from '../../storage/sqlite/sqlite-meta-store.ts';
import { WarehouseResultSink } from '../../stream/sinks/warehouse-result-sink.ts';
import { describeEachWarehouse, useWarehouse } from '../../testing/warehouses.ts';
import { LakeRetentionRunner, lakeRetentionJob, queueLakeRetention } from './lake-retention-runner.ts';
import { enforceRetention } from './retention.ts';
import { retentionJob } from './retention-job.ts';
import { defaultRetentionConfig, type RetentionConfig } from './retention-policy.ts';

const DAY = 86_400_000;
let dir: string;
let meta: MetaStore;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-retention-'));
  meta = await openSqliteMetaStore(path.join(dir, 'meta.db'));
});
afterAll(async () => {
  await meta.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
});

describeEachWarehouse('retention with cutoffs in year 0000', (engine) => {
  const db = useWarehouse(engine);

  it('removes the windows before a cutoff in year 0000 and keeps the later one', async () => {
    const now = new Date('2026-11-27T00:00:00.000Z');
    const days = (now.getTime() - Date.parse('0000-06-01T00:00:00.000Z')) / DAY;
    const config: RetentionConfig = {
      ...defaultRetentionConfig,
      rawEventsDays: days,
      apiLogsDays: days,
      errorLogsDays: days,
      securityLogsDays: days,
      aggregatedMetricsDays: days,
      deadLettersDays: days,
    };
    const sink = new WarehouseResultSink(db.warehouse);
    const window = (key: string, end: string) => ({
      job: 'api_metrics',
      key,
      group: { endpoint: key },
      windowStart: Date.parse(end) - 60_000,
      windowEnd: Date.parse(end),
      values: { requests: 1 },
    });
    await sink.write([
      window('/january', '0000-01-01T00:01:00.000Z'),
      window('/december', '0000-12-01T00:01:00.000Z'),
    ]);

    const report = await enforceRetention({ warehouse: db.warehouse, meta }, config, { now });
    expect(report.lines.find((line) => line.store === 'warehouse.stream_results')).toEqual({
      store: 'warehouse.stream_results',
      dataClass: 'aggregated_metrics',
      cutoff: '0000-06-01T00:00:00.000Z',
      found: 1,
      removed: 1,
    });
    const left = await db.warehouse.query('SELECT group_key FROM stream_results');
    expect(left.rows).toEqual([['/december']]);
  });
});

describe('retention where the lake is another process’s', () => {
  it('queues the lake part, and fails the next run while no worker took it', async () => {
    // The warehouse is not this test's subject: an empty DuckDB one.
    const { openDuckdbWarehouse } = await import('../../storage/duckdb/duckdb-warehouse.ts');
    const warehouse = await openDuckdbWarehouse(path.join(dir, 'w.duckdb'));
    const logger = { info: () => {}, error: () => {} };
    const stores = {
      warehouse,
      meta,
      queueLakeEvents: (now: Date, trigger: 'schedule' | 'manual') => queueLakeRetention(meta, now, trigger),
    };
    const scheduler = new Scheduler({ meta, logger, jobs: [retentionJob(stores, defaultRetentionConfig)] });
    try {
      const first = await scheduler.run('retention');
      expect(first.status).toBe('succeeded');
      const queued = String(first.report?.lakeEventsRun);
      const lakeRuns = () =>
        meta
          .selectFrom('job_runs')
          .select(['id', 'status', 'trigger', 'report'])
          .where('job', '=', lakeRetentionJob)
          .orderBy('started_at')
          .execute();
      const [waitingFirst, ...others] = await lakeRuns();
      expect(others).toEqual([]);
      expect(waitingFirst).toMatchObject({ id: queued, status: 'queued', trigger: 'manual' });
      // The run's time, from which the worker computes the same cutoffs.
      expect(JSON.parse(waitingFirst!.report!)).toEqual({ now: first.report?.now });

      const second = await scheduler.run('retention');
      expect(second.status).toBe('failed');
      expect(String(second.report?.error)).toContain('was not taken before the next one was queued');
      const [taken, waiting] = await lakeRuns();
      expect(taken).toMatchObject({ id: queued, status: 'failed' });
      expect(JSON.parse(taken!.report!).code).toBe('DEEPREF_LAKE_RETENTION_NOT_TAKEN');
      expect(waiting).toMatchObject({ status: 'queued' });
    } finally {
      await scheduler.stop();
      await warehouse.close();
    }
  });

  it('fails the part a stopped worker left running, naming that worker', async () => {
    const own = await openSqliteMetaStore(path.join(dir, 'lost.db'));
    try {
      const { id } = await queueLakeRetention(own, new Date(), 'schedule');
      await own
        .updateTable('job_runs')
        .set({
          status: 'running',
          report: JSON.stringify({ now: new Date().toISOString(), runner: 'worker-a' }),
        })
        .where('id', '=', id)
        .execute();
      const runner = await LakeRetentionRunner.start({
        meta: own,
        // Nothing is queued, so the lake is never reached.
        lake: { expireEvents: () => Promise.reject(new Error('no part was queued')) },
        config: defaultRetentionConfig,
        name: 'worker-b',
      });
      await runner.stop();
      const run = await own.selectFrom('job_runs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      expect(run.status).toBe('failed');
      const report = JSON.parse(run.report!) as { code: string; error: string };
      expect(report.code).toBe('DEEPREF_LAKE_RETENTION_LOST');
      expect(report.error).toContain('(worker-a)');
    } finally {
      await own.destroy();
    }
  });
});
