/**
 * `deepref demo`: realistic synthetic traffic (demo/traffic.ts) sent through the HTTP collector of a running
 * platform, as real SDKs would send it, with progress on stderr and a summary at the end.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { Sources } from '../collector/source-registry.ts';
import { dataPaths } from '../config.ts';
import { demoConsent, recordDemoConsent } from '../demo/consent.ts';
import { type DeliveryTally, deliver } from '../demo/delivery.ts';
import { DemoTraffic } from '../demo/traffic.ts';
import { openSqliteMetaStore } from '../storage/sqlite/sqlite-meta-store.ts';
import { ControlClientError } from './control-client.ts';

export interface DemoOptions {
  users: number;
  days: number;
  /** The collector; default the platform running on `dataDir` (its `run/server.json`). */
  url?: string;
  /** Default: a new source named `demo` is created in the platform's MetaStore. */
  writeKey?: string;
  seed: number;
  concurrency: number;
  dataDir: string;
  /** End of the window; default now. */
  now?: Date | number;
  /** Where progress and the summary go; default stderr and stdout. */
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
  stdout?: NodeJS.WritableStream;
}

export interface DemoSummary extends DeliveryTally {
  url: string;
  elapsedMs: number;
  eventsPerSecond: number;
}

export const exploreHint =
  'deepref query "SELECT event_name, count(*) FROM events GROUP BY 1 ORDER BY 2 DESC"';

/** Where the running platform listens, from the `run/server.json` it writes at start. */
export function runningPlatformUrl(dataDir: string): string {
  const file = path.join(dataDir, 'run', 'server.json');
  let info: { url?: unknown; pid?: unknown };
  try {
    info = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof info;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ControlClientError(
        `No platform is running on data directory ${dataDir} (no ${path.join('run', 'server.json')}). ` +
          'Start it with `deepref start`, or pass --url.',
      );
    }
    throw new ControlClientError(`Cannot read ${file}: ${(error as Error).message}. Pass --url.`);
  }
  if (typeof info.url !== 'string' || info.url === '') {
    throw new ControlClientError(`${file} does not name a URL. Pass --url.`);
  }
  if (typeof info.pid === 'number' && !processExists(info.pid)) {
    throw new ControlClientError(
      `The platform that wrote ${file} (pid ${info.pid}) is no longer running. ` +
        'Start it with `deepref start`, or pass --url.',
    );
  }
  return info.url;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A new `demo` source in the platform's MetaStore; its key is only ever in this process's memory. */
async function createDemoKey(dataDir: string): Promise<{ writeKey: string; sourceId: string }> {
  const db = await openSqliteMetaStore(dataPaths(dataDir).meta);
  try {
    const { source, writeKey } = await new Sources(db).create({ name: 'demo', allowedOrigins: [] });
    return { writeKey, sourceId: source.id };
  } finally {
    await db.destroy();
  }
}

const number = (n: number) => Math.round(n).toLocaleString('en-US');

/** Progress on stderr: a bar on a terminal, a line every few seconds otherwise (logs, CI). */
function progressReporter(
  stream: NodeJS.WritableStream & { isTTY?: boolean },
  estimate: number,
  started: number,
) {
  if (stream.isTTY) {
    const bar = new SingleBar(
      {
        stream,
        format: 'demo [{bar}] {percentage}% | {value}/{total} events | {rate} events/s | ETA {eta_formatted}',
        hideCursor: true,
        etaBuffer: 100,
        fps: 5,
      },
      Presets.shades_classic,
    );
    bar.start(estimate, 0, { rate: 0 });
    return {
      update(done: number) {
        if (done > estimate) bar.setTotal(done);
        bar.update(done, { rate: number((done * 1000) / Math.max(1, Date.now() - started)) });
      },
      stop() {
        bar.stop();
      },
    };
  }
  let lastLine = started;
  return {
    update(done: number) {
      const now = Date.now();
      if (now - lastLine < 5000) return;
      lastLine = now;
      const share = Math.min(99, Math.floor((done / Math.max(1, estimate)) * 100));
      stream.write(
        `demo: ${number(done)} of about ${number(estimate)} events (${share}%), ` +
          `${number((done * 1000) / Math.max(1, now - started))} events/s\n`,
      );
    },
    stop() {},
  };
}

export function formatSummary(
  summary: DemoSummary,
  options: Pick<DemoOptions, 'users' | 'days' | 'seed'>,
): string {
  const lines = [
    `Sent ${number(summary.sent)} events of ${number(options.users)} users over ${options.days} day${options.days === 1 ? '' : 's'} ` +
      `(seed ${options.seed}) to ${summary.url} in ${(summary.elapsedMs / 1000).toFixed(1)} s ` +
      `(${number(summary.eventsPerSecond)} events/s).`,
    `  accepted    ${number(summary.accepted)}`,
    `  duplicates  ${number(summary.duplicates)}${
      summary.duplicates > 0
        ? '  (stored before: the same --seed makes the same event ids; pass another --seed for new traffic)'
        : ''
    }`,
    `  rejected    ${number(summary.rejected)}`,
  ];
  for (const [reason, n] of Object.entries(summary.rejectedByReason)) {
    const example = summary.rejectionExamples[reason];
    lines.push(`    ${reason}: ${number(n)}${example ? `  (e.g. ${example})` : ''}`);
  }
  lines.push(`  not sent    ${number(summary.notSent)}`);
  for (const [reason, n] of Object.entries(summary.notSentByReason))
    lines.push(`    ${reason}: ${number(n)}`);
  if (summary.retries > 0) lines.push(`  (${number(summary.retries)} retried requests)`);
  if (summary.fatal) lines.push(`Stopped early: ${summary.fatal}`);
  else lines.push('', 'See what arrived:', `  ${exploreHint}`);
  return lines.join('\n');
}

/**
 * Runs the demo and prints its summary. Sets a non-zero exit code when any event was rejected or could not be
 * sent; throws `ControlClientError` when there is no collector to send to.
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const stderr = options.stderr ?? process.stderr;
  const stdout = options.stdout ?? process.stdout;
  const url = options.url ?? runningPlatformUrl(options.dataDir);
  let writeKey = options.writeKey;
  if (writeKey === undefined) {
    const created = await createDemoKey(options.dataDir);
    writeKey = created.writeKey;
    stderr.write(
      `demo: sending with a new source "demo" (${created.sourceId}); revoke it with \`deepref keys revoke ${created.sourceId}\`.\n`,
    );
  }

  const traffic = new DemoTraffic({
    users: options.users,
    days: options.days,
    seed: options.seed,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  // Their consent first, as their browsers would record it, so that the gate lets their events in.
  const consented = await recordDemoConsent(
    Array.from(traffic.users(), (user) => demoConsent(user, options.seed)),
    { url, writeKey, concurrency: options.concurrency },
  );
  stderr.write(`demo: recorded the consent of ${consented} users.\n`);
  const estimate = traffic.estimateEventCount();
  const started = Date.now();
  const progress = progressReporter(stderr, estimate, started);
  let tally: DeliveryTally;
  try {
    tally = await deliver(traffic.batches(), {
      url,
      writeKey,
      concurrency: options.concurrency,
      onBatch: (t) => progress.update(t.sent + t.notSent),
    });
  } finally {
    progress.stop();
  }
  const elapsedMs = Math.max(1, Date.now() - started);
  const summary: DemoSummary = {
    ...tally,
    url,
    elapsedMs,
    eventsPerSecond: (tally.sent * 1000) / elapsedMs,
  };
  stdout.write(`${formatSummary(summary, options)}\n`);
  if (summary.rejected > 0 || summary.notSent > 0 || summary.fatal) process.exitCode = 1;
  return summary;
}
