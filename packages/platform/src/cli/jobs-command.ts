/** `deepref jobs list|run`: the scheduled jobs of the running platform, through its control socket. */
import type { JobRun } from '../batch/scheduler.ts';
import { ControlClientError, controlRequest } from './control-client.ts';

interface JobsAnswer {
  jobs: { name: string; description: string; schedule: string | null; nextRun: string | null }[];
  runs: JobRun[];
  error?: { message: string };
}

export async function listJobs(options: { dataDir: string }): Promise<void> {
  const response = await controlRequest<JobsAnswer>(options.dataDir, 'GET', '/api/v1/jobs');
  if (response.status !== 200)
    throw new ControlClientError(response.body.error?.message ?? `HTTP ${response.status}`);
  for (const job of response.body.jobs) {
    const last = response.body.runs.find((run) => run.job === job.name);
    console.log(
      `${job.name}\n  ${job.description}\n  schedule ${job.schedule ?? '(by hand only)'} UTC, next ${job.nextRun ?? '-'}\n` +
        `  last run ${last ? `${last.startedAt} ${last.status}` : 'never'}`,
    );
  }
}

export async function runJob(name: string, options: { dataDir: string }): Promise<void> {
  console.error(`running ${name} …`);
  const response = await controlRequest<JobRun & { error?: { message: string } }>(
    options.dataDir,
    'POST',
    `/api/v1/jobs/${encodeURIComponent(name)}/run`,
  );
  if (response.status !== 200)
    throw new ControlClientError(response.body.error?.message ?? `HTTP ${response.status}`);
  console.log(JSON.stringify({ status: response.body.status, report: response.body.report }, null, 2));
  if (response.body.status !== 'succeeded') process.exitCode = 1;
}
