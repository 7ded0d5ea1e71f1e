/** The platform's stream jobs (issue 4), in the order they are documented in docs/stream-jobs.md. */
import type { AnyStreamJob } from '../stream-job.ts';
import { activeUsersJob } from './active-users.ts';
import { aiResponseMetricsJob } from './ai-response-metrics.ts';
import { type AlertsJobOptions, alertsJob } from './alerts.ts';
import { apiMetricsJob } from './api-metrics.ts';
import { sessionMetricsJob } from './session-metrics.ts';
import { userEngagementJob } from './user-engagement.ts';

export function defaultStreamJobs(options: { alerts?: AlertsJobOptions } = {}): AnyStreamJob[] {
  return [
    sessionMetricsJob,
    userEngagementJob,
    alertsJob(options.alerts),
    apiMetricsJob,
    activeUsersJob,
    aiResponseMetricsJob,
  ] as AnyStreamJob[];
}
