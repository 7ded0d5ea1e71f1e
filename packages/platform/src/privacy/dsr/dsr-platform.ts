/**
 * Privacy requests as the platform runs them: the subject stores over the running engines, the export packages
 * (in the MetaStore, so any process serves their links), the managed secrets (download-link key, pseudonym key), and the routes. An `all`
 * process runs requests itself (`registerPrivacyRequests`); in a split deployment the api process queues them
 * (`registerQueuedPrivacyRequests`) and the worker holding the singleton lease runs them
 * (`startPrivacyRequestRunner`, dsr-runner.ts).
 */
import path from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import type { EventLog } from '../../bus/event-log.ts';
import { DeeprefError } from '../../errors.ts';
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
import { DsrRunner, runOnWorker } from './dsr-runner.ts';
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

/**
 * The MetaStore tables an erasure deletes from or rewrites: those whose rows name a subject, and the sealed export
 * packages (whose keys it destroys first).
 */
const subjectTables = [
  'consent_records',
  'consent_links',
  'dsr_requests',
  'exports',
  'export_contents',
] as const;

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

/** The service over every subject store, as a process that holds them all runs it. */
async function runningService(deps: Omit<PrivacyRequestDeps, 'isAdmin' | 'baseUrl'>) {
  const urlSecret = loadOrCreateSecret(deps.secretsDir, 'export-url');
  const exports = new ExportStore(deps.meta, deps.keys, urlSecret);
  await exports.adoptFiles(path.join(deps.dataDir, 'exports'));
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
  return { dsr, exports, urlSecret };
}

/** The `all` process: the routes, and requests run here when the operator runs them. */
export async function registerPrivacyRequests(
  app: FastifyInstance,
  deps: PrivacyRequestDeps,
): Promise<DsrService> {
  const { dsr, exports, urlSecret } = await runningService(deps);
  await app.register(exportRoutes, { exports, urlSecret });
  await app.register(dsrRoutes, { dsr, isAdmin: deps.isAdmin, baseUrl: deps.baseUrl });
  return dsr;
}

/**
 * The api process of a split deployment: the same routes, but `run` queues the request for the workers' runner and
 * answers with its outcome (dsr-runner.ts). It holds no subject store, so the service here never runs a request. It
 * serves the download links of the packages the worker made: both read them from the shared MetaStore and KeyStore,
 * and check the links with the same `secrets/export-url.key` (the processes share `secrets/`, docs/deployment.md).
 */
export async function registerQueuedPrivacyRequests(
  app: FastifyInstance,
  deps: Pick<PrivacyRequestDeps, 'secretsDir' | 'meta' | 'keys' | 'isAdmin' | 'baseUrl'> & {
    /** True once the process is closing: a `run` waiting for its outcome answers at once. */
    isStopping: () => boolean;
  },
): Promise<DsrService> {
  const urlSecret = loadOrCreateSecret(deps.secretsDir, 'export-url');
  const exports = new ExportStore(deps.meta, deps.keys, urlSecret);
  const dsr = new DsrService({
    meta: deps.meta,
    stores: [],
    exports,
    pseudonymKey: loadOrCreateSecret(deps.secretsDir, 'dsr-pseudonym'),
  });
  await app.register(exportRoutes, { exports, urlSecret });
  await app.register(dsrRoutes, {
    dsr,
    isAdmin: deps.isAdmin,
    baseUrl: deps.baseUrl,
    run: (id, actor) => runOnWorker(dsr, id, actor, { isStopping: deps.isStopping }),
  });
  return dsr;
}

/** The worker that holds the stream layer and the lake writer: runs the requests the api process queued. */
export async function startPrivacyRequestRunner(
  deps: Omit<PrivacyRequestDeps, 'isAdmin' | 'baseUrl'> & {
    /** The worker's lease owner, which the audit rows name. */
    owner: string;
    onError?: (error: unknown) => void;
  },
): Promise<DsrRunner> {
  const { dsr } = await runningService(deps);
  return DsrRunner.start({
    dsr,
    name: `worker ${deps.owner}`,
    ...(deps.onError ? { onError: deps.onError } : {}),
  });
}

/**
 * A worker's settle before a request runs: every partition's warehouse loader (on whichever worker) has loaded what
 * the log held when it was called, then the local lake writer and stream layer have taken it in. Refuses after
 * `timeoutMs` (a partition whose loader died waits for its lease to move), which fails the request, to be run again.
 */
export async function settleSplitStores(deps: {
  log: EventLog;
  loadedOffset: () => Promise<number>;
  lakeWriter: Pick<LakeWriter, 'drain'>;
  stream: Pick<StreamProcessor, 'drain'>;
  timeoutMs?: number;
}): Promise<void> {
  const head = await deps.log.head();
  const deadline = Date.now() + (deps.timeoutMs ?? 120_000);
  for (let loaded = await deps.loadedOffset(); loaded < head; loaded = await deps.loadedOffset()) {
    if (Date.now() >= deadline) {
      throw new DeeprefError('DEEPREF_DSR_STORES_BEHIND', { loaded, head });
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await deps.lakeWriter.drain();
  await deps.stream.drain();
}
