/**
 * §3.2 UserEngagement: per user, 60-minute hopping windows every 5 minutes over SessionMetrics' rows: average
 * session duration (DATEDIFF(second, start, end): whole-second boundaries crossed), total events, distinct sessions.
 */
import { avg, countDistinct, sum } from '../aggregates.ts';
import { defineDerivedJob, type WindowResult } from '../stream-job.ts';
import { hoppingWindow, minutes } from '../windows.ts';

const durationSeconds = (row: WindowResult): number | undefined => {
  const { sessionStart, sessionEnd } = row.values;
  if (typeof sessionStart !== 'number' || typeof sessionEnd !== 'number') return undefined;
  return Math.floor(sessionEnd / 1000) - Math.floor(sessionStart / 1000);
};

export const userEngagementJob = defineDerivedJob({
  name: 'user_engagement',
  description: 'Per user, over the last hour every 5 minutes: average session duration, events, sessions',
  from: 'session_metrics',
  groupBy: { userId: (row) => row.group.userId },
  window: hoppingWindow(minutes(60), minutes(5)),
  aggregates: {
    avgSessionDuration: avg(durationSeconds),
    totalEvents: sum((row) => row.values.eventCount),
    sessionCount: countDistinct((row) => row.group.sessionId),
  },
  sinks: ['realtime', 'warehouse'],
});
