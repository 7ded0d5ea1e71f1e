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
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
