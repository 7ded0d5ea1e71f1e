/**
 * Composes the platform from its ports on the embedded adapters: event log (SQLite), warehouse (DuckDB),
 * lake (Parquet files), metadata (SQLite), with the collector, the consumers that feed the stores, the API and
 * the control socket. `startPlatform` is what `deepref start` and the end-to-end tests run.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { Socket } from 'node:net';
import path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyRequest, LogController } from 'fastify';
import { adminRoutes } from './api/admin-routes.ts';
import { exampleRoutes } from './api/example-routes.ts';
import { opsRoutes } from './api/ops-routes.ts';
import { browserDistDir, sdkRoutes } from './api/sdk-routes.ts';
import type { EventLog } from './bus/event-log.ts';
import { openSqliteEventLog } from './bus/sqlite/sqlite-event-log.ts';
import { createIngestPipeline } from './collector/pipeline.ts';
import { collectorRoutes } from './collector/routes.ts';
import { CachedSourceRegistry, Sources } from './collector/source-registry.ts';
import { dataPaths, type PlatformConfig } from './config.ts';
import { DeeprefError } from './errors.ts';
import { createMetrics, type Metrics } from './ops/metrics.ts';
import { loadOrCreateSecret } from './secrets.ts';
import { openDuckdbWarehouse } from './storage/duckdb/duckdb-warehouse.ts';
import { FsLakeStore } from './storage/fs/fs-lake-store.ts';
import type { LakeStore } from './storage/lake-store.ts';
import { startLakeWriter } from './storage/lake-writer.ts';
import type { MetaStore } from './storage/meta-store.ts';
import { openSqliteMetaStore } from './storage/sqlite/sqlite-meta-store.ts';
import type { Warehouse } from './storage/warehouse.ts';
import { startWarehouseLoader } from './storage/warehouse-loader.ts';
import { MemoryRealtimeStore } from './stream/realtime/memory/memory-realtime-store.ts';
import { startStreamLayer } from './stream/stream-platform.ts';
import { streamRoutes } from './stream/stream-routes.ts';

export interface RunningPlatform {
  url: string;
  config: PlatformConfig;
  app: FastifyInstance;
  log: EventLog;
  warehouse: Warehouse;
  lake: LakeStore;
  meta: MetaStore;
  sources: Sources;
  metrics: Metrics;
  /** Resolves once the warehouse and the lake hold everything the log held when it was called. */
  drain(): Promise<void>;
  /** Graceful stop: refuse new requests, finish those in flight, flush the log, drain the consumers, close. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Pino logger options, or false for none (tests). */
  logger?: boolean | { level: string };
  /** Where `/sdk/` serves the browser SDK from (built there when missing); default: @deepref/browser's dist/. */
  browserSdkDir?: string;
}

export async function startPlatform(
  config: PlatformConfig,
  options: StartOptions = {},
): Promise<RunningPlatform> {
  const paths = dataPaths(config.dataDir);
  fs.mkdirSync(config.dataDir, { recursive: true });
  const metrics = createMetrics();

  const log = openSqliteEventLog(paths.eventLog, {
    dedupWindowDays: config.ingest.dedupWindowDays,
    maxPendingEvents: config.ingest.maxPendingEvents,
  });
  const meta = await openSqliteMetaStore(paths.meta);
  const warehouse = await openDuckdbWarehouse(paths.warehouse);
  const lake = new FsLakeStore(paths.lake);
  const sources = new Sources(meta);

  const pipeline = createIngestPipeline({
    log,
    config: config.ingest,
    metrics,
    ipHashKey: loadOrCreateSecret(paths.secrets, 'ip-hash'),
  });

  let closing: Promise<void> | undefined;
  const controlSockets = new WeakSet<Socket>();
  const isAdmin = (request: FastifyRequest) => controlSockets.has(request.raw.socket);

  const app = Fastify({
    logger: options.logger ?? { level: config.logLevel },
    bodyLimit: config.ingest.maxRequestBytes,
    // One log line per request would cost more than the request at 2,000 requests/s; /metrics counts them.
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: 'idle',
  });
  app.setErrorHandler((error, request, reply) => {
    if (error instanceof DeeprefError) {
      if (error.retryAfter) reply.header('retry-after', String(error.retryAfter));
      return reply.code(error.statusCode).send(error.toJSON());
    }
    const fastifyError = error as { statusCode?: number; code?: string; message: string };
    if (fastifyError.statusCode && fastifyError.statusCode < 500) {
      return reply.code(fastifyError.statusCode).send({
        error: { code: 'DEEPREF_BAD_REQUEST', message: fastifyError.message },
      });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send(new DeeprefError('DEEPREF_INTERNAL', { requestId: request.id }).toJSON());
  });

  await app.register(opsRoutes, {
    log,
    metrics,
    notReady: async () => (closing ? ['stopping'] : []),
  });
  await app.register(collectorRoutes, {
    pipeline,
    sources: new CachedSourceRegistry(meta),
    config: config.ingest,
    metrics,
    isStopping: () => closing !== undefined,
  });
  await app.register(adminRoutes, {
    log,
    warehouse,
    isAdmin,
    replay: (deadLetter) => pipeline.replay(deadLetter),
  });
  await app.register(sdkRoutes, { dir: options.browserSdkDir ?? browserDistDir() });
  await app.register(exampleRoutes, { log, sources, host: config.host });

  const loader = startWarehouseLoader({ log, warehouse, metrics });
  const lakeWriter = await startLakeWriter({ log, lake, metrics, stagingDir: paths.lakeStaging });
  const realtime = new MemoryRealtimeStore();
  const stream = startStreamLayer({
    log,
    warehouse,
    realtime,
    dataDir: config.dataDir,
    logger: app.log,
    metrics,
  });
  await app.register(streamRoutes, { realtime, warehouse, realtimeJobs: stream.realtimeJobs });

  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;

  // The control socket serves the same routes; a connection on it is the operator (file mode 0600).
  fs.rmSync(paths.controlSocket, { force: true });
  const control = http.createServer((req, res) => app.routing(req, res));
  control.on('connection', (socket) => controlSockets.add(socket));
  await new Promise<void>((resolve, reject) => {
    control.once('error', reject);
    control.listen(paths.controlSocket, () => resolve());
  });
  fs.chmodSync(paths.controlSocket, 0o600);

  const runFile = path.join(config.dataDir, 'run', 'server.json');
  fs.mkdirSync(path.dirname(runFile), { recursive: true });
  fs.writeFileSync(runFile, JSON.stringify({ url, pid: process.pid, startedAt: new Date().toISOString() }));

  const close = () => {
    closing ??= (async () => {
      await new Promise<void>((resolve) => control.close(() => resolve()));
      // In-flight requests finish inside app.close(), so every acked append is in the log before the
      // consumers drain it into the warehouse and the lake.
      await app.close();
      await loader.stop({ drain: true });
      await lakeWriter.stop({ drain: true });
      await stream.stop();
      await realtime.close();
      await log.close();
      await warehouse.close();
      await meta.destroy();
      fs.rmSync(runFile, { force: true });
      fs.rmSync(paths.controlSocket, { force: true });
    })();
    return closing;
  };

  return {
    url,
    config,
    app,
    log,
    warehouse,
    lake,
    meta,
    sources,
    metrics,
    drain: async () => {
      await loader.drain();
      await lakeWriter.drain();
      await stream.processor.drain();
    },
    close,
  };
}
