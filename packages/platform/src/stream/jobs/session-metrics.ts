/** §3.2 SessionMetrics: per user and session, 5-minute tumbling windows: event count, first and last event time. */
import type { StoredEvent } from '@deepref/schema';
import { count, max, min } from '../aggregates.ts';
import { defineStreamJob } from '../stream-job.ts';
import { minutes, tumblingWindow } from '../windows.ts';
import { personOf } from './event-fields.ts';

export const sessionMetricsJob = defineStreamJob<StoredEvent>({
  name: 'session_metrics',
  description:
    'Events per user and session in 5-minute tumbling windows, with the session start and end seen there',
  groupBy: { userId: personOf, sessionId: (e) => e.sessionId },
  window: tumblingWindow(minutes(5)),
  aggregates: {
    eventCount: count(),
    sessionStart: min((_, time) => time),
    sessionEnd: max((_, time) => time),
  },
  sinks: ['warehouse'],
});
