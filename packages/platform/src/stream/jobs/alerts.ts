/** Alerts: a user with more than `threshold` events in one window (default 1,000 in 5 minutes). */
import type { StoredEvent } from '@deepref/schema';
import { count } from '../aggregates.ts';
import { defineStreamJob, type StreamJob } from '../stream-job.ts';
import { minutes, tumblingWindow, type WindowSpec } from '../windows.ts';
import { personOf } from './event-fields.ts';

export interface AlertsJobOptions {
  threshold?: number;
  window?: WindowSpec;
}

export function alertsJob(options: AlertsJobOptions = {}): StreamJob<StoredEvent> {
  const threshold = options.threshold ?? 1_000;
  return defineStreamJob<StoredEvent>({
    name: 'event_volume_alerts',
    description: `A user with more than ${threshold} events in one window`,
    groupBy: { userId: personOf },
    window: options.window ?? tumblingWindow(minutes(5)),
    aggregates: { eventCount: count() },
    derive: () => ({ threshold }),
    having: (row) => (row.values.eventCount as number) > threshold,
    sinks: ['alerts'],
  });
}
