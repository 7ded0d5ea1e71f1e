/**
 * Composes the platform from its ports, on the adapters the config names (adapters.ts): event log, warehouse,
 * lake, metadata, real-time store, with the collector, the consumers that feed the stores, the API and the control
 * socket. `config.role` picks the parts this process runs (`all`: every part; DESIGN.md, docs/deployment.md).
 * `startPlatform` is what `deepref start` and the end-to-end tests run.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { Socket } from 'node:net';
import path from 'node:path';
import fastifyCookie from '@fastify/cookie';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import {
  openEventLog,
  openKeyStore,
  openLeaderLock,
  openMetaStore,
  openRealtimeStore,
  openWarehouse,
  openWorkerLeases,
  singletonSlot,
  warehouseDialect,
} from './adapters.ts';
import type { SqlDialect } from './analytics/sql.ts';
import { adminRoutes } from './api/admin-routes.ts';
import { analyticsRoutes } from './api/analytics-routes.ts';
import { createAuth } from './api/auth/auth.ts';
import { authRoutes } from './api/auth/auth-routes.ts';
import { dashboardDistDir, dashboardRoutes } from './api/dashboard-routes.ts';
import { addApiDocs } from './api/docs-routes.ts';
import { exampleRoutes } from './api/example-routes.ts';
import { refuseNonFiniteNumbers } from './api/finite-numbers.ts';
import { opsRoutes } from './api/ops-routes.ts';
import { browserDistDir, sdkRoutes } from './api/sdk-routes.ts';
import { jobRoutes } from './batch/job-routes.ts';
import { resultsPrefix, streamResultsToLakeJob } from './batch/jobs/stream-results-to-lake.ts';
import { Scheduler } from './batch/scheduler.ts';
import type { EventLog } from './bus/event-log.ts';
import { type LeasedWork, runWhileLeased } from './bus/leasing.ts';
import { createIngestPipeline } from './collector/pipeline.ts';
import { collectorRoutes } from './collector/routes.ts';
import { CachedSourceRegistry, Sources } from './collector/source-registry.ts';
import { dataPaths, type PlatformConfig } from './config.ts';
import { DeeprefError } from './errors.ts';
import { ExportStore } from './exports/export-store.ts';
import { backupRoutes } from './ops/backup.ts';
import { createMetrics, type Metrics } from './ops/metrics.ts';
import { ConsentCache } from './privacy/consent/consent-cache.ts';
import { consentGate } from './privacy/consent/consent-gate.ts';
import { consentRoutes } from './privacy/consent/consent-routes.ts';
import { ConsentStore } from './privacy/consent/consent-store.ts';
import {
  registerPrivacyRequests,
  registerQueuedPrivacyRequests,
  settleSplitStores,
  startPrivacyRequestRunner,
} from './privacy/dsr/dsr-platform.ts';
import { CachedKeyStore } from './privacy/pii/cached-key-store.ts';
import { createPiiStage } from './privacy/pii/pii-stage.ts';
import { Pseudonymizer } from './privacy/pseudonymize.ts';
import { LakeRetentionRunner, queueLakeRetention } from './privacy/retention/lake-retention-runner.ts';
import type { RetentionStores } from './privacy/retention/retention.ts';
import { retentionJob } from './privacy/retention/retention-job.ts';
import { retentionRoutes } from './privacy/retention/retention-routes.ts';
import { loadOrCreateSecret } from './secrets.ts';
import type { DuckdbWarehouse } from './storage/duckdb/duckdb-warehouse.ts';
import { FsLakeStore } from './storage/fs/fs-lake-store.ts';
import { expireLakeResultDays } from './storage/lake-retention.ts';
import type { LakeStore } from './storage/lake-store.ts';
import { type LakeWriter, lakeConsumer, startLakeWriter } from './storage/lake-writer.ts';
import type { MetaStore } from './storage/meta-store.ts';
import {
  type PartitionedLoader,
  partitionConsumer,
  partitionedLoadedOffset,
  startPartitionedLoader,
} from './storage/partitioned-warehouse-loader.ts';
import type { Warehouse } from './storage/warehouse.ts';
import { startWarehouseLoader, warehouseConsumer } from './storage/warehouse-loader.ts';
import { defaultStreamJobs } from './stream/jobs/index.ts';
import { type StreamLayer, startStreamLayer } from './stream/stream-platform.ts';
import { streamConsumer } from './stream/stream-processor.ts';
import { streamRoutes } from './stream/stream-routes.ts';

export interface RunningPlatform {
  url: string;
  config: PlatformConfig;
  app: FastifyInstance;
  log: EventLog;
  warehouse: Warehouse;
  /** The SQL dialect of `warehouse`, for the analytics library's calls on it. */
  dialect: SqlDialect;
  lake: LakeStore;
  meta: MetaStore;
  sources: Sources;
  metrics: Metrics;
  scheduler: Scheduler;
  /**
   * The per-subject data keys the PII stage encrypts with, cached in memory: erase a subject through this object
   * (`keyStore.destroy`), so the cached key goes too.
   */
  keyStore: CachedKeyStore;
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
  /** Where `/` serves the dashboard from (built there when missing); default: @deepref/dashboard's dist/. */
  dashboardDir?: string;
  /** The time for session expiry and sign-in limits (tests move it instead of waiting); default: the clock. */
  now?: () => Date;
  /** Shows the admin password made on the first start; default: standard error (never the pino log). */
  announceAdminPassword?: (message: string) => void;
}

export async function startPlatform(
  config: PlatformConfig,
  options: StartOptions = {},
): Promise<RunningPlatform> {
  const paths = dataPaths(config.dataDir);
  fs.mkdirSync(config.dataDir, { recursive: true });
  const metrics = createMetrics();

  // The parts this process runs: every one under `all`, else the one its role names.
  const runs = (part: Exclude<PlatformConfig['role'], 'all'>) =>
    config.role === 'all' || config.role === part;

  const log = await openEventLog(config);
  const meta = await openMetaStore(config);
  const warehouse = await openWarehouse(config);
  const dialect = warehouseDialect(config);
  const lake = new FsLakeStore(paths.lake);
  const sources = new Sources(meta);
  const consentStore = new ConsentStore(meta);
  await consentStore.ensurePolicy();
  const consent = new ConsentCache(consentStore, {
    ttlMs: config.consent.cacheTtlMs,
    maxSubjects: config.consent.cacheMaxSubjects,
  });
  const writeKeys = new CachedSourceRegistry(meta);

  const keyStore = new CachedKeyStore(await openKeyStore(config), config.privacy.dataKeyCacheSize, {
    ttlMs: config.privacy.dataKeyCacheTtlMs,
  });
  const { defaultCountryCode } = config.privacy;
  const pii = createPiiStage({
    config: config.privacy,
    keyStore,
    pseudonymizer: new Pseudonymizer(paths.secrets, defaultCountryCode ? { defaultCountryCode } : {}),
  });

  const pipeline = createIngestPipeline({
    log,
    config: config.ingest,
    metrics,
    ipHashKey: loadOrCreateSecret(paths.secrets, 'ip-hash'),
    edgeStages: [consentGate(consent, config.consent), pii],
    scrubDeadLetter: pii.scrubDeadLetter,
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
    // Each route's schema bounds its own path parameters (at most 1,024 characters); the router's default of 100
    // refused ids the schemas allow. Six times that fits any 1,024 characters percent-encoded (a surrogate pair,
    // two characters, is twelve).
    routerOptions: { maxParamLength: 6 * 1024 },
    // The router refuses a malformed or overlong path before any route runs: answer it in the error catalog's shape.
    frameworkErrors: (error, request, routeReply) => {
      // Typed for any route's replies; this one is before any route.
      const reply = routeReply as FastifyReply;
      const refusal =
        (error.statusCode ?? 500) < 500
          ? new DeeprefError('DEEPREF_INVALID_QUERY', {
              detail:
                error.code === 'FST_ERR_MAX_PARAM_LENGTH'
                  ? 'a path parameter is longer than the route allows'
                  : 'the path is not valid percent-encoded UTF-8',
            })
          : new DeeprefError('DEEPREF_INTERNAL', { requestId: request.id });
      return reply.code(refusal.statusCode).send(refusal.toJSON());
    },
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

  // Ajv lets ±Infinity through every number schema (finite-numbers.ts): refused before any handler sees it, on the
  // routes with a schema only, so that the collector's routes (which check their own input) pay nothing for it.
  app.addHook('onRoute', (route) => {
    if (!route.schema) return;
    route.preHandler = [...(route.preHandler ? [route.preHandler].flat() : []), refuseNonFiniteNumbers];
  });

  // First, so that it sees every route after it.
  await addApiDocs(app);
  // `request.cookies` everywhere: the reader check of any route reads the session cookie.
  await app.register(fastifyCookie);
  const auth = await createAuth({
    meta,
    isAdmin,
    now: options.now,
    announceAdminPassword: options.announceAdminPassword,
  });
  if (runs('api')) await app.register(authRoutes, auth);
  await app.register(opsRoutes, {
    log,
    metrics,
    notReady: async () => (closing ? ['stopping'] : []),
  });
  if (runs('ingest')) {
    await app.register(collectorRoutes, {
      pipeline,
      sources: writeKeys,
      config: config.ingest,
      metrics,
      isStopping: () => closing !== undefined,
    });
  }
  if (runs('api')) {
    await app.register(adminRoutes, {
      log,
      warehouse,
      isAdmin,
      replay: (deadLetter) => pipeline.replay(deadLetter),
    });
  }
  // Subjects give and withdraw consent through the collector's origin; readers and the operator see it on the API.
  if (runs('ingest') || runs('api')) {
    await app.register(consentRoutes, {
      consent,
      config: config.consent,
      sources: writeKeys,
      limits: config.ingest,
      isAdmin,
      requireReader: auth.requireReader,
    });
    await app.register(sdkRoutes, { dir: options.browserSdkDir ?? browserDistDir() });
  }
  if (runs('api')) {
    await app.register(exampleRoutes, {
      log,
      sources,
      host: config.host,
      requireLocalOrReader: auth.requireLocalOrReader,
    });
    await app.register(dashboardRoutes, { dir: options.dashboardDir ?? dashboardDistDir() });
  }

  // The worker's consumers. On a partitioned log (JetStream) the workers share the partitions by lease, and the
  // stream layer and the lake writer each run on one worker at a time (their own lease); under `all` on one
  // process they start at once.
  const realtime = await openRealtimeStore(config);
  const { alertThreshold, alertWebhookUrl, ...policy } = config.stream;
  const startStream = () =>
    startStreamLayer({
      log,
      warehouse,
      realtime,
      dataDir: config.dataDir,
      logger: app.log,
      metrics,
      policy,
      alertThreshold,
      keepResultsDays: config.retention.aggregatedMetricsDays,
      ...(alertWebhookUrl ? { alertWebhookUrl } : {}),
      // Per-partition loaders (JetStream) each store their own offset.
      ...(leases ? { loadedOffset: () => partitionedLoadedOffset(log, warehouse) } : {}),
    });
  const startLake = () => startLakeWriter({ log, lake, metrics, stagingDir: paths.lakeStaging });
  // What a privacy request reaches, with the lake writer and the stream layer of the process that runs it.
  const privacyRequestStores = (localLake: LakeWriter, localStream: StreamLayer) => ({
    dataDir: config.dataDir,
    secretsDir: paths.secrets,
    log,
    warehouse,
    lakeWriter: localLake,
    realtime,
    realtimeJobs: localStream.realtimeJobs,
    stream: localStream.processor,
    meta,
    metaEngine: config.adapters.meta,
    keys: keyStore,
  });
  const leases = runs('worker') ? await openWorkerLeases(config) : undefined;
  let loader: { drain(): Promise<void>; stop(options?: { drain?: boolean }): Promise<void> } | undefined;
  let partitionedLoader: PartitionedLoader | undefined;
  let lakeWriter: LakeWriter | undefined;
  let stream: StreamLayer | undefined;
  const leasedWork: LeasedWork[] = [];
  if (runs('worker')) {
    if (leases) {
      partitionedLoader = await startPartitionedLoader({
        log,
        warehouse,
        partitions: leases.partitions,
        members: leases.members,
        metrics,
      });
      loader = partitionedLoader;
    } else {
      loader = startWarehouseLoader({ log, warehouse, metrics });
    }
    if (leases && config.role === 'worker') {
      // One lease for the three (adapters.ts, singletonSlot): privacy requests reach the other two's local state.
      const { singletons } = leases;
      leasedWork.push(
        runWhileLeased(singletons, singletonSlot, async () => {
          const [localLake, localStream] = [await startLake(), startStream()];
          [lakeWriter, stream] = [localLake, localStream];
          const stopBoth = async () => {
            await localStream.stop();
            await localLake.stop({ drain: true });
          };
          const runner = await startPrivacyRequestRunner({
            ...privacyRequestStores(localLake, localStream),
            owner: singletons.owner,
            onError: (error) => app.log.error({ err: error }, 'privacy request runner'),
            settle: () =>
              settleSplitStores({
                log,
                loadedOffset: () => partitionedLoadedOffset(log, warehouse),
                lakeWriter: localLake,
                stream: localStream.processor,
              }),
          }).catch(async (error) => {
            await stopBoth();
            throw error;
          });
          // The lake's part of retention, which the scheduler's retention run queues (lake-retention-runner.ts).
          const lakeRetention = await LakeRetentionRunner.start({
            meta,
            lake: localLake,
            config: config.retention,
            name: singletons.owner,
            onError: (error) => app.log.error({ err: error }, 'lake retention'),
          }).catch(async (error) => {
            await runner.stop();
            await stopBoth();
            throw error;
          });
          return {
            stop: async () => {
              await lakeRetention.stop();
              await runner.stop();
              await stopBoth();
            },
          };
        }),
      );
    } else {
      lakeWriter = await startLake();
      stream = startStream();
    }
  }
  // The real-time jobs' names, for the routes of a process that does not run the stream layer itself.
  const realtimeJobs =
    stream?.realtimeJobs ??
    defaultStreamJobs()
      .filter((job) => job.sinks?.includes('realtime'))
      .map((job) => job.name);
  if (runs('api')) {
    // The stream's read routes, behind the reader check.
    await app.register(async (readers) => {
      readers.addHook('onRequest', auth.requireReader);
      await readers.register(streamRoutes, { realtime, warehouse, realtimeJobs });
    });
    await app.register(analyticsRoutes, {
      warehouse,
      dialect,
      realtime,
      requireReader: auth.requireReader,
      strict: config.ingest.strict,
      now: options.now,
    });
  }

  // Privacy requests reach every store, the lake's files and the stream state included. The single process (`all`)
  // runs them itself; in a split deployment the api process queues them and the worker holding the singleton lease
  // runs them (above; privacy/dsr/dsr-runner.ts).
  if (runs('api') && lakeWriter && stream) {
    const [localLake, localStream] = [lakeWriter, stream];
    await registerPrivacyRequests(app, {
      ...privacyRequestStores(localLake, localStream),
      settle: async () => {
        await loader?.drain();
        await localLake.drain();
        await localStream.processor.drain();
      },
      isAdmin,
      baseUrl: () => url,
    });
  } else if (config.role === 'api') {
    await registerQueuedPrivacyRequests(app, {
      secretsDir: paths.secrets,
      meta,
      keys: keyStore,
      isAdmin,
      baseUrl: () => url,
      isStopping: () => closing !== undefined,
    });
  }
  // A backup copies the data directory's stores; PostgreSQL and JetStream have their own (docs/deployment.md).
  if (config.adapters.warehouse === 'duckdb') {
    await app.register(backupRoutes, {
      dataDir: config.dataDir,
      isAdmin,
      backupWarehouse: (target) => (warehouse as DuckdbWarehouse).backupTo(target),
    });
  }

  const retentionStores: RetentionStores = {
    warehouse,
    meta,
    // Expired export packages (the signing secret is not needed to delete them).
    exports: new ExportStore(meta, keyStore, Buffer.alloc(0)),
    // The lake's files are on the disk of the process that writes them (the fs adapter): the result days on this
    // one's (the `stream-results-to-lake` job), the event files on the lake writer's. In a split deployment that
    // is the worker holding the singleton lease, which runs the part this process queues (above).
    lake: {
      ...(lakeWriter ? { expireEvents: (cutoffs, dryRun) => lakeWriter!.expireEvents(cutoffs, dryRun) } : {}),
      expireResults: (before, dryRun) => expireLakeResultDays(lake, resultsPrefix, before, dryRun),
    },
    ...(lakeWriter ? {} : { queueLakeEvents: (now, trigger) => queueLakeRetention(meta, now, trigger) }),
    log: {
      // Workers load a JetStream log into the warehouse partition by partition, whichever role runs this job.
      expire: (before, dryRun) =>
        log.expire({
          before,
          dryRun,
          ...(config.adapters.eventLog === 'jetstream'
            ? { consumers: [lakeConsumer, streamConsumer], partitionConsumers: [partitionConsumer] }
            : { consumers: [warehouseConsumer, lakeConsumer, streamConsumer] }),
        }),
    },
  };
  const scheduler = new Scheduler({
    meta,
    logger: app.log,
    lock: openLeaderLock(config),
    jobs: [
      streamResultsToLakeJob({ warehouse, lake, stagingDir: path.join(paths.lakeStaging, '..', 'results') }),
      retentionJob(retentionStores, config.retention),
    ],
  });
  if (runs('api') || runs('scheduler')) {
    await app.register(jobRoutes, { scheduler, isAdmin });
    await app.register(retentionRoutes, { stores: retentionStores, config: config.retention, isAdmin });
  }

  await app.listen({ host: config.host, port: config.port });
  if (runs('scheduler')) scheduler.start();
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
      await scheduler.stop();
      await loader?.stop({ drain: true });
      for (const work of leasedWork) await work.stop();
      if (leasedWork.length === 0) {
        await lakeWriter?.stop({ drain: true });
        await stream?.stop();
      }
      await leases?.close();
      await realtime.close();
      await log.close();
      await warehouse.close();
      await meta.destroy();
      await keyStore.close();
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
    dialect,
    lake,
    meta,
    sources,
    metrics,
    keyStore,
    scheduler,
    drain: async () => {
      await loader?.drain();
      await lakeWriter?.drain();
      await stream?.processor.drain();
    },
    close,
  };
}
