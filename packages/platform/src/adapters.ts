/**
 * Opens each port's adapter from the config (DESIGN.md, "Ports and adapters"): the one place that knows which
 * engine holds what, so the rest of the platform sees only the ports and never imports a driver.
 */
import fs from 'node:fs';
import os from 'node:os';
import { duckdbDialect, postgresDialect, type SqlDialect } from './analytics/sql.ts';
import type { LeaderLock } from './batch/scheduler.ts';
import { soleLeader } from './batch/scheduler.ts';
import type { EventLog } from './bus/event-log.ts';
import { openJetStreamEventLog } from './bus/jetstream/jetstream-event-log.ts';
import { PartitionLeases } from './bus/jetstream/partition-leases.ts';
import type { Leasing } from './bus/leasing.ts';
import { openSqliteEventLog } from './bus/sqlite/sqlite-event-log.ts';
import { dataPaths, type PlatformConfig } from './config.ts';
import type { KeyStore } from './privacy/keys/key-store.ts';
import { openLocalKeyStore } from './privacy/keys/local/local-key-store.ts';
import { adoptLocalKeys } from './privacy/keys/postgres/adopt-local-keys.ts';
import { openPostgresKeyStore } from './privacy/keys/postgres/postgres-key-store.ts';
import { openDuckdbWarehouse } from './storage/duckdb/duckdb-warehouse.ts';
import type { MetaStore } from './storage/meta-store.ts';
import { PostgresLeaderLock } from './storage/postgres/postgres-leader-lock.ts';
import { openPostgresMetaStore } from './storage/postgres/postgres-meta-store.ts';
import { PostgresStorableTextPlugin } from './storage/postgres/postgres-storable-text.ts';
import { openPostgresWarehouse } from './storage/postgres/postgres-warehouse.ts';
import { openSqliteMetaStore } from './storage/sqlite/sqlite-meta-store.ts';
import type { Warehouse } from './storage/warehouse.ts';
import { MemoryRealtimeStore } from './stream/realtime/memory/memory-realtime-store.ts';
import type { RealtimeStore } from './stream/realtime/realtime-store.ts';
import { RedisRealtimeStore } from './stream/realtime/redis/redis-realtime-store.ts';

/**
 * The subjects of a stream are named after it (`DEEPREF_EVENTS` → `deepref.events.<n>`), so that streams of
 * several deployments on one NATS server never claim the same subjects.
 */
export function subjectPrefixOf(stream: string): string {
  return stream.toLowerCase().replace(/_/g, '.');
}

export function openEventLog(config: PlatformConfig): Promise<EventLog> {
  if (config.adapters.eventLog === 'jetstream') {
    return openJetStreamEventLog({
      servers: config.nats.servers,
      stream: config.nats.stream,
      subjectPrefix: subjectPrefixOf(config.nats.stream),
      partitions: config.nats.partitions,
      replicas: config.nats.replicas,
      dedupWindowDays: config.ingest.dedupWindowDays,
      maxPendingEvents: config.ingest.maxPendingEvents,
    });
  }
  return Promise.resolve(
    openSqliteEventLog(dataPaths(config.dataDir).eventLog, {
      dedupWindowDays: config.ingest.dedupWindowDays,
      maxPendingEvents: config.ingest.maxPendingEvents,
    }),
  );
}

/** PostgreSQL holds the warehouse, the metadata and the data keys in schemas named after `postgres.schema`. */
export function postgresSchemas(config: PlatformConfig): { warehouse: string; meta: string; keys: string } {
  const { schema } = config.postgres;
  return { warehouse: `${schema}_warehouse`, meta: `${schema}_meta`, keys: `${schema}_keys` };
}

export function openWarehouse(config: PlatformConfig): Promise<Warehouse> {
  if (config.adapters.warehouse === 'postgres') {
    return openPostgresWarehouse({
      connectionString: config.postgres.connectionString,
      schema: postgresSchemas(config).warehouse,
    });
  }
  return openDuckdbWarehouse(dataPaths(config.dataDir).warehouse);
}

/** The SQL dialect of the warehouse `openWarehouse` opens: the analytics library writes its queries in it. */
export function warehouseDialect(config: PlatformConfig): SqlDialect {
  return config.adapters.warehouse === 'postgres' ? postgresDialect : duckdbDialect;
}

export async function openMetaStore(config: PlatformConfig): Promise<MetaStore> {
  if (config.adapters.meta === 'postgres') {
    // NUL in bound text as U+FFFD, which PostgreSQL can store (postgres-storable-text.ts).
    const meta = await openPostgresMetaStore({
      connectionString: config.postgres.connectionString,
      schema: postgresSchemas(config).meta,
    });
    return meta.withPlugin(new PostgresStorableTextPlugin());
  }
  return openSqliteMetaStore(dataPaths(config.dataDir).meta);
}

/**
 * The per-subject data keys, wrapped under the master key file of the data directory in both cases: in PostgreSQL
 * (a schema of its own, so a dump of the metadata can leave it out) when processes share them, else in a local file.
 * Keys this data directory kept locally before move into the shared store on open.
 */
export async function openKeyStore(config: PlatformConfig): Promise<KeyStore> {
  const paths = dataPaths(config.dataDir);
  if (config.adapters.keys === 'local') {
    return openLocalKeyStore({ masterKeyFile: paths.masterKey, databaseFile: paths.keys });
  }
  // Keys kept locally before are checked against the master key file first (finishing a rotation left half done),
  // so that the shared store never makes a new master key beside them.
  if (fs.existsSync(paths.keys)) {
    await (await openLocalKeyStore({ masterKeyFile: paths.masterKey, databaseFile: paths.keys })).close();
  }
  const store = await openPostgresKeyStore({
    connectionString: config.postgres.connectionString,
    schema: postgresSchemas(config).keys,
    masterKeyFile: paths.masterKey,
  });
  try {
    await adoptLocalKeys(store, paths.keys);
    return store;
  } catch (error) {
    await store.close();
    throw error;
  }
}

export async function openRealtimeStore(config: PlatformConfig): Promise<RealtimeStore> {
  if (config.adapters.realtime === 'redis') {
    return RedisRealtimeStore.connect({ url: config.redis.url, keyPrefix: config.redis.keyPrefix });
  }
  return new MemoryRealtimeStore();
}

/** Who runs the schedules: with the metadata in PostgreSQL several scheduler processes may run, one leads. */
export function openLeaderLock(config: PlatformConfig): LeaderLock {
  if (config.adapters.meta !== 'postgres') return soleLeader;
  return new PostgresLeaderLock({
    connectionString: config.postgres.connectionString,
    name: `deepref.scheduler.${config.postgres.schema}`,
  });
}

/** The leases workers share the event log's work by; only a partitioned log (JetStream) has them. */
export interface WorkerLeases {
  /** One lease per partition of the log. */
  partitions: Leasing;
  /** One slot per live worker, so that each knows its share of the partitions. */
  members: Leasing;
  /** Work that runs on one worker at a time: slot 0 the stream layer, the lake writer and privacy requests. */
  singletons: Leasing;
  close(): Promise<void>;
}

/**
 * One lease for the stream layer, the lake writer and the privacy-request runner: an erasure reaches the stream
 * state and the lake's files, both local to the worker that runs them, so one worker holds all three and runs the
 * request in-process, with the same steps and proof as an `all` process (privacy/dsr/dsr-runner.ts).
 */
export const singletonSlot = 0;

export async function openWorkerLeases(config: PlatformConfig): Promise<WorkerLeases | undefined> {
  if (config.adapters.eventLog !== 'jetstream') return undefined;
  const owner = `${os.hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  const open = (suffix: string) =>
    PartitionLeases.open({
      servers: config.nats.servers,
      bucket: `${config.nats.stream}_${suffix}`,
      owner,
      replicas: config.nats.replicas,
    });
  const partitions = await open('LEASES');
  const members = await open('WORKERS');
  const singletons = await open('SINGLETONS');
  return {
    partitions,
    members,
    singletons,
    async close() {
      await Promise.all([partitions.close(), members.close(), singletons.close()]);
    },
  };
}
