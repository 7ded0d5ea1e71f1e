/**
 * `deepref retention [--dry-run]`: what retention removes from each store. With --dry-run it only reports; without,
 * it runs the retention job now (the same job the scheduler runs daily) and prints its report.
 */
import type { JobRun } from '../batch/scheduler.ts';
import type { RetentionLine, RetentionReport } from '../privacy/retention/retention.ts';
import { ControlClientError, controlRequest } from './control-client.ts';

export async function runRetention(options: {
  dataDir: string;
  dryRun?: boolean;
  json?: boolean;
}): Promise<void> {
  let report: RetentionReport;
  if (options.dryRun) {
    const response = await controlRequest<RetentionReport & { error?: { message: string } }>(
      options.dataDir,
      'GET',
      '/api/v1/retention/plan',
    );
    if (response.status !== 200)
      throw new ControlClientError(response.body.error?.message ?? `HTTP ${response.status}`);
    report = response.body;
  } else {
    const response = await controlRequest<JobRun & { error?: { message: string } }>(
      options.dataDir,
      'POST',
      '/api/v1/jobs/retention/run',
    );
    if (response.status !== 200)
      throw new ControlClientError(response.body.error?.message ?? `HTTP ${response.status}`);
    if (response.body.status !== 'succeeded') {
      throw new ControlClientError(
        `retention failed: ${String(response.body.report?.error ?? 'see the server log')}`,
      );
    }
    report = response.body.report as unknown as RetentionReport;
  }
  if (options.json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  console.log(
    report.dryRun ? `Dry run at ${report.now}: nothing was removed.` : `Retention at ${report.now}:`,
  );
  const rows = report.lines.map((line: RetentionLine) => [
    line.store,
    line.dataClass,
    line.cutoff.slice(0, 10),
    String(report.dryRun ? line.found : line.removed),
  ]);
  const header = ['store', 'class', 'older than', report.dryRun ? 'would go' : 'removed'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  for (const row of [header, ...rows]) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  '));
}
