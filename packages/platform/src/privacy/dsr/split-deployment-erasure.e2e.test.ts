/**
 * An erasure in a split deployment, as separate processes on one JetStream stream, one PostgreSQL database and one
 * Redis (the real-time store): an ingest process, an api process and two workers (`deepref start --role`). Subjects
 * X and Y send events whose windows are still open; X is erased through the api process's control socket, the route an operator's
 * `deepref dsr erase` takes. The api process queues it, the worker holding the singleton lease (stream layer, lake
 * writer) runs it, and the api answers with the proof: every store re-queried after all of them ran, nothing left.
 * Read directly, the PostgreSQL warehouse and every file of both workers' data directories (the lake's Parquet
 * files and the stream checkpoint among them, read through DuckDB and as JSON) no longer name X, and still name Y,
 * so the reads are not blind. Then Y is exported, and erased with an export first: a worker makes each package, and
 * the api process, which never held a file of it, serves it through its signed link (packages are sealed in the
 * shared MetaStore, exports/export-store.ts); the erasure deletes the earlier package and keeps the one it made.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { unzipSync } from 'fflate';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { postgresSchemas } from '../../adapters.ts';
import { natsReach, natsUrl } from '../../bus/jetstream/nats-test-server.ts';
import { controlRequest } from '../../cli/control-client.ts';
import { Sources } from '../../collector/source-registry.ts';
import { defaultConfig } from '../../config.ts';
import { type ExportPackage, sha256Hex } from '../../exports/export-store.ts';
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
  const schemas = postgresSchemas(
    defaultConfig({ postgres: { connectionString: postgresUrl, schema: deployment.schema } }),
  );
  const warehouseSchema = schemas.warehouse;
  const metaSchema = schemas.meta;
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
    const meta = await openPostgresMetaStore({ connectionString: postgresUrl, schema: metaSchema });
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

  async function approved(kind: 'export' | 'erasure', userId: string, format?: string): Promise<string> {
    const created = await control<{ id: string }>('POST', '/api/v1/dsr', { kind, userId, format });
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

  /** Downloads a package through the api process's link; checks its checksum and manifest; returns its files. */
  async function download(downloadUrl: string, exportId: string) {
    expect(downloadUrl.startsWith(`${api.url}/api/v1/exports/${exportId}/download?`), downloadUrl).toBe(true);
    const response = await fetch(downloadUrl);
    expect(response.status, `${await response.clone().text()}\n${outputs()}`).toBe(200);
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(sha256Hex(bytes)).toBe(response.headers.get('x-deepref-sha256'));
    const files = unzipSync(bytes);
    const manifest = JSON.parse(Buffer.from(files['manifest.json']!).toString('utf8'));
    expect(manifest).toMatchObject({ exportId, subject: y.userId, format: 'json' });
    const names = Object.keys(files).filter((name) => name !== 'manifest.json');
    expect(manifest.files.map((f: { name: string }) => f.name).sort()).toEqual(names.sort());
    for (const f of manifest.files as { name: string; sizeBytes: number; sha256: string }[]) {
      expect(files[f.name]!.length, f.name).toBe(f.sizeBytes);
      expect(sha256Hex(files[f.name]!), f.name).toBe(f.sha256);
    }
    return { bytes, files };
  }

  /** The sealed packages at rest in the shared MetaStore, by export id. */
  async function sealedPackages(): Promise<Map<string, Buffer>> {
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ export_id: string; sealed: Buffer }>(
        `SELECT export_id, sealed FROM ${metaSchema}.export_contents`,
      );
      return new Map(rows.map((r) => [r.export_id, r.sealed]));
    } finally {
      await client.end();
    }
  }

  let firstExport: ExportPackage;
  let firstLink: string;

  it('exports a subject through the api process, and serves the package from the api process', async () => {
    const exportRequest = await approved('export', y.userId, 'json');
    const run = await control<DsrRequest & { downloadUrl?: string }>(
      'POST',
      `/api/v1/dsr/${exportRequest}/run`,
    );
    expect(run.status, JSON.stringify(run.body)).toBe(200);
    expect(run.body.state, `${JSON.stringify(run.body)}\n${outputs()}`).toBe('completed');
    firstExport = run.body.result as ExportPackage;
    firstLink = run.body.downloadUrl!;
    const { files } = await download(firstLink, firstExport.id);
    // Y's comment, encrypted in every store under Y's data key, is decrypted in the package.
    const comment = `a comment by ${y.userId}`;
    expect(Object.values(files).some((f) => Buffer.from(f).includes(comment))).toBe(true);
    // At rest the package is sealed, and no process keeps a file of it.
    const sealed = (await sealedPackages()).get(firstExport.id)!;
    expect(sealed.length).toBe(firstExport.sizeBytes + 28);
    expect(sealed.includes(comment)).toBe(false);
    for (const p of processes) expect(fs.existsSync(path.join(p.dataDir, 'exports')), p.name).toBe(false);
  }, 180_000);

  it('erases a subject with an export first: the earlier package goes, the new one stays downloadable', async () => {
    const erasure = await approved('erasure', y.userId, 'json');
    const run = await control<DsrRequest & { downloadUrl?: string }>('POST', `/api/v1/dsr/${erasure}/run`);
    expect(run.status, JSON.stringify(run.body)).toBe(200);
    expect(run.body.state, `${JSON.stringify(run.body)}\n${outputs()}`).toBe('completed');
    const proof = run.body.result as ErasureProof;
    expect(proof.verified).toBe(true);
    expect(proof.stores.find((s) => s.store === 'exports')).toMatchObject({
      section: 'export_packages',
      found: 1,
      removed: 1,
      verification: { remaining: 0 },
    });
    const kept = proof.export!;
    await download(run.body.downloadUrl!, kept.id);
    expect([...(await sealedPackages()).keys()]).toEqual([kept.id]);
    const gone = await fetch(firstLink);
    expect(gone.status).toBe(410);
    expect(((await gone.json()) as { error: { code: string } }).error.code).toBe('DEEPREF_EXPORT_GONE');
    expect(await warehouseCount(y)).toBe(0);
  }, 180_000);
});
