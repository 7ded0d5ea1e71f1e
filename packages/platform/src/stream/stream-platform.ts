/**
 * The stream layer as the platform runs it: the six jobs, the processor over the event log with a checkpoint file
 * in the data directory, and the sinks (warehouse tables, real-time store, alerts).
 */
import path from 'node:path';
import type { EventLog } from '../bus/event-log.ts';
import { defaultStreamConfig } from '../config.ts';
import type { Metrics } from '../ops/metrics.ts';
import { cutoff } from '../privacy/retention/retention-policy.ts';
import type { Warehouse } from '../storage/warehouse.ts';
import { warehouseConsumer } from '../storage/warehouse-loader.ts';
import { DAY_MS, recomputeDay } from './backfill.ts';
import { FileCheckpointStore } from './checkpoint.ts';
import type { EventTimePolicy } from './event-time.ts';
import { defaultStreamJobs } from './jobs/index.ts';
import type { RealtimeStore } from './realtime/realtime-store.ts';
import { type AlertLogger, AlertSink } from './sinks/alert-sink.ts';
import { RealtimeResultSink } from './sinks/realtime-sink.ts';
import { WarehouseResultSink } from './sinks/warehouse-result-sink.ts';
import { createStreamProcessor, type StreamProcessor } from './stream-processor.ts';

const { alertThreshold: _threshold, alertWebhookUrl: _webhook, ...defaultStreamPolicy } = defaultStreamConfig;

export interface StreamLayerOptions {
  log: EventLog;
  warehouse: Warehouse;
  realtime: RealtimeStore;
  dataDir: string;
  logger: AlertLogger;
  metrics?: Metrics;
  policy?: Partial<EventTimePolicy>;
  alertThreshold?: number;
  alertWebhookUrl?: string;
  /** The offset up to which the warehouse holds the log; default: the single warehouse loader's. */
  loadedOffset?: () => Promise<number>;
  /**
   * Days window results are kept (the aggregated-metrics retention): a backfilled day whose windows all ended
   * before then is not recomputed, as the retention job would delete its rows. Default: every day is.
   */
  keepResultsDays?: number;
}

export interface StreamLayer {
  processor: StreamProcessor;
  realtimeJobs: string[];
  stop(): Promise<void>;
}

export function startStreamLayer(options: StreamLayerOptions): StreamLayer {
  const jobs = defaultStreamJobs({
    alerts: options.alertThreshold === undefined ? {} : { threshold: options.alertThreshold },
  });
  const alerts = new AlertSink({
    warehouse: options.warehouse,
    logger: options.logger,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.alertWebhookUrl ? { webhookUrl: options.alertWebhookUrl } : {}),
  });
  const processor = createStreamProcessor({
    log: options.log,
    jobs,
    checkpoints: new FileCheckpointStore(path.join(options.dataDir, 'stream', 'checkpoint.json')),
    sinks: {
      warehouse: new WarehouseResultSink(options.warehouse),
      realtime: new RealtimeResultSink(options.realtime),
      alerts,
    },
    policy: { ...defaultStreamPolicy, ...options.policy },
    ...(options.metrics ? { metrics: options.metrics } : {}),
    clock: Date.now,
    backfill: {
      loadedOffset: options.loadedOffset ?? (() => options.warehouse.loadedOffset(warehouseConsumer)),
      recompute: (day) =>
        options.keepResultsDays !== undefined &&
        day + DAY_MS < cutoff(new Date(), options.keepResultsDays).getTime()
          ? Promise.resolve([])
          : recomputeDay(jobs, options.warehouse, day),
      sinks: ['warehouse'],
    },
  });
  processor.start();
  return {
    processor,
    realtimeJobs: jobs.filter((j) => j.sinks?.includes('realtime')).map((j) => j.name),
    async stop() {
      await processor.stop({ drain: true });
      await alerts.close();
    },
  };
}
