/**
 * The platform's settings with their defaults. `deepref start` fills them from flags and `DEEPREF_*` variables.
 */
import path from 'node:path';
import { type PrivacyConfig, privacyConfig } from './privacy/pii/policy.ts';
import { defaultRetentionConfig, type RetentionConfig } from './privacy/retention/retention-policy.ts';

export type IpPolicy = 'truncate' | 'hash' | 'drop';

export interface IngestConfig {
  /** Largest request body, in bytes, after decompression (Segment's limit: 500 KB). */
  maxRequestBytes: number;
  /** Largest single event, in bytes of JSON (Segment's limit: 32 KB). */
  maxEventBytes: number;
  /** How long an eventId is remembered for deduplication. */
  dedupWindowDays: number;
  /** Refuse event names outside the registered taxonomy. */
  strict: boolean;
  /** Events waiting for a group commit; past this the collector answers 503 with Retry-After. */
  maxPendingEvents: number;
  /** What is kept of the client's IP address: the /24 (/48 for IPv6), a keyed hash, or nothing. */
  ipPolicy: IpPolicy;
}

/** The consent gate (privacy/consent/, docs/privacy.md). */
export interface ConsentConfig {
  /**
   * What a subject without a record has granted. `opt-out` (default): `data_collection` and `analytics` until
   * withdrawn; `opt-in`: `data_collection` only. `osint_enrichment` and `marketing` are opt-in in both.
   */
  mode: 'opt-out' | 'opt-in';
  /** Treat `Sec-GPC: 1` and `DNT: 1` on a collector request as a withdrawal of analytics and marketing. */
  honorPrivacySignals: boolean;
  /**
   * How long the gate trusts a cached subject. Writes in this process invalidate at once; this bounds how long a
   * change made by another process (another collector, the CLI) can go unseen.
   */
  cacheTtlMs: number;
  /** Subjects kept in the gate's cache (least recently used dropped first). */
  cacheMaxSubjects: number;
}

/** Which engine holds each port (DESIGN.md, "Ports and adapters"): embedded by default, scale-out by choice. */
export interface AdapterConfig {
  eventLog: 'sqlite' | 'jetstream';
  warehouse: 'duckdb' | 'postgres';
  meta: 'sqlite' | 'postgres';
  realtime: 'memory' | 'redis';
  /**
   * Where the wrapped per-subject data keys live: `local` (a SQLite file in the data directory) or `postgres` (a
   * schema shared by every process, so that an erasure anywhere destroys the key everywhere). Follows `meta` unless
   * set; the master key stays in `secrets/master.key` either way.
   */
  keys: 'local' | 'postgres';
}

/** The roles a process can run; `all` is the single-process default (`deepref start --role`). */
export type Role = 'all' | 'ingest' | 'worker' | 'api' | 'scheduler';

/** The live stream's event-time policy and alerting (stream/, docs/stream-jobs.md). */
export interface StreamConfig {
  lateArrivalToleranceMs: number;
  /** Events stamped later than arrival + this are re-stamped to it or dropped (`latePolicy`). */
  earlyArrivalToleranceMs: number;
  outOfOrderToleranceMs: number;
  latePolicy: 'adjust' | 'drop';
  /** Events older than this on arrival are backfill, recomputed from the warehouse. */
  backfillHorizonMs: number;
  /** Events per user and window above which the alerts job fires. */
  alertThreshold: number;
  /** POSTed each alert (with retries); empty for none. */
  alertWebhookUrl: string;
}

export interface PlatformConfig {
  host: string;
  port: number;
  dataDir: string;
  role: Role;
  adapters: AdapterConfig;
  /** NATS JetStream, for `adapters.eventLog: jetstream`. */
  nats: { servers: string; stream: string; partitions: number; replicas: number };
  /** PostgreSQL, for `adapters.warehouse`, `adapters.meta` or `adapters.keys: postgres`. */
  postgres: { connectionString: string; schema: string };
  /**
   * Redis, for `adapters.realtime: redis`. `keyPrefix` goes before every key, so that deployments sharing one Redis
   * keep apart (default `deepref:`).
   */
  redis: { url: string; keyPrefix: string };
  stream: StreamConfig;
  /** Days each data class is kept, and when the retention job runs (privacy/retention/). */
  retention: RetentionConfig;
  ingest: IngestConfig;
  consent: ConsentConfig;
  /** The PII policy the collector applies before the first write (privacy/pii/, docs/privacy.md). */
  privacy: PrivacyConfig;
  /** Log level for pino. */
  logLevel: string;
}

export const defaultIngestConfig: IngestConfig = {
  maxRequestBytes: 500 * 1024,
  maxEventBytes: 32 * 1024,
  dedupWindowDays: 7,
  strict: false,
  maxPendingEvents: 200_000,
  ipPolicy: 'truncate',
};

export const defaultConsentConfig: ConsentConfig = {
  mode: 'opt-out',
  honorPrivacySignals: true,
  cacheTtlMs: 10_000,
  cacheMaxSubjects: 100_000,
};

export const defaultStreamConfig: StreamConfig = {
  // Browser SDKs batch and retry: allow a minute of lateness and a few seconds of disorder.
  lateArrivalToleranceMs: 60_000,
  // Azure Stream Analytics' early-arrival window: clocks ahead by more than this are not trusted.
  earlyArrivalToleranceMs: 300_000,
  outOfOrderToleranceMs: 5_000,
  latePolicy: 'adjust',
  backfillHorizonMs: 86_400_000,
  alertThreshold: 1_000,
  alertWebhookUrl: '',
};

export function defaultConfig(overrides: Partial<PlatformConfig> = {}): PlatformConfig {
  return {
    host: '127.0.0.1',
    port: 8080,
    dataDir: path.resolve('data'),
    logLevel: 'info',
    role: 'all',
    ...overrides,
    adapters: adapterConfig(overrides.adapters),
    nats: {
      servers: '127.0.0.1:4222',
      stream: 'DEEPREF_EVENTS',
      partitions: 8,
      replicas: 1,
      ...overrides.nats,
    },
    postgres: {
      connectionString: 'postgres://postgres@127.0.0.1:5432/test',
      schema: 'deepref',
      ...overrides.postgres,
    },
    redis: { url: 'redis://127.0.0.1:6379', keyPrefix: 'deepref:', ...overrides.redis },
    stream: { ...defaultStreamConfig, ...overrides.stream },
    retention: { ...defaultRetentionConfig, ...overrides.retention },
    ingest: { ...defaultIngestConfig, ...overrides.ingest },
    consent: { ...defaultConsentConfig, ...overrides.consent },
    privacy: privacyConfig(overrides.privacy),
  };
}

/** The adapters with `overrides` laid over the embedded defaults; the key store follows the MetaStore unless set. */
function adapterConfig(overrides: Partial<AdapterConfig> = {}): AdapterConfig {
  const meta = overrides.meta ?? 'sqlite';
  return {
    eventLog: 'sqlite',
    warehouse: 'duckdb',
    realtime: 'memory',
    ...overrides,
    meta,
    keys: overrides.keys ?? keysFollowing(meta),
  };
}

/** The key store that goes with a MetaStore: shared keys where the metadata is shared. */
export function keysFollowing(meta: AdapterConfig['meta']): AdapterConfig['keys'] {
  return meta === 'postgres' ? 'postgres' : 'local';
}

/** Where each store keeps its files inside the data directory. */
export function dataPaths(dataDir: string) {
  return {
    eventLog: path.join(dataDir, 'log', 'events.db'),
    meta: path.join(dataDir, 'meta', 'meta.db'),
    warehouse: path.join(dataDir, 'warehouse', 'warehouse.duckdb'),
    lake: path.join(dataDir, 'lake'),
    /** Parquet files being written; on the lake's file system, so a put is a rename. Emptied on start. */
    lakeStaging: path.join(dataDir, 'staging', 'lake'),
    secrets: path.join(dataDir, 'secrets'),
    /** The master key that wraps the per-subject data keys (0600), and the wrapped keys. */
    masterKey: path.join(dataDir, 'secrets', 'master.key'),
    keys: path.join(dataDir, 'keys', 'keys.db'),
    controlSocket: path.join(dataDir, 'control.sock'),
  };
}
