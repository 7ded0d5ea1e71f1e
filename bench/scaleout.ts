/**
 * `npm run bench:scaleout`: events per second end to end, HTTP → event log → worker → warehouse, on the scale-out
 * engines (JetStream, PostgreSQL) with 1 and with 2 ingest processes (as many workers), against the embedded
 * single process (SQLite log, DuckDB) measured in the same run. A run's time goes from the first request to the
 * moment the warehouse holds every acknowledged event; the ratio is scale-out events/s ÷ embedded events/s.
 *
 *   npx tsx bench/scaleout.ts [--events 20000] [--batch 50] [--concurrency 16]
 *
 * Needs NATS JetStream on 127.0.0.1:4222 and PostgreSQL (DEEPREF_POSTGRES_URL, default the local `test` database).
 * Every process shares this machine's cores: the numbers compare deployments on one machine, not a cluster.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { postgresSchemas } from '../packages/platform/src/adapters.ts';
import { controlRequest } from '../packages/platform/src/cli/control-client.ts';
import { Sources } from '../packages/platform/src/collector/source-registry.ts';
import { dataPaths, defaultConfig } from '../packages/platform/src/config.ts';
import { openPostgresMetaStore } from '../packages/platform/src/storage/postgres/postgres-meta-store.ts';
import { openSqliteMetaStore } from '../packages/platform/src/storage/sqlite/sqlite-meta-store.ts';
import { dropScaleOutEngines } from '../packages/platform/src/testing/adapter-sets.ts';
import { shareSecrets } from '../packages/platform/src/testing/role-process.ts';
import { eventBatches } from './event-batches.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');
const bin = path.join(repoRoot, 'packages', 'platform', 'bin', 'deepref.js');
const postgresUrl = process.env.DEEPREF_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';
const natsUrl = process.env.DEEPREF_NATS_URL || '127.0.0.1:4222';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '50' },
    concurrency: { type: 'string', default: '16' },
  },
});
const batchSize = Number(args.batch);
const batches = Math.ceil(Number(args.events) / batchSize);
const concurrency = Number(args.concurrency);

interface Started {
  child: ChildProcess;
  url: string;
}

async function startProcess(root: string, name: string, config: object): Promise<Started> {
  const dataDir = path.join(root, name);
  fs.mkdirSync(dataDir, { recursive: true });
  if ('role' in config) shareSecrets(root, dataDir);
  const file = path.join(root, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify({ ...config, port: 0, dataDir, logLevel: 'warn' }));
  const child = spawn(process.execPath, [bin, 'start', '--config', file], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const runFile = path.join(dataDir, 'run', 'server.json');
  while (!fs.existsSync(runFile)) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, url: (JSON.parse(fs.readFileSync(runFile, 'utf8')) as { url: string }).url };
}

/** Sends every batch, spread over the ingest URLs; resolves with the events acknowledged. */
async function load(urls: string[], writeKey: string): Promise<number> {
  const bodies = eventBatches(batchSize);
  const authorization = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
  let next = 0;
  let acked = 0;
  async function client(n: number): Promise<void> {
    while (next < batches) {
      next++;
      const body = bodies.next();
      for (let attempt = 0; ; attempt++) {
        const response = await fetch(`${urls[(n + attempt) % urls.length]}/api/telemetry/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization },
          body,
        });
        await response.arrayBuffer();
        if (response.ok) break;
        await new Promise((resolve) =>
          setTimeout(resolve, Number(response.headers.get('retry-after') ?? 1) * 100),
        );
      }
      acked += batchSize;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, (_, n) => client(n)));
  return acked;
}

async function waitForCount(count: () => Promise<number>, target: number): Promise<void> {
  while ((await count()) < target) await new Promise((resolve) => setTimeout(resolve, 100));
}

async function embedded(): Promise<number> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-bench-embedded-'));
  const dataDir = path.join(root, 'all');
  fs.mkdirSync(path.dirname(dataPaths(dataDir).meta), { recursive: true });
  const meta = await openSqliteMetaStore(dataPaths(dataDir).meta);
  const { writeKey } = await new Sources(meta).create({ name: 'bench', allowedOrigins: ['*'] });
  await meta.destroy();
  const server = await startProcess(root, 'all', {});
  try {
    const started = performance.now();
    const acked = await load([server.url], writeKey);
    await waitForCount(async () => {
      const result = await controlRequest<{ rows: unknown[][] }>(dataDir, 'POST', '/api/v1/query', {
        sql: 'SELECT count(*) FROM events',
      });
      return Number(result.body.rows[0]![0]);
    }, acked);
    return acked / ((performance.now() - started) / 1000);
  } finally {
    server.child.kill('SIGKILL');
    fs.rmSync(root, { recursive: true, force: true });
  }
}

async function scaleOut(processes: number): Promise<number> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-bench-scaleout-'));
  const id = randomBytes(5).toString('hex');
  const stream = `DEEPREF_BENCH_${id.toUpperCase()}`;
  const schema = `deepref_bench_${id}`;
  const engines = {
    adapters: { eventLog: 'jetstream', warehouse: 'postgres', meta: 'postgres', realtime: 'memory' },
    nats: { servers: natsUrl, stream, partitions: 8 },
    postgres: { connectionString: postgresUrl, schema },
  };
  const schemas = postgresSchemas(defaultConfig({ postgres: { connectionString: postgresUrl, schema } }));
  const started: Started[] = [];
  const client = new pg.Client({ connectionString: postgresUrl });
  try {
    for (let i = 0; i < processes; i++)
      started.push(await startProcess(root, `ingest-${i}`, { ...engines, role: 'ingest' }));
    for (let i = 0; i < processes; i++)
      started.push(await startProcess(root, `worker-${i}`, { ...engines, role: 'worker' }));
    const meta = await openPostgresMetaStore({ connectionString: postgresUrl, schema: schemas.meta });
    const { writeKey } = await new Sources(meta).create({ name: 'bench', allowedOrigins: ['*'] });
    await meta.destroy();
    await client.connect();
    const begun = performance.now();
    const acked = await load(
      started.slice(0, processes).map((p) => p.url),
      writeKey,
    );
    await waitForCount(async () => {
      const result = await client.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${schemas.warehouse}.events`,
      );
      return Number(result.rows[0]!.n);
    }, acked);
    return acked / ((performance.now() - begun) / 1000);
  } finally {
    for (const p of started) p.child.kill('SIGKILL');
    await client.end().catch(() => undefined);
    await dropScaleOutEngines(stream, schema);
    fs.rmSync(root, { recursive: true, force: true });
  }
}

const reference = await embedded();
const one = await scaleOut(1);
const two = await scaleOut(2);
const rows = [
  ['embedded, 1 process (reference)', reference],
  ['scale-out, 1 ingest + 1 worker', one],
  ['scale-out, 2 ingest + 2 workers', two],
] as const;
console.log(
  `${batches * batchSize} events in batches of ${batchSize}, ${concurrency} concurrent clients, ${os.cpus().length} cores`,
);
for (const [name, rate] of rows) {
  console.log(
    `${name.padEnd(34)} ${Math.round(rate).toString().padStart(8)} events/s   ratio ${(rate / reference).toFixed(2)}`,
  );
}
fs.mkdirSync(path.join(repoRoot, 'bench', 'results'), { recursive: true });
fs.writeFileSync(
  path.join(repoRoot, 'bench', 'results', 'scaleout-latest.json'),
  `${JSON.stringify({ at: new Date().toISOString(), events: batches * batchSize, batchSize, concurrency, eventsPerS: Object.fromEntries(rows), ratio: { oneIngest: one / reference, twoIngest: two / reference } }, null, 2)}\n`,
);
