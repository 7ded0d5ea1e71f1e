/**
 * The platform's Prometheus counters, served on /metrics. One registry per platform instance, so tests that run
 * several servers in one process keep their counts apart.
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'deepref_process_' });
  const on = { registers: [registry] };
  return {
    registry,
    eventsReceived: new Counter({
      name: 'deepref_events_received_total',
      help: 'Events received by the collector',
      ...on,
    }),
    eventsAccepted: new Counter({
      name: 'deepref_events_accepted_total',
      help: 'Events durably appended to the event log',
      ...on,
    }),
    eventsDuplicate: new Counter({
      name: 'deepref_events_deduplicated_total',
      help: 'Events not stored again because their eventId was already in the log',
      ...on,
    }),
    eventsRejected: new Counter({
      name: 'deepref_events_rejected_total',
      help: 'Events refused, by reason; each is kept in the dead letters',
      labelNames: ['reason'] as const,
      ...on,
    }),
    eventsDropped: new Counter({
      name: 'deepref_events_dropped_total',
      help: 'Valid events not stored by an edge stage, by reason (e.g. no consent for their purposes)',
      labelNames: ['reason'] as const,
      ...on,
    }),
    deadLettered: new Counter({
      name: 'deepref_dead_letters_total',
      help: 'Entries written to the dead-letter store, by reason',
      labelNames: ['reason'] as const,
      ...on,
    }),
    requestsRefused: new Counter({
      name: 'deepref_requests_refused_total',
      help: 'Whole requests refused before any event was read, by error code',
      labelNames: ['code'] as const,
      ...on,
    }),
    consumerLag: new Gauge({
      name: 'deepref_consumer_lag_events',
      help: 'Events in the log not yet processed by each consumer',
      labelNames: ['consumer'] as const,
      ...on,
    }),
    consumerOffset: new Gauge({
      name: 'deepref_consumer_offset',
      help: 'Offset each consumer has committed',
      labelNames: ['consumer'] as const,
      ...on,
    }),
    logHead: new Gauge({ name: 'deepref_log_head_offset', help: 'Highest offset in the event log', ...on }),

    // --- Stream engine (stream/) ---
    streamEvents: new Counter({
      name: 'deepref_stream_events_total',
      help: 'Events the stream engine took, by outcome: on_time, backfill (left to recomputation), untimed, arrival_time (windowed by arrival)',
      labelNames: ['outcome'] as const,
      ...on,
    }),
    streamLateEvents: new Counter({
      name: 'deepref_stream_late_events_total',
      help: 'Events past the late-arrival (late), early-arrival (early) or out-of-order (out_of_order) tolerance, by action: adjusted or dropped',
      labelNames: ['kind', 'action'] as const,
      ...on,
    }),
    streamRows: new Counter({
      name: 'deepref_stream_rows_total',
      help: 'Window result rows emitted, by stream job',
      labelNames: ['job'] as const,
      ...on,
    }),
    streamOpenWindows: new Gauge({
      name: 'deepref_stream_open_windows',
      help: 'Key-window states held in memory, by stream job',
      labelNames: ['job'] as const,
      ...on,
    }),
    streamBackfillDays: new Counter({
      name: 'deepref_stream_backfill_days_total',
      help: 'UTC days whose windows were recomputed from the warehouse after backfill events fell on them',
      ...on,
    }),
    streamWatermark: new Gauge({
      name: 'deepref_stream_watermark_seconds',
      help: 'The stream engine watermark, in seconds since the epoch: windows ending before it are final',
      ...on,
    }),
    streamAlerts: new Counter({
      name: 'deepref_stream_alerts_total',
      help: 'Alerts raised by stream jobs, by job',
      labelNames: ['job'] as const,
      ...on,
    }),
    streamWebhookFailures: new Counter({
      name: 'deepref_stream_alert_webhook_failures_total',
      help: 'Alert webhook deliveries that failed after every retry',
      ...on,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
