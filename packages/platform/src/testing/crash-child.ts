/**
 * A process for the crash test that kills itself with SIGKILL at a chosen point inside a consumer's batch, on the
 * real event log, warehouse and lake of a deployment: the windows where exactly-once in the stores is at stake.
 * A timed kill from outside would land in these windows only by luck; a kill from inside lands there every run.
 * The engines come from the platform's own adapter selection (adapters.ts) on the configuration the environment
 * gives (`DEEPREF_ADAPTERS_*`, …; testing/adapter-sets.ts `deploy`), so every adapter set runs its real code.
 *
 *   node --import tsx crash-child.ts <mode> <dataDir> [batches.json acked.json writeKey]
 *
 *   warehouse-mid-load   stores a backlog through the collector pipeline (ids of the acked events to acked.json),
 *                        then dies inside the warehouse loader's first load transaction, its rows inserted, at the
 *                        statement that stores its offset (DuckDB or PostgreSQL), before the commit
 *   warehouse-after-load dies once the warehouse committed a load, before the loader commits its offset in the log
 *                        (SQLite: its offsets table; JetStream: its offsets bucket)
 *   lake-mid-batch       dies after the lake writer put the first file of a batch spanning several dates, before
 *                        the batch's offset is committed
 *   lake-mid-compaction  dies after a compaction put its merged file, before it deleted the files it merged
 *   log-after-publish    JetStream only: stores one batch through the collector pipeline and dies once JetStream
 *                        acknowledged its events, before the log marked their ids seen; the batch was never
 *                        answered, so the test sends it again
 *
 * Exits 3 when the point is never reached, so that a test notices a setup that tests nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBConnection } from '@duckdb/node-api';
import pg from 'pg';
import { openEventLog, openMetaStore, openWarehouse, openWorkerLeases } from '../adapters.ts';
import type { EventLog } from '../bus/event-log.ts';
import { KvBucket } from '../bus/jetstream/kv-bucket.ts';
import { createIngestPipeline } from '../collector/pipeline.ts';
import { CachedSourceRegistry } from '../collector/source-registry.ts';
import { dataPaths, type PlatformConfig } from '../config.ts';
import { loadConfig } from '../config-file.ts';
import { createMetrics } from '../ops/metrics.ts';
import { loadOrCreateSecret } from '../secrets.ts';
import { FsLakeStore } from '../storage/fs/fs-lake-store.ts';
import type { LakeStore } from '../storage/lake-store.ts';
import { LakeWriter } from '../storage/lake-writer.ts';
import { startPartitionedLoader } from '../storage/partitioned-warehouse-loader.ts';
import type { Warehouse } from '../storage/warehouse.ts';
import { createWarehouseLoader } from '../storage/warehouse-loader.ts';

export const crashModes = [
  'warehouse-mid-load',
  'warehouse-after-load',
  'lake-mid-batch',
  'lake-mid-compaction',
  'log-after-publish',
] as const;
export type CrashMode = (typeof crashModes)[number];

function die(point: string): never {
  process.stdout.write(`crashing: ${point}\n`);
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable: SIGKILL is not delivered');
}

const [mode, dataDir, batchesFile, ackedFile, writeKey] = process.argv.slice(2) as [
  CrashMode,
  string,
  string?,
  string?,
  string?,
];
if (!crashModes.includes(mode) || !dataDir) {
  console.error(`usage: crash-child.ts <${crashModes.join('|')}> <dataDir> [batches acked writeKey]`);
  process.exit(2);
}
const { config } = await loadConfig({ flags: { dataDir } });
const paths = dataPaths(dataDir);

/** Stores the batches of `batchesFile` through the collector pipeline; writes the acked ids to `ackedFile`. */
async function ingest(log: EventLog): Promise<void> {
  if (!batchesFile || !ackedFile || !writeKey) throw new Error(`${mode} needs batches, acked, key`);
  const meta = await openMetaStore(config);
  const source = await new CachedSourceRegistry(meta).authenticate(writeKey);
  if (!source) throw new Error('unknown write key');
  const pipeline = createIngestPipeline({
    log,
    config: config.ingest,
    metrics: createMetrics(),
    ipHashKey: loadOrCreateSecret(paths.secrets, 'ip-hash'),
  });
  const acked: string[] = [];
  for (const body of JSON.parse(fs.readFileSync(batchesFile, 'utf8')) as unknown[]) {
    const receivedAt = new Date();
    const items = pipeline.map({ kind: 'reference' }, body, { source, receivedAt });
    const results = await pipeline.store(items, { source, receivedAt, request: { ip: '127.0.0.1' } });
    for (const result of results) if (result.status !== 'rejected') acked.push(result.eventId);
  }
  fs.writeFileSync(ackedFile, JSON.stringify(acked));
  await meta.destroy();
}

/** The warehouse loader the platform runs on this log (platform.ts): one consumer, or one per leased partition. */
async function loadWarehouse(log: EventLog, warehouse: Warehouse): Promise<void> {
  const leases = await openWorkerLeases(config);
  if (!leases) return createWarehouseLoader({ log, warehouse }).drain();
  const loader = await startPartitionedLoader({
    log,
    warehouse,
    partitions: leases.partitions,
    members: leases.members,
  });
  await loader.drain();
}

/** `target` with one method replaced, every other member its own. */
function replacing<T extends object>(target: T, name: keyof T, method: unknown): T {
  return new Proxy(target, {
    get(object, property) {
      if (property === name) return method;
      const value = Reflect.get(object, property);
      return typeof value === 'function' ? value.bind(object) : value;
    },
  });
}

/** The statement that stores a load's new offset: the last of its transaction, after the rows, before COMMIT. */
function storesLoadedOffset(sql: unknown, params: unknown): boolean {
  return (
    typeof sql === 'string' &&
    /^\s*(INSERT INTO|UPDATE) _consumer_offsets\b/.test(sql) &&
    Array.isArray(params) &&
    params.length === 2
  );
}

/**
 * From now on, the warehouse engine's driver dies at the statement that stores a load's offset: the rows of the
 * load are in its open transaction, neither they nor the offset are committed. At the driver, below the adapter, so
 * that the kill lands there whichever way the adapter makes its rows (DuckDB from parsed events or from the log's
 * JSON text, PostgreSQL from rows built before BEGIN).
 */
function dieInNextLoadTransaction(engine: PlatformConfig['adapters']['warehouse']): void {
  const dieAt = (params: unknown[]) =>
    die(`warehouse load of ${params[0]} up to offset ${params[1]}: rows inserted, transaction open`);
  if (engine === 'postgres') {
    const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const [statement, values] = args as [string | { text?: string; values?: unknown[] }, unknown[]?];
      const sql = typeof statement === 'string' ? statement : statement?.text;
      const params = values ?? (typeof statement === 'object' ? statement?.values : undefined);
      if (storesLoadedOffset(sql, params)) dieAt(params as unknown[]);
      return query.apply(this, args);
    } as typeof pg.Client.prototype.query;
    return;
  }
  const run = DuckDBConnection.prototype.run;
  DuckDBConnection.prototype.run = function (this: DuckDBConnection, ...args: Parameters<typeof run>) {
    if (storesLoadedOffset(args[0], args[1])) dieAt(args[1] as unknown[]);
    return run.apply(this, args);
  };
}

if (mode === 'log-after-publish') {
  if (config.adapters.eventLog !== 'jetstream') throw new Error('log-after-publish needs the JetStream log');
  // The log marks an event's id seen (a put in its `_SEEN` bucket) only after JetStream acknowledged the event.
  const put = KvBucket.prototype.put;
  KvBucket.prototype.put = function (this: KvBucket, ...args: Parameters<KvBucket['put']>) {
    if (this.stream.endsWith('_SEEN'))
      die(`events acknowledged by JetStream, id ${args[0]} not yet marked seen`);
    return put.apply(this, args);
  };
  await ingest(await openEventLog(config));
} else if (mode === 'warehouse-mid-load') {
  const log = await openEventLog(config);
  await ingest(log);
  const warehouse = await openWarehouse(config);
  dieInNextLoadTransaction(config.adapters.warehouse);
  await loadWarehouse(log, warehouse);
} else if (mode === 'warehouse-after-load') {
  const log = await openEventLog(config);
  const dyingLog = replacing(log, 'commitOffset', (consumer: string, offset: number) =>
    die(`${consumer} loaded up to ${offset}, not committed`),
  );
  await loadWarehouse(dyingLog, await openWarehouse(config));
} else {
  const lake = new FsLakeStore(paths.lake);
  const batchStarts = new Set<string>();
  const dying: LakeStore = {
    putFile: async (key, localPath) => {
      await lake.putFile(key, localPath);
      const name = path.posix.basename(key);
      if (mode === 'lake-mid-compaction' && name.startsWith('compact-')) die(`compaction put ${key}`);
      if (mode === 'lake-mid-batch' && name.startsWith('part-')) {
        batchStarts.add(name.split('-')[1]!);
        if (batchStarts.size === 2) die(`first file of a batch put, ${key}`);
      }
    },
    localPath: (key) => lake.localPath(key),
    list: (prefix) => lake.list(prefix),
    delete: (key) => lake.delete(key),
    glob: (prefix) => lake.glob(prefix),
  };
  const writer = await LakeWriter.open({
    log: await openEventLog(config),
    lake: dying,
    stagingDir: paths.lakeStaging,
    batchSize: mode === 'lake-mid-batch' ? 2_000 : 500,
    compactAfterFiles: 3,
  });
  await writer.drain();
}
console.error(`crash-child: ${mode} finished without reaching its crash point`);
process.exit(3);
