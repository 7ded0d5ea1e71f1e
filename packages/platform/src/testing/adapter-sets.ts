/**
 * The adapter sets the end-to-end suites run against. Each suite is a function of an `AdapterSet` and is invoked
 * once per entry here, so a scale-out set (JetStream, PostgreSQL, Azurite) joins every suite by being added to
 * this list, not by copying a test file.
 */
import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import Database from 'better-sqlite3';
import { postgresSchemas } from '../adapters.ts';
import { natsReach, natsUrl } from '../bus/jetstream/nats-test-server.ts';
import { dataPaths, defaultConfig } from '../config.ts';
import { envName } from '../config-file.ts';
import { storableId } from '../privacy/consent/consent-store.ts';
import { deleteRedisKeys, redisReachability, redisUrl } from './redis.ts';
import { servicesRequired } from './services.ts';
import { startTestPlatform, type TestPlatform, type TestPlatformOptions } from './test-platform.ts';
import { postgresAdmin, postgresReachability, postgresUrl } from './warehouses.ts';

export interface AdapterSet {
  /** Shown in the suite's name, e.g. `embedded`. */
  name: string;
  /** Starts a platform on these adapters with its own data, a random port and one write key. */
  start(options?: TestPlatformOptions): Promise<TestPlatform>;
  /**
   * Engines of their own for a test that runs the platform in several processes, one after another (the CLI, the
   * crash test's children), each on the same data directory.
   */
  deploy(): EngineDeployment;
  /**
   * The engines' own consistency checks of what they hold (SQLite's `integrity_check`, …), run while the
   * platform is up; the problems found, or [] when all is sound.
   */
  checkIntegrity(tp: TestPlatform): Promise<string[]>;
  /**
   * The text the warehouse gives back for `text`: itself, or with what the engine cannot hold replaced (a lone
   * surrogate, which the collector keeps only inside JSON, is U+FFFD in every warehouse; PostgreSQL stores NUL as
   * U+FFFD too; docs/deployment-postgres.md).
   */
  warehouseText(text: string): string;
}

export interface EngineDeployment {
  /** The config's `adapters` section and engines' settings (empty on the embedded defaults). */
  engines: Engines;
  /** The same settings as `DEEPREF_*` variables, for a process of its own. */
  env: Record<string, string>;
  /**
   * Frees the work leases that processes killed on purpose still hold (JetStream: they expire 15 s after the
   * last heartbeat), so that the next process takes the partitions at once instead of waiting.
   */
  expireLeases(): Promise<void>;
  /** Removes what the deployment holds in its engines (streams, schemas); the data directory is the caller's. */
  drop(): Promise<void>;
}

type Engines = NonNullable<TestPlatformOptions['engines']>;

/** `{ nats: { servers: … } }` → `{ DEEPREF_NATS_SERVERS: … }`. */
function engineEnv(engines: Engines): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [section, settings] of Object.entries(engines)) {
    for (const [key, value] of Object.entries(settings ?? {}))
      env[envName(`${section}.${key}`)] = String(value);
  }
  return env;
}

/** Lone surrogates as U+FFFD: what every warehouse's JSON holds for them (storage/event-columns.ts). */
const wellFormed = (text: string) => text.replace(/\p{Cs}/gu, '\ufffd');

/** SQLite's `PRAGMA integrity_check` on a database file, read-only beside the server's own connection. */
function sqliteIntegrity(file: string): string[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const result = db.pragma('integrity_check', { simple: false }) as { integrity_check: string }[];
    return result
      .map((row) => row.integrity_check)
      .filter((line) => line !== 'ok')
      .map((line) => `${file}: ${line}`);
  } finally {
    db.close();
  }
}

export const embeddedAdapters: AdapterSet = {
  name: 'embedded',
  warehouseText: wellFormed,
  start: startTestPlatform,
  deploy: () => ({ engines: {}, env: {}, expireLeases: async () => {}, drop: async () => {} }),
  async checkIntegrity(tp) {
    const paths = dataPaths(tp.dataDir);
    return [...sqliteIntegrity(paths.eventLog), ...sqliteIntegrity(paths.meta)];
  },
};

/**
 * Scale-out: JetStream event log, PostgreSQL warehouse and metadata, Redis real-time store. Each platform gets a
 * stream, schemas and a Redis key prefix of its own, removed when it closes. Joins the suites when NATS, PostgreSQL
 * and Redis answer; without them it is left out
 * with a warning, or kept (and failing) under DEEPREF_REQUIRE_SERVICES=1.
 */
export const scaleOutAdapters: AdapterSet = {
  name: 'scale-out',
  warehouseText: (text) => storableId(text),
  async start(options = {}) {
    const deployment = scaleOutAdapters.deploy();
    let tp: TestPlatform;
    try {
      tp = await startTestPlatform({ ...options, engines: deployment.engines });
    } catch (error) {
      await deployment.drop();
      throw error;
    }
    const close = tp.close;
    return {
      ...tp,
      async close(closeOptions) {
        try {
          await close(closeOptions);
        } finally {
          await deployment.drop();
        }
      },
    };
  },
  deploy() {
    const id = randomBytes(5).toString('hex');
    const stream = `DEEPREF_TEST_${id.toUpperCase()}`;
    const schema = `deepref_test_${id}`;
    const keyPrefix = `deepref-test:${id}:`;
    const engines: Engines = {
      adapters: {
        eventLog: 'jetstream',
        warehouse: 'postgres',
        meta: 'postgres',
        realtime: 'redis',
        keys: 'postgres',
      },
      nats: { servers: natsUrl, stream, partitions: 4, replicas: 1 },
      postgres: { connectionString: postgresUrl, schema },
      redis: { url: redisUrl, keyPrefix },
    };
    return {
      engines,
      env: engineEnv(engines),
      expireLeases: () => purgeLeases(stream),
      drop: async () => {
        await dropScaleOutEngines(stream, schema);
        await deleteRedisKeys(keyPrefix);
      },
    };
  },
  async checkIntegrity(tp) {
    const paths = dataPaths(tp.dataDir);
    // Exactly once: no event stored twice in the warehouse.
    const twice = await tp.platform.warehouse.query(
      'SELECT event_id, count(*) FROM events GROUP BY event_id HAVING count(*) > 1 LIMIT 10',
    );
    return [
      ...(tp.platform.config.adapters.keys === 'local' ? sqliteIntegrity(paths.keys) : []),
      ...twice.rows.map(([id, count]) => `warehouse: event ${id} stored ${count} times`),
    ];
  },
};

/**
 * Empties the lease buckets of a deployment's workers (adapters.ts `openWorkerLeases`), as their expiry would.
 * A bucket not made yet (no worker ran) has nothing to free.
 */
async function purgeLeases(stream: string): Promise<void> {
  const buckets = new Set(['LEASES', 'WORKERS', 'SINGLETONS'].map((bucket) => `KV_${stream}_${bucket}`));
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    for await (const name of jsm.streams.names()) {
      if (buckets.has(name)) await jsm.streams.purge(name);
    }
  } finally {
    await nc.close();
  }
}

/** Deletes a test deployment's streams and buckets and drops its schemas. */
export async function dropScaleOutEngines(stream: string, schema: string): Promise<void> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    const names: string[] = [];
    for await (const name of jsm.streams.names()) {
      if (name.startsWith(stream) || name.startsWith(`KV_${stream}`)) names.push(name);
    }
    await Promise.all(names.map((name) => jsm.streams.delete(name).catch(() => false)));
  } finally {
    await nc.close();
  }
  const { warehouse, meta, keys } = postgresSchemas(
    defaultConfig({ postgres: { connectionString: postgresUrl, schema } }),
  );
  await postgresAdmin(async (client) => {
    await client.query(`DROP SCHEMA IF EXISTS ${warehouse} CASCADE`);
    await client.query(`DROP SCHEMA IF EXISTS ${meta} CASCADE`);
    await client.query(`DROP SCHEMA IF EXISTS ${keys} CASCADE`);
  });
}

const natsReachability = await natsReach();
const scaleOutReachable =
  natsReachability.unreachable === undefined &&
  postgresReachability.unreachable === undefined &&
  redisReachability.unreachable === undefined;

export const adapterSets: readonly AdapterSet[] =
  scaleOutReachable || servicesRequired ? [embeddedAdapters, scaleOutAdapters] : [embeddedAdapters];
