/**
 * Stream engine throughput: events/s through (1) a tumbling count per user alone and (2) all six platform jobs,
 * against (0) a plain loop over the same in-memory records that only reads each event's time and counts it,
 * measured in the same run. Prints events/s by wall clock and per CPU-second of the process (the "per core" figure,
 * steady on a shared machine), the ratios and the peak heap. Run: `npm run bench:stream [events]`.
 */
import type { StoredEvent } from '@deepref/schema';
import { count } from '../packages/platform/src/stream/aggregates.ts';
import { defaultStreamJobs } from '../packages/platform/src/stream/jobs/index.ts';
import { StreamEngine } from '../packages/platform/src/stream/stream-engine.ts';
import { type AnyStreamJob, defineStreamJob } from '../packages/platform/src/stream/stream-job.ts';
import { streamTraffic } from '../packages/platform/src/stream/stream-traffic.ts';
import { minutes, tumblingWindow } from '../packages/platform/src/stream/windows.ts';

const events = Number(process.argv[2] ?? 1_000_000);
const batch = 5_000;
const policy = { lateArrivalToleranceMs: 60_000, outOfOrderToleranceMs: 5_000 };
console.log(`generating ${events.toLocaleString('en-US')} events…`);
const records = streamTraffic({ events, rate: 2_000, users: 20_000 });

let peakHeap = 0;
const sample = () => {
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
};

const perSecond = (rate: number) => Math.round(rate).toLocaleString('en-US').padStart(11);

/** Runs `run` once to warm up, then measures it; returns events per CPU-second. */
function measure(name: string, run: () => number): number {
  run(); // warm-up pass, so the JIT has compiled the paths
  const before = process.memoryUsage().heapUsed;
  peakHeap = before;
  const started = process.hrtime.bigint();
  const cpuStarted = process.cpuUsage();
  const result = run();
  const cpu = process.cpuUsage(cpuStarted);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const perCpuSecond = events / cpuSeconds;
  console.log(
    `${name.padEnd(26)} ${perSecond(events / seconds)} events/s wall ${perSecond(perCpuSecond)} events/CPU-s` +
      `  peak heap +${((peakHeap - before) / 2 ** 20).toFixed(0)} MiB  (result ${result})`,
  );
  return perCpuSecond;
}

const reference = measure('plain loop (read + count)', () => {
  let n = 0;
  for (let i = 0; i < records.length; i += batch) {
    for (const record of records.slice(i, i + batch)) {
      if (!Number.isNaN(Date.parse(record.event.timestamp))) n++;
    }
    sample();
  }
  return n;
});

function engineRun(jobs: AnyStreamJob[]): () => number {
  return () => {
    const engine = new StreamEngine(jobs, policy);
    let rows = 0;
    for (let i = 0; i < records.length; i += batch) {
      rows += engine.process(records.slice(i, i + batch)).length;
      sample();
    }
    return rows + engine.finish().length;
  };
}

const tumblingCount = defineStreamJob<StoredEvent>({
  name: 'tumbling_count',
  groupBy: { user: (e) => e.userId },
  window: tumblingWindow(minutes(1)),
  aggregates: { n: count() },
}) as AnyStreamJob;

const tumbling = measure('tumbling count per user', engineRun([tumblingCount]));
const all = measure('all six jobs', engineRun(defaultStreamJobs()));
console.log(
  `\nratios to the plain loop (per CPU-second): tumbling ${(tumbling / reference).toFixed(2)}, all jobs ${(all / reference).toFixed(2)}`,
);
console.log(
  `targets (events per CPU-second): tumbling ≥ 1,000,000 ${tumbling >= 1e6 ? 'met' : 'NOT met'}; all jobs ≥ 300,000 ${all >= 3e5 ? 'met' : 'NOT met'}`,
);
