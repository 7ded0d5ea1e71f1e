/**
 * Active users (§6.1): distinct people (user or anonymous id) in the last 5 minutes, refreshed every 10 seconds
 * (hopping windows of 5 minutes every 10 seconds; exact up to 10,000 people, then HyperLogLog within ~0.8%).
 */
import type { StoredEvent } from '@deepref/schema';
import { countDistinct } from '../aggregates.ts';
import { defineStreamJob } from '../stream-job.ts';
import { hoppingWindow, minutes, seconds } from '../windows.ts';
import { personOf } from './event-fields.ts';

export const activeUsersJob = defineStreamJob<StoredEvent>({
  name: 'active_users',
  description: 'Distinct users in the last 5 minutes, every 10 seconds',
  groupBy: {},
  window: hoppingWindow(minutes(5), seconds(10)),
  aggregates: { activeUsers: countDistinct(personOf) },
  sinks: ['realtime', 'warehouse'],
});
