/**
 * Retention in a split deployment, as separate processes on one JetStream stream, one PostgreSQL database and one
 * Redis: an ingest process, a scheduler and a worker (`deepref start --role`). The lake's event files are on the
 * worker's disk, so the scheduler's retention run queues their part and the worker holding the singleton lease runs
 * it: an event past the raw-event retention leaves the worker's Parquet files, one within it stays, and the part's
 * outcome is recorded beside the other jobs' runs.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { postgresSchemas } from '../../adapters.ts';
import type { JobRun } from '../../batch/scheduler.ts';
import { natsReach, natsUrl } from '../../bus/jetstream/nats-test-server.ts';
import { controlRequest } from '../../cli/control-client.ts';
import { Sources } from '../../collector/source-registry.ts';
import { defaultConfig } from '../../config.ts';
import type { MetaStore } from '../../storage/meta-store.ts';
import { openPostgresMetaStore } from '../../storage/postgres/postgres-meta-store.ts';
import { dropScaleOutEngines } from '../../testing/adapter-sets.ts';
import { deleteRedisKeys, redisReachability, redisUrl } from '../../testing/redis.ts';
import { type RoleProcess, type SplitDeployment, startRoleProcess } from '../../testing/role-process.ts';
import { describeWithService, type ServiceReach } from '../../testing/services.ts';
import { postgresReachability, postgresUrl } from '../../testing/warehouses.ts';
import { lakeRetentionJob } from './lake-retention-runner.ts';
import type { RetentionLine } from './retention.ts';

const nats = await natsReach();
const services: ServiceReach = {
  service: 'NATS JetStream, PostgreSQL and Redis',
  url: `${natsUrl}, ${postgresUrl}, ${redisUrl}`,
  unreachable: nats.unreachable ?? postgresReachability.unreachable ?? redisReachability.unreachable,
};

const DAY = 86_400_000;
const userId = `split-retention-${randomUUID().slice(0, 8)}`;

/** A page view `days` ago (raw events are kept 60 days by default). */
function pageView(days: number) {
  return {
    eventId: randomUUID(),
    eventName: 'page_view',
    timestamp: new Date(Date.now() - days * DAY).toISOString(),
    sentAt: new Date().toISOString(),
    userId,
    sessionId: `s-${userId}`,
    properties: { page_url: `https://a.example/${days}-days-ago` },
  };
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

describeWithService(services, 'retention in a split deployment', () => {
  const id = randomBytes(5).toString('hex');
  const deployment: SplitDeployment = {
    stream: `DEEPREF_TEST_${id.toUpperCase()}`,
    schema: `deepref_test_${id}`,
    redisKeyPrefix: `deepref-test:${id}:`,
    root: fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-split-retention-')),
  };
  const processes: RoleProcess[] = [];
  let ingest: RoleProcess;
  let scheduler: RoleProcess;
  let worker: RoleProcess;
  let meta: MetaStore;

  beforeAll(async () => {
    // Ingest first: it creates the stream and the schemas the others share.
    ingest = await startRoleProcess(deployment, 'ingest', 'ingest');
    processes.push(ingest);
    [worker, scheduler] = await Promise.all([
      startRoleProcess(deployment, 'worker', 'worker'),
      startRoleProcess(deployment, 'scheduler', 'scheduler'),
    ]);
    processes.push(worker, scheduler);
    meta = await openPostgresMetaStore({
      connectionString: postgresUrl,
      schema: postgresSchemas(
        defaultConfig({ postgres: { connectionString: postgresUrl, schema: deployment.schema } }),
      ).meta,
    });
  }, 180_000);

  afterAll(async () => {
    for (const p of processes) p.child.kill('SIGKILL');
    await meta?.destroy();
    await dropScaleOutEngines(deployment.stream, deployment.schema);
    await deleteRedisKeys(deployment.redisKeyPrefix);
    fs.rmSync(deployment.root, { recursive: true, force: true });
  });

  const outputs = () => processes.map((p) => `${p.name}:\n${p.output.join('')}`).join('\n');

  /** The page URLs of the subject's events in the worker's lake files, read through DuckDB. */
  async function workerLakeUrls(): Promise<string[]> {
    const events = path.join(worker.dataDir, 'lake', 'events');
    const files = fs.existsSync(events)
      ? fs.readdirSync(events, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.parquet'))
      : [];
    if (files.length === 0) return [];
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const list = files.map((f) => `'${path.join(events, f).replaceAll("'", "''")}'`).join(', ');
      const reader = await connection.runAndReadAll(
        `SELECT properties FROM read_parquet([${list}], union_by_name = true) WHERE user_id = '${userId}'`,
      );
      return reader
        .getRowsJS()
        .map(([properties]) => String(JSON.parse(String(properties)).page_url))
        .sort();
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  }

  it('removes the events past their retention from the worker’s lake files, recorded as a job run', async () => {
    const { writeKey } = await new Sources(meta).create({ name: 'split-retention', allowedOrigins: ['*'] });
    const authorization = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
    const response = await fetch(`${ingest.url}/api/telemetry/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body: JSON.stringify({ batch: [pageView(70), pageView(50)] }),
    });
    expect(response.status, await response.text()).toBe(200);

    const both = ['https://a.example/50-days-ago', 'https://a.example/70-days-ago'];
    for (let deadline = Date.now() + 90_000; Date.now() < deadline; await sleep(500)) {
      if ((await workerLakeUrls()).length === both.length) break;
    }
    expect(await workerLakeUrls(), outputs()).toEqual(both);

    // The operator's `deepref jobs run retention`, on the scheduler.
    const run = await controlRequest<JobRun>(scheduler.dataDir, 'POST', '/api/v1/jobs/retention/run');
    expect(run.status).toBe(200);
    expect(run.body.status, JSON.stringify(run.body.report)).toBe('succeeded');
    const queued = String(run.body.report?.lakeEventsRun);

    let lakeRun: { status: string; report: string | null } | undefined;
    for (let deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(250)) {
      lakeRun = await meta
        .selectFrom('job_runs')
        .select(['status', 'report'])
        .where('id', '=', queued)
        .where('job', '=', lakeRetentionJob)
        .executeTakeFirst();
      if (lakeRun && lakeRun.status !== 'queued' && lakeRun.status !== 'running') break;
    }
    expect(lakeRun?.status, `${lakeRun?.report}\n${outputs()}`).toBe('succeeded');
    const report = JSON.parse(lakeRun!.report!) as { now: string; runner: string; lines: RetentionLine[] };
    // The scheduler's run time: the worker's cutoffs are the ones the scheduler's run had.
    expect(report.now).toBe(run.body.report?.now);
    expect(report.lines.find((line) => line.dataClass === 'raw_events')).toMatchObject({
      store: 'lake.events',
      found: 1,
      removed: 1,
    });

    expect(await workerLakeUrls()).toEqual(['https://a.example/50-days-ago']);
    // The operator sees it beside the other jobs' runs.
    const jobs = await controlRequest<{ runs: JobRun[] }>(scheduler.dataDir, 'GET', '/api/v1/jobs');
    expect(jobs.body.runs.find((r) => r.id === queued)).toMatchObject({
      job: lakeRetentionJob,
      trigger: 'manual',
      status: 'succeeded',
    });
  }, 240_000);
});
