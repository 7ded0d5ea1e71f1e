/**
 * API metrics (§2.2, §6.1) from the servers' `api_latency` events: per endpoint and method per minute, requests,
 * average and p95/p99 latency (DDSketch, within 1%), error rate (status ≥ 500) and requests per second.
 */
import type { StoredEvent } from '@deepref/schema';
import { avg, count, percentiles } from '../aggregates.ts';
import { defineStreamJob } from '../stream-job.ts';
import { minutes, tumblingWindow } from '../windows.ts';
import { numberProperty, stringProperty } from './event-fields.ts';

const latency = (e: StoredEvent) => numberProperty(e, 'duration_ms');

export const apiMetricsJob = defineStreamJob<StoredEvent>({
  name: 'api_metrics',
  description:
    'Per endpoint and method per minute: requests, latency (avg, p95, p99), error rate, requests/s',
  where: (e) => e.eventName === 'api_latency',
  groupBy: { endpoint: (e) => stringProperty(e, 'endpoint'), method: (e) => stringProperty(e, 'method') },
  window: tumblingWindow(minutes(1)),
  aggregates: {
    requests: count(),
    avgLatencyMs: avg(latency),
    latency: percentiles(latency, { p95LatencyMs: 0.95, p99LatencyMs: 0.99 }),
    errorRate: avg((e) => {
      const status = numberProperty(e, 'status_code');
      return status === undefined ? undefined : status >= 500 ? 1 : 0;
    }),
  },
  derive: (values, window) => ({
    requestsPerSecond: (values.requests as number) / ((window.end - window.start) / 1000),
  }),
  sinks: ['realtime', 'warehouse'],
});
