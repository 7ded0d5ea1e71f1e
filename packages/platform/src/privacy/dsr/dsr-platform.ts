/**
 * Privacy requests as the platform runs them: the subject stores over the running engines, the export packages
 * under `<data-dir>/exports/`, the managed secrets (download-link key, pseudonym key), and the routes.
 */
import path from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import type { EventLog } from '../../bus/event-log.ts';
import { exportRoutes } from '../../exports/export-routes.ts';
import { ExportStore } from '../../exports/export-store.ts';
import { loadOrCreateSecret } from '../../secrets.ts';
import type { LakeWriter } from '../../storage/lake-writer.ts';
import type { MetaStore } from '../../storage/meta-store.ts';
import type { Warehouse } from '../../storage/warehouse.ts';
import type { RealtimeStore } from '../../stream/realtime/realtime-store.ts';
import type { StreamProcessor } from '../../stream/stream-processor.ts';
import type { KeyStore } from '../keys/key-store.ts';
import { dsrRoutes } from './dsr-routes.ts';
import { DsrService } from './dsr-service.ts';
import {
  eventLogStore,
  exportsStore,
  keyStore,
  lakeStore,
  metaStore,
  realtimeStore,
  streamStateStore,
  warehouseStore,
} from './subject-stores.ts';

export interface PrivacyRequestDeps {
  dataDir: string;
  secretsDir: string;
  log: EventLog;
  warehouse: Warehouse;
  lakeWriter: LakeWriter;
  realtime: RealtimeStore;
  realtimeJobs: readonly string[];
  /** The stream processor, whose open windows hold ids until they close. */
  stream: Pick<StreamProcessor, 'findSubject' | 'eraseSubject'>;
  meta: MetaStore;
  /** The MetaStore's engine: how the old versions of the rows an erasure changed leave its files. */
  metaEngine: 'sqlite' | 'postgres';
  keys: KeyStore;
  /** Brings the stores up to date with the log (the platform's drain). */
  settle: () => Promise<void>;
  isAdmin: (request: FastifyRequest) => boolean;
  baseUrl: () => string;
}

/** A truncating checkpoint, retried while a reader (the CLI) holds an old snapshot. */
async function truncateWal(meta: MetaStore): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const { rows } = await sql<{ busy: number }>`PRAGMA wal_checkpoint(TRUNCATE)`.execute(meta);
    if (rows[0]?.busy === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(
    'The MetaStore write-ahead log could not be truncated: a reader kept an old snapshot open.',
  );
}

/** The MetaStore tables whose rows name a subject: an erasure deletes from them or rewrites the id. */
const subjectTables = ['consent_records', 'consent_links', 'dsr_requests', 'exports'] as const;

/**
 * How the old versions of the rows an erasure changed leave the MetaStore's files. SQLite: `secure_delete` zeroes
 * them in place, and after each erasure a truncating checkpoint empties the write-ahead log. PostgreSQL: an UPDATE
 * or DELETE leaves the old row version in the page, and a plain VACUUM only marks its space free; VACUUM FULL
 * rewrites each table that names subjects to new files without them (docs/privacy.md, "PostgreSQL and JetStream").
 */
async function eraseOldVersions(meta: MetaStore, engine: PrivacyRequestDeps['metaEngine']) {
  if (engine === 'sqlite') {
    await sql`PRAGMA secure_delete = ON`.execute(meta);
    return () => truncateWal(meta);
  }
  return async () => {
    for (const table of subjectTables) await sql`VACUUM (FULL) ${sql.table(table)}`.execute(meta);
  };
}

export async function registerPrivacyRequests(
  app: FastifyInstance,
  deps: PrivacyRequestDeps,
): Promise<DsrService> {
  const urlSecret = loadOrCreateSecret(deps.secretsDir, 'export-url');
  const exports = new ExportStore(deps.meta, path.join(deps.dataDir, 'exports'), urlSecret);
  const stores = [
    keyStore(deps.keys),
    eventLogStore(deps.log, deps.keys),
    // Before the stores that windows write to: see streamStateStore.
    streamStateStore(deps.stream),
    warehouseStore(deps.warehouse, deps.keys),
    lakeStore(deps.lakeWriter, deps.keys),
    realtimeStore(deps.realtime, () => deps.realtimeJobs),
    metaStore(deps.meta),
  ];
  const afterErasure = await eraseOldVersions(deps.meta, deps.metaEngine);
  const dsr: DsrService = new DsrService({
    meta: deps.meta,
    stores: [...stores, exportsStore(exports, () => dsr.keptExport)],
    exports,
    pseudonymKey: loadOrCreateSecret(deps.secretsDir, 'dsr-pseudonym'),
    settle: deps.settle,
    afterErasure,
  });
  await app.register(exportRoutes, { exports, urlSecret });
  await app.register(dsrRoutes, { dsr, isAdmin: deps.isAdmin, baseUrl: deps.baseUrl });
  return dsr;
}
