/** The retention job: `enforceRetention` on the platform's stores, daily, and the dry run behind `deepref retention`. */
import type { ScheduledJob } from '../../batch/scheduler.ts';
import { enforceRetention, type RetentionStores } from './retention.ts';
import type { RetentionConfig } from './retention-policy.ts';

export function retentionJob(stores: RetentionStores, config: RetentionConfig): ScheduledJob {
  return {
    name: 'retention',
    description: 'Removes data past its retention period from every store (docs/privacy.md, "Retention")',
    schedule: config.schedule,
    async run({ now, progress }) {
      const report = await enforceRetention(stores, config, { now });
      const removed = report.lines.reduce((sum, line) => sum + line.removed, 0);
      progress(`retention removed ${removed} items`);
      return { ...report, removed };
    },
  };
}
