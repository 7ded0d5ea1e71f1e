/**
 * The platform's settings with their defaults. `deepref start` fills them from flags and `DEEPREF_*` variables.
 */
import path from 'node:path';

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

export interface PlatformConfig {
  host: string;
  port: number;
  dataDir: string;
  ingest: IngestConfig;
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

export function defaultConfig(overrides: Partial<PlatformConfig> = {}): PlatformConfig {
  return {
    host: '127.0.0.1',
    port: 8080,
    dataDir: path.resolve('data'),
    logLevel: 'info',
    ...overrides,
    ingest: { ...defaultIngestConfig, ...overrides.ingest },
  };
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
    controlSocket: path.join(dataDir, 'control.sock'),
  };
}
