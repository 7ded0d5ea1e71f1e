/**
 * An erasure in a split deployment, as separate processes on one JetStream stream, one PostgreSQL database and one
 * Redis (the real-time store): an ingest process, an api process and two workers (`deepref start --role`). Subjects
 * X and Y send events whose windows are still open; X is erased through the api process's control socket, the route an operator's
 * `deepref dsr erase` takes. The api process queues it, the worker holding the singleton lease (stream layer, lake
 * writer) runs it, and the api answers with the proof: every store re-queried after all of them ran, nothing left.
 * Read directly, the PostgreSQL warehouse and every file of both workers' data directories (the lake's Parquet
 * files and the stream checkpoint among them, read through DuckDB and as JSON) no longer name X, and still name Y,
 * so the reads are not blind.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { postgresSchemas } from '../../adapters.ts';
import { natsReach, natsUrl } from '../../bus/jetstream/nats-test-server.ts';
import { controlRequest } from '../../cli/control-client.ts';
import { Sources } from '../../collector/source-registry.ts';
import { defaultConfig } from '../../config.ts';
import { openPostgresMetaStore } from '../../storage/postgres/postgres-meta-store.ts';
import { dropScaleOutEngines } from '../../testing/adapter-sets.ts';
import { deleteRedisKeys, redisReachability, redisUrl } from '../../testing/redis.ts';
import { type RoleProcess, type SplitDeployment, startRoleProcess } from '../../testing/role-process.ts';
import { describeWithService, type ServiceReach } from '../../testing/services.ts';
import { postgresReachability, postgresUrl } from '../../testing/warehouses.ts';
import type { DsrRequest, ErasureProof } from './dsr-service.ts';
import { engineRecords } from './store-scan.ts';

const nats = await natsReach();
const services: ServiceReach = {
  service: 'NATS JetStream, PostgreSQL and Redis',
  url: `${natsUrl}, ${postgresUrl}, ${redisUrl}`,
  unreachable: nats.unreachable ?? postgresReachability.unreachable ?? redisReachability.unreachable,
};

const tag = randomUUID().slice(0, 8);
const x = { userId: `split-x-${tag}`, anonymousId: `split-anon-x-${tag}` };
const y = { userId: `split-y-${tag}`, anonymousId: `split-anon-y-${tag}` };

/** 30 seconds into the 5-minute window after next: the windows holding the events stay open through the test. */
const FIVE_MINUTES = 300_000;
const start = Math.ceil((Date.now() + FIVE_MINUTES) / FIVE_MINUTES) * FIVE_MINUTES + 30_000;

function eventsOf(p: typeof x) {
  const at = (seconds: number) => new Date(start + seconds * 1000).toISOString();
  const session = `s-${p.userId}`;
  return [
    {
      eventId: randomUUID(),
      eventName: 'page_view',
      timestamp: at(0),
      anonymousId: p.anonymousId,
      sessionId: session,
    },
    {
      eventId: randomUUID(),
      eventName: 'page_view',
      timestamp: at(10),
      userId: p.userId,
      anonymousId: p.anonymousId,
      sessionId: session,
    },
    {
      eventId: randomUUID(),
      eventName: 'page_view',
      timestamp: at(20),
      userId: p.userId,
      sessionId: session,
      // Encrypted under the subject's data key (PostgreSQL key store, shared by the processes).
      properties: { comment_text: `a comment by ${p.userId}` },
    },
  ];
}

describeWithService(services, 'privacy requests in a split deployment', () => {
  const id = randomBytes(5).toString('hex');
  const deployment: SplitDeployment = {
    stream: `DEEPREF_TEST_${id.toUpperCase()}`,
    schema: `deepref_test_${id}`,
    redisKeyPrefix: `deepref-test:${id}:`,
    root: fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-split-dsr-')),
  };
  const processes: RoleProcess[] = [];
  const warehouseSchema = postgresSchemas(
    defaultConfig({ postgres: { connectionString: postgresUrl, schema: deployment.schema } }),
  ).warehouse;
  let api: RoleProcess;
  let workers: RoleProcess[];
  let writeKey = '';

  /** The events stamped minutes ahead keep their time (no early-arrival re-stamp) and hold their windows open. */
  const worker = (name: string) =>
    startRoleProcess(deployment, name, 'worker', { stream: { earlyArrivalToleranceMs: 86_400_000 } });

  beforeAll(async () => {
    // Ingest first: it creates the stream and the schemas the others share.
    processes.push(await startRoleProcess(deployment, 'ingest', 'ingest'));
    workers = await Promise.all([worker('worker-1'), worker('worker-2')]);
    api = await startRoleProcess(deployment, 'api', 'api');
    processes.push(...workers, api);
    const meta = await openPostgresMetaStore({
      connectionString: postgresUrl,
      schema: postgresSchemas(
        defaultConfig({ postgres: { connectionString: postgresUrl, schema: deployment.schema } }),
      ).meta,
    });
    try {
      ({ writeKey } = await new Sources(meta).create({ name: 'split-dsr', allowedOrigins: ['*'] }));
    } finally {
      await meta.destroy();
    }
  }, 180_000);

  afterAll(async () => {
    for (const p of processes) p.child.kill('SIGKILL');
    await dropScaleOutEngines(deployment.stream, deployment.schema);
    await deleteRedisKeys(deployment.redisKeyPrefix);
    fs.rmSync(deployment.root, { recursive: true, force: true });
  });

  const outputs = () => processes.map((p) => `${p.name}:\n${p.output.join('')}`).join('\n');

  async function control<T>(method: string, route: string, body?: unknown) {
    return controlRequest<T & { error?: { code: string; message: string } }>(
      api.dataDir,
      method,
      route,
      body,
    );
  }

  async function approved(kind: 'export' | 'erasure', userId: string): Promise<string> {
    const created = await control<{ id: string }>('POST', '/api/v1/dsr', { kind, userId });
    expect(created.status).toBe(201);
    await control('POST', `/api/v1/dsr/${created.body.id}/verify`, { method: 'test: signed-in session' });
    await control('POST', `/api/v1/dsr/${created.body.id}/approve`);
    return created.body.id;
  }

  async function warehouseCount(p: typeof x): Promise<number> {
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    try {
      const result = await client.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${warehouseSchema}.events WHERE user_id = ANY($1) OR anonymous_id = ANY($1)`,
        [[p.userId, p.anonymousId]],
      );
      return Number(result.rows[0]!.n);
    } finally {
      await client.end();
    }
  }

  /** Every record of both workers' data directories, read through its engine, that names one of `ids`. */
  async function workerRecordsNaming(ids: string[]): Promise<string[]> {
    const found: string[] = [];
    for (const w of workers) {
      for (const record of await engineRecords(w.dataDir)) {
        if (ids.some((id) => record.text.includes(id)))
          found.push(path.relative(deployment.root, record.where));
      }
    }
    return found;
  }

  it('erases a subject from every store, the lake files and the stream state included, with the proof', async () => {
    const authorization = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
    const response = await fetch(`${processes[0]!.url}/api/telemetry/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body: JSON.stringify({ batch: [...eventsOf(x), ...eventsOf(y)] }),
    });
    expect(response.status, await response.text()).toBe(200);

    const erasure = await approved('erasure', x.userId);
    const run = await control<DsrRequest>('POST', `/api/v1/dsr/${erasure}/run`);
    expect(run.status, JSON.stringify(run.body)).toBe(200);
    expect(run.body.state, `${JSON.stringify(run.body)}\n${outputs()}`).toBe('completed');

    const proof = run.body.result as ErasureProof;
    expect(proof.verified).toBe(true);
    expect(proof.subject).toMatch(/^erased:/);
    const section = (store: string, name: string) =>
      proof.stores.find((s) => s.store === store && s.section === name);
    // X's three events, found and removed in the log, the warehouse and the lake's files.
    for (const [store, name] of [
      ['event_log', 'log_events'],
      ['warehouse', 'warehouse_events'],
      ['lake', 'lake_events'],
    ] as const) {
      expect(section(store, name), `${store}.${name}`).toMatchObject({
        found: 3,
        removed: 3,
        verification: { remaining: 0 },
      });
    }
    expect(section('keys', 'data_keys')).toMatchObject({
      found: 1,
      removed: 1,
      verification: { remaining: 0 },
    });
    // X's open windows (its sessions, its event counts, its ids among the active users).
    expect(section('stream', 'stream_state')!.found).toBeGreaterThan(0);
    expect(section('stream', 'stream_state')!.removed).toBe(section('stream', 'stream_state')!.found);
    expect(proof.stores.filter((s) => s.verification.remaining > 0)).toEqual([]);

    // The api queued it; a worker ran it.
    const shown = await control<{ audit: { toState: string; actor: string }[] }>(
      'GET',
      `/api/v1/dsr/${erasure}`,
    );
    const trail = shown.body.audit.map((a) => `${a.toState} by ${a.actor.replace(/^worker .*/, 'worker')}`);
    expect(trail).toEqual([
      'received by operator (control socket)',
      'identity_verified by operator (control socket)',
      'approved by operator (control socket)',
      'queued by operator (control socket)',
      'in_progress by worker',
      'completed by worker',
    ]);

    // Read directly: the warehouse, and every file the workers hold (lake Parquet files, stream checkpoint).
    expect(await warehouseCount(x)).toBe(0);
    expect(await warehouseCount(y)).toBe(3);
    expect(await workerRecordsNaming([x.userId, x.anonymousId])).toEqual([]);
    const yRecords = await workerRecordsNaming([y.userId]);
    expect(
      yRecords.some((where) => where.endsWith('.parquet')),
      yRecords.join('\n'),
    ).toBe(true);
    expect(
      yRecords.some((where) => where.endsWith(path.join('stream', 'checkpoint.json'))),
      yRecords.join('\n'),
    ).toBe(true);
  }, 180_000);

  it('refuses an export in a split deployment with a code that says why, leaving the request approved', async () => {
    const exportRequest = await approved('export', y.userId);
    const run = await control<DsrRequest>('POST', `/api/v1/dsr/${exportRequest}/run`);
    expect(run.status).toBe(409);
    expect(run.body.error?.code).toBe('DEEPREF_DSR_EXPORT_NOT_SHARED');
    expect((await control<DsrRequest>('GET', `/api/v1/dsr/${exportRequest}`)).body.state).toBe('approved');
  });
});
