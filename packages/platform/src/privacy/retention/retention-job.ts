/** The retention job: `enforceRetention` on the platform's stores, daily, and the dry run behind `deepref retention`. */
import type { ScheduledJob } from '../../batch/scheduler.ts';
import { DeeprefError } from '../../errors.ts';
import { enforceRetention, type RetentionStores } from './retention.ts';
import type { RetentionConfig } from './retention-policy.ts';

export function retentionJob(stores: RetentionStores, config: RetentionConfig): ScheduledJob {
  return {
    name: 'retention',
    description: 'Removes data past its retention period from every store (docs/privacy.md, "Retention")',
    schedule: config.schedule,
    async run({ now, trigger, progress }) {
      const report = await enforceRetention(stores, config, { now, trigger });
      const removed = report.lines.reduce((sum, line) => sum + line.removed, 0);
      progress(`retention removed ${removed} items`);
      if (report.lakeEventsRun)
        progress(
          `the lake's event files: queued for the worker holding the singleton lease (${report.lakeEventsRun})`,
        );
      // The lake kept data past its retention: the run fails, so that `deepref jobs list` shows it.
      const [waitingSince] = report.lakeEventsNotTaken ?? [];
      if (waitingSince) {
        progress(`retention report: ${JSON.stringify({ ...report, removed })}`);
        throw new DeeprefError('DEEPREF_LAKE_RETENTION_NOT_TAKEN', { queuedAt: waitingSince });
      }
      return { ...report, removed };
    },
  };
}
