/**
 * Where an ingested event's cost goes, stage by stage, without HTTP: the same realistic batches as
 * `bench/ingest.ts` go through the collector's stages, the real event log, the warehouse loader and the lake writer
 * of this repository, one stage at a time, in this process.
 *
 * For each stage: CPU microseconds per event on the main thread (what the event loop spends, so what limits one
 * server process) and on all threads together (the log's writer thread, DuckDB's threads, V8's GC helpers), and the
 * wall time. CPU time rather than wall time, so that other processes on the machine barely change the figures.
 * The main-thread sum bounds what one collector process can take: 1,000,000 / sum events per second, before HTTP
 * and Fastify. (Main-thread CPU is read in 10 ms ticks from /proc: give it enough events, 20,000 or more.)
 *
 *   npx tsx bench/ingest-stages.ts [--events 20000] [--concurrency 32]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { StoredEvent } from '@deepref/schema';
import {
  type AppendBatch,
  type EventLog,
  type LogRecord,
  type RawLogRecord,
  readRawRecords,
} from '../packages/platform/src/bus/event-log.ts';
import { openSqliteEventLog } from '../packages/platform/src/bus/sqlite/sqlite-event-log.ts';
import { decodeBody } from '../packages/platform/src/collector/body.ts';
import { createIngestPipeline } from '../packages/platform/src/collector/pipeline.ts';
import type { Source } from '../packages/platform/src/collector/sources.ts';
import type { WireResult } from '../packages/platform/src/collector/wire.ts';
import { defaultIngestConfig } from '../packages/platform/src/config.ts';
import { createMetrics } from '../packages/platform/src/ops/metrics.ts';
import { openLocalKeyStore } from '../packages/platform/src/privacy/keys/local/local-key-store.ts';
import { CachedKeyStore } from '../packages/platform/src/privacy/pii/cached-key-store.ts';
import { createPiiStage } from '../packages/platform/src/privacy/pii/pii-stage.ts';
import { privacyConfig } from '../packages/platform/src/privacy/pii/policy.ts';
import { Pseudonymizer } from '../packages/platform/src/privacy/pseudonymize.ts';
import { openDuckdbWarehouse } from '../packages/platform/src/storage/duckdb/duckdb-warehouse.ts';
import { FsLakeStore } from '../packages/platform/src/storage/fs/fs-lake-store.ts';
import { LakeWriter } from '../packages/platform/src/storage/lake-writer.ts';
import { eventBatches } from './event-batches.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '32' },
  },
});
const batchSize = 50;
const batchCount = Math.ceil(Number(args.events) / batchSize);
const concurrency = Number(args.concurrency);
const events = batchCount * batchSize;

interface StageCost {
  stage: string;
  mainUs: number;
  allThreadsUs: number;
  wallUs: number;
}
const costs: StageCost[] = [];

/** CPU seconds of this process's main thread alone (Linux: its task's utime + stime). */
function mainThreadCpuSeconds(): number {
  const stat = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Runs `work` and records its cost per event: CPU of the main thread, CPU of all threads, wall time. */
async function stage<T>(name: string, work: () => Promise<T> | T): Promise<T> {
  const main = mainThreadCpuSeconds();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const result = await work();
  const wall = performance.now() - started;
  const used = process.cpuUsage(cpu);
  costs.push({
    stage: name,
    mainUs: ((mainThreadCpuSeconds() - main) * 1e6) / events,
    allThreadsUs: (used.user + used.system) / events,
    wallUs: (wall * 1000) / events,
  });
  return result;
}

/** Awaits `tasks` with at most `limit` in flight, as concurrent requests would reach the log. */
async function inWaves<T>(items: T[], limit: number, task: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += limit) await Promise.all(items.slice(i, i + limit).map(task));
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-stages-'));
try {
  const source: Source = { id: 'bench-source', name: 'bench', allowedOrigins: [], createdAt: '' };
  const generator = eventBatches(batchSize);
  const bodies = Array.from({ length: batchCount }, () => Buffer.from(generator.next()));
  const headers = { 'content-type': 'application/json', 'content-length': undefined };
  const metrics = createMetrics();

  // The stages up to the log: a stub log keeps what the collector would append, so each stage runs alone.
  const appended: AppendBatch[] = [];
  const stubLog = {
    append: async (batch: AppendBatch) => {
      appended.push(batch);
      return batch.events.map(() => ({ status: 'accepted' as const, offset: 0 }));
    },
  } as unknown as EventLog;
  const pipeline = createIngestPipeline({ log: stubLog, config: defaultIngestConfig, metrics });
  const receivedAt = new Date();
  const context = { source, receivedAt, request: { ip: '127.0.0.1', userAgent: 'bench' } };

  // Warm-up, so the stages run optimised code.
  for (const body of bodies.slice(0, 200)) {
    const { value } = await decodeBody(body, headers, defaultIngestConfig);
    await pipeline.store(pipeline.map({ kind: 'reference' }, value, context), context);
  }
  appended.length = 0;

  await stage('bare: utf-8 decode + JSON.parse only', () => {
    for (const body of bodies) JSON.parse(body.toString('utf8'));
  });
  const values = await stage('collector: body decode + JSON.parse + proto-key check', async () => {
    const out: unknown[] = [];
    for (const body of bodies) out.push((await decodeBody(body, headers, defaultIngestConfig)).value);
    return out;
  });
  const mapped = await stage('collector: map + validate (wire, envelope, properties)', () =>
    values.map((value) => pipeline.map({ kind: 'reference' }, value, context)),
  );
  const rejected = mapped.flat().filter((item: WireResult) => !item.ok).length;
  if (rejected > 0) throw new Error(`${rejected} events were rejected; the bench batches must all be valid`);
  const results = await stage('collector: enrich + per-event results (log stubbed)', async () => {
    const out = [];
    for (const items of mapped) out.push(await pipeline.store(items, context));
    return out;
  });
  // The PII policy (an edge stage of the platform's pipeline, not of the one above) on the enriched events alone.
  const privacy = privacyConfig();
  const keyStore = new CachedKeyStore(
    await openLocalKeyStore({
      masterKeyFile: path.join(dir, 'secrets', 'master.key'),
      databaseFile: path.join(dir, 'keys.db'),
    }),
    privacy.dataKeyCacheSize,
  );
  const pii = createPiiStage({
    config: privacy,
    keyStore,
    pseudonymizer: new Pseudonymizer(path.join(dir, 'secrets')),
  });
  const edgeContext = { sourceId: source.id, receivedAt, request: context.request };
  for (const batch of appended.slice(0, 200)) await pii.apply(batch.events, edgeContext);
  await stage('collector: PII policy (default privacy config)', async () => {
    for (const batch of appended) await pii.apply(batch.events, edgeContext);
  });
  await keyStore.close();
  await stage('collector: response JSON', () => {
    for (const r of results) JSON.stringify({ success: true, results: r });
  });

  const log = openSqliteEventLog(path.join(dir, 'log', 'events.db'), {
    dedupWindowDays: defaultIngestConfig.dedupWindowDays,
    maxPendingEvents: defaultIngestConfig.maxPendingEvents,
  });
  // Resolves once the writer thread is up and has committed: its start (and tsx compiling it) is no part of the stage.
  await log.commitOffset('bench-warm-up', 0);
  const stored: StoredEvent[][] = appended.map((batch) => batch.events);
  await stage(`log: append, ${concurrency} batches in flight (stringify, insert, group commit, fsync)`, () =>
    inWaves(stored, concurrency, (batch) => log.append({ events: batch, deadLetters: [] })),
  );
  // What the stream jobs read (parsed events); the warehouse loader and the lake writer read the JSON text below.
  const records = await stage('stream: log read (SQLite + JSON.parse), 10,000 a batch', async () => {
    const out: LogRecord[] = [];
    for (let after = 0; ; ) {
      const page = await log.read(after, 10_000);
      if (page.length === 0) return out;
      out.push(...page);
      after = page.at(-1)!.offset;
    }
  });
  if (records.length !== events) throw new Error(`read ${records.length} records, expected ${events}`);
  const raw = await stage('consumer: log read, JSON text (SQLite, no parse), 10,000 a batch', async () => {
    const out: RawLogRecord[] = [];
    for (let after = 0; ; ) {
      const page = await readRawRecords(log, after, 10_000);
      if (page.length === 0) return out;
      out.push(...page);
      after = page.at(-1)!.offset;
    }
  });
  if (raw.length !== events) throw new Error(`read ${raw.length} raw records, expected ${events}`);

  const warehouse = await openDuckdbWarehouse(path.join(dir, 'warehouse', 'warehouse.duckdb'));
  await stage('consumer: warehouse load (JSON text, DuckDB INSERT … SELECT), 10,000 a batch', async () => {
    for (let i = 0; i < raw.length; i += 10_000) {
      await warehouse.loadRaw('warehouse', raw.slice(i, i + 10_000));
    }
  });
  await warehouse.close();

  const writer = await LakeWriter.open({
    log,
    lake: new FsLakeStore(path.join(dir, 'lake')),
    stagingDir: path.join(dir, 'staging'),
  });
  await stage(
    'consumer: lake write (JSON text, DuckDB INSERT … SELECT, Parquet), 50,000 a batch',
    async () => {
      for (let i = 0; i < raw.length; i += 50_000) await writer.writeRaw(raw.slice(i, i + 50_000));
    },
  );
  await writer.stop();
  await log.close();

  const collector = costs.filter((c) => c.stage.startsWith('collector') || c.stage.startsWith('log'));
  const consumers = costs.filter((c) => c.stage.startsWith('consumer'));
  const sum = (list: StageCost[], key: 'mainUs' | 'allThreadsUs') => list.reduce((t, c) => t + c[key], 0);
  const width = Math.max(...costs.map((c) => c.stage.length));
  const line = (name: string, main: number, all: number, wall?: number) =>
    `${name.padEnd(width)}  ${main.toFixed(2).padStart(8)}  ${all.toFixed(2).padStart(13)}` +
    (wall === undefined ? '' : `  ${wall.toFixed(2).padStart(7)}`);
  console.log(
    `${events.toLocaleString('en-US')} events of ~${Math.round(generator.meanEventBytes)} bytes, ` +
      `batches of ${batchSize}, ${os.availableParallelism()} cores, Node ${process.version}\n`,
  );
  const heading = 'CPU µs per event, by stage'.padEnd(width);
  console.log(`${heading}  ${'main'.padStart(8)}  ${'all threads'.padStart(13)}  ${'wall'.padStart(7)}`);
  for (const c of costs) console.log(line(c.stage, c.mainUs, c.allThreadsUs, c.wallUs));
  console.log(line('= collector and log', sum(collector, 'mainUs'), sum(collector, 'allThreadsUs')));
  console.log(line('= consumers', sum(consumers, 'mainUs'), sum(consumers, 'allThreadsUs')));
  const withConsumers = 1e6 / (sum(collector, 'mainUs') + sum(consumers, 'mainUs'));
  const withoutConsumers = 1e6 / sum(collector, 'mainUs');
  console.log(
    `\none main thread, before HTTP and Fastify: at most ${Math.round(withConsumers).toLocaleString('en-US')} ` +
      `events/s with the consumers on it, ${Math.round(withoutConsumers).toLocaleString('en-US')} without`,
  );
  fs.mkdirSync(path.join(import.meta.dirname, 'results'), { recursive: true });
  fs.writeFileSync(
    path.join(import.meta.dirname, 'results', 'ingest-stages-latest.json'),
    `${JSON.stringify({ date: new Date().toISOString(), events, batchSize, concurrency, costs }, null, 2)}\n`,
  );
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
