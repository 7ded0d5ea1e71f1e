/**
 * A process for the crash test that kills itself with SIGKILL at a chosen point inside a consumer's batch, on the
 * real event log, warehouse and lake of a data directory: the windows where exactly-once in the stores is at stake.
 * A timed kill from outside would land in these windows only by luck; a kill from inside lands there every run.
 *
 *   node --import tsx crash-child.ts <mode> <dataDir> [backlog.json acked.json writeKey]
 *
 *   warehouse-mid-load   stores a backlog through the collector pipeline (ids of the acked events to acked.json),
 *                        then dies while the warehouse loader appends its first batch, inside the load transaction
 *   warehouse-after-load dies once the warehouse committed a load, before the loader commits its offset in the log
 *   lake-mid-batch       dies after the lake writer put the first file of a batch spanning several dates, before
 *                        the batch's offset is committed
 *   lake-mid-compaction  dies after a compaction put its merged file, before it deleted the files it merged
 *
 * Exits 3 when the point is never reached, so that a test notices a setup that tests nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { openSqliteEventLog } from '../bus/sqlite/sqlite-event-log.ts';
import { createIngestPipeline } from '../collector/pipeline.ts';
import { CachedSourceRegistry } from '../collector/source-registry.ts';
import { dataPaths, defaultIngestConfig } from '../config.ts';
import { createMetrics } from '../ops/metrics.ts';
import { loadOrCreateSecret } from '../secrets.ts';
import { openDuckdbWarehouse } from '../storage/duckdb/duckdb-warehouse.ts';
import { FsLakeStore } from '../storage/fs/fs-lake-store.ts';
import type { LakeStore } from '../storage/lake-store.ts';
import { LakeWriter } from '../storage/lake-writer.ts';
import { openSqliteMetaStore } from '../storage/sqlite/sqlite-meta-store.ts';
import type { Warehouse } from '../storage/warehouse.ts';
import { createWarehouseLoader } from '../storage/warehouse-loader.ts';

export const crashModes = [
  'warehouse-mid-load',
  'warehouse-after-load',
  'lake-mid-batch',
  'lake-mid-compaction',
] as const;
export type CrashMode = (typeof crashModes)[number];

function die(point: string): never {
  process.stdout.write(`crashing: ${point}\n`);
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable: SIGKILL is not delivered');
}

const [mode, dataDir, backlogFile, ackedFile, writeKey] = process.argv.slice(2) as [
  CrashMode,
  string,
  string?,
  string?,
  string?,
];
if (!crashModes.includes(mode) || !dataDir) {
  console.error(`usage: crash-child.ts <${crashModes.join('|')}> <dataDir> [backlog acked writeKey]`);
  process.exit(2);
}
const paths = dataPaths(dataDir);
const log = openSqliteEventLog(paths.eventLog, {
  dedupWindowDays: defaultIngestConfig.dedupWindowDays,
  maxPendingEvents: defaultIngestConfig.maxPendingEvents,
});

if (mode === 'warehouse-mid-load') {
  if (!backlogFile || !ackedFile || !writeKey)
    throw new Error('warehouse-mid-load needs backlog, acked, key');
  const meta = await openSqliteMetaStore(paths.meta);
  const source = await new CachedSourceRegistry(meta).authenticate(writeKey);
  if (!source) throw new Error('unknown write key');
  const pipeline = createIngestPipeline({
    log,
    config: defaultIngestConfig,
    metrics: createMetrics(),
    ipHashKey: loadOrCreateSecret(paths.secrets, 'ip-hash'),
  });
  const batches = JSON.parse(fs.readFileSync(backlogFile, 'utf8')) as unknown[];
  const acked: string[] = [];
  for (const body of batches) {
    const receivedAt = new Date();
    const items = pipeline.map({ kind: 'reference' }, body, { source, receivedAt });
    const results = await pipeline.store(items, { source, receivedAt, request: { ip: '127.0.0.1' } });
    for (const result of results) if (result.status !== 'rejected') acked.push(result.eventId);
  }
  fs.writeFileSync(ackedFile, JSON.stringify(acked));

  const real = await openDuckdbWarehouse(paths.warehouse);
  const poisoned: Warehouse = {
    load: (consumer, records) => {
      // Reading this record's event happens while the appender fills the open load transaction.
      const victim = records[Math.floor((records.length * 3) / 4)];
      if (victim && records.length > 1) {
        Object.defineProperty(victim, 'event', {
          get: () => die(`warehouse load of ${records.length} records, at offset ${victim.offset}`),
        });
      }
      return real.load(consumer, records);
    },
    loadedOffset: (consumer) => real.loadedOffset(consumer),
    query: (sql, params) => real.query(sql, params),
    queryReadOnly: (sql) => real.queryReadOnly(sql),
    close: () => real.close(),
  };
  await createWarehouseLoader({ log, warehouse: poisoned }).drain();
} else if (mode === 'warehouse-after-load') {
  const warehouse = await openDuckdbWarehouse(paths.warehouse);
  const dyingLog = new Proxy(log, {
    get(target, property) {
      if (property === 'commitOffset') {
        return (consumer: string, offset: number) => die(`${consumer} loaded up to ${offset}, not committed`);
      }
      const value = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  await createWarehouseLoader({ log: dyingLog, warehouse }).drain();
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
    log,
    lake: dying,
    stagingDir: path.join(dataDir, 'lake-staging'),
    batchSize: mode === 'lake-mid-batch' ? 2_000 : 500,
    compactAfterFiles: 3,
  });
  await writer.drain();
}
console.error(`crash-child: ${mode} finished without reaching its crash point`);
process.exit(3);
