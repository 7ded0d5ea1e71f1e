/**
 * The client against the real platform, counted exactly: everything tracked is in the event log once after
 * shutdown, after the collector restarts mid-stream, after the tracking process is killed with SIGKILL (the
 * spill journal), and when a process simply ends (`beforeExit`).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { StoredEvent } from '@deepref/schema';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ClientStats, DeeprefClient } from './client.ts';
import { type RealCollector, startRealCollector } from './test-support/real-collector.ts';
import { until } from './test-support/until.ts';

let collector: RealCollector;
let spillDir: string;

beforeEach(async () => {
  collector = await startRealCollector();
  spillDir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-spill-e2e-'));
});

afterEach(async () => {
  await collector.close();
  fs.rmSync(spillDir, { recursive: true, force: true });
});

function client(options: Partial<ConstructorParameters<typeof DeeprefClient>[0]> = {}): DeeprefClient {
  return new DeeprefClient({
    writeKey: collector.writeKey,
    endpoint: collector.url,
    flushOnExit: false,
    retry: { initialDelayMs: 20, maxDelayMs: 250 },
    onError: () => {},
    ...options,
  });
}

/** The `seq` of every stored probe event, in log order. */
async function storedSeqs(): Promise<number[]> {
  const events: StoredEvent[] = await collector.events();
  return events
    .filter((event) => event.eventName === 'sdk_probe')
    .map((event) => (event.properties as { seq: number }).seq);
}

const range = (count: number, from = 0) => Array.from({ length: count }, (_, i) => from + i);
const sorted = (values: number[]) => [...values].sort((a, b) => a - b);

function expectBalanced(stats: ClientStats): void {
  expect(stats.tracked + stats.replayed).toBe(
    stats.accepted +
      stats.duplicates +
      stats.rejected +
      stats.dropped +
      stats.expired +
      stats.queued +
      stats.inFlight +
      stats.blocked,
  );
}

const childScript = fileURLToPath(new URL('./test-support/tracker-child.ts', import.meta.url));

function startChild(spill: string, mode: string): ChildProcessWithoutNullStreams {
  return spawn(
    process.execPath,
    ['--import', 'tsx', childScript, collector.url, collector.writeKey, spill, mode],
    {
      stdio: 'pipe',
    },
  );
}

/** Sends one command line to the child and returns its stats from the `ok` answer. */
function command(child: ChildProcessWithoutNullStreams, lines: readline.Interface, line: string) {
  return new Promise<ClientStats>((resolve, reject) => {
    const onLine = (answer: string) => {
      lines.off('line', onLine);
      if (answer.startsWith('ok ')) resolve(JSON.parse(answer.slice(3)));
      else reject(new Error(`unexpected answer ${answer}`));
    };
    lines.on('line', onLine);
    child.stdin.write(`${line}\n`);
  });
}

describe('delivery to the real collector', () => {
  it('delivers everything on shutdown, each event once', async () => {
    const c = client({ batchSize: 100, flushIntervalMs: 60_000 });
    for (let seq = 0; seq < 1234; seq++) void c.track('sdk_probe', { seq });
    const stats = await c.shutdown();
    expect(sorted(await storedSeqs())).toEqual(range(1234));
    expect(stats).toMatchObject({ tracked: 1234, accepted: 1234, duplicates: 0, dropped: 0, rejected: 0 });
  });

  it('loses nothing when the collector restarts mid-stream', async () => {
    const c = client({ batchSize: 50, flushIntervalMs: 50 });
    const total = 3000;
    let seq = 0;
    const trackSome = async (count: number) => {
      for (const end = seq + count; seq < end; seq++) {
        void c.track('sdk_probe', { seq });
        if (seq % 25 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    };

    await trackSome(1000);
    const stopping = collector.stop();
    await trackSome(500);
    await stopping;
    await trackSome(500);
    await until(() => c.stats().retries > 0, 'a failed attempt while the collector is down');
    await collector.start();
    await trackSome(total - seq);
    const stats = await c.shutdown({ timeoutMs: 60_000 });

    const seqs = await storedSeqs();
    expect(seqs).toHaveLength(total);
    expect(sorted(seqs)).toEqual(range(total));
    expect(stats).toMatchObject({ tracked: total, dropped: 0, rejected: 0, queued: 0, inFlight: 0 });
    expect(stats.accepted + stats.duplicates).toBe(total);
    expectBalanced(stats);
  });

  it('replays the spill of a process killed with SIGKILL, storing each event once', async () => {
    const child = startChild(spillDir, 'commands');
    const lines = readline.createInterface({ input: child.stdout });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal) => resolve(signal)),
    );

    await command(child, lines, 'track 0 300');
    const flushed = await command(child, lines, 'flush');
    expect(flushed).toMatchObject({ accepted: 300, queued: 0 });

    await collector.stop();
    const tracked = await command(child, lines, 'track 300 700');
    expect(tracked).toMatchObject({ tracked: 1000, accepted: 300 });
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    await collector.start();
    const next = client({ spill: { directory: spillDir } });
    expect(next.stats()).toMatchObject({ replayed: 700 });
    const stats = await next.shutdown({ timeoutMs: 60_000 });
    expect(stats).toMatchObject({ replayed: 700, tracked: 0, dropped: 0, queued: 0, inFlight: 0 });
    expect(stats.accepted + stats.duplicates).toBe(700);

    const seqs = await storedSeqs();
    expect(seqs).toHaveLength(1000);
    expect(sorted(seqs)).toEqual(range(1000));
    expect(fs.readdirSync(spillDir)).toEqual([]);
  });

  it('delivers on beforeExit when a process ends without calling shutdown', async () => {
    const child = startChild('-', 'exit:37');
    const code = await new Promise<number | null>((resolve) =>
      child.once('exit', (exitCode) => resolve(exitCode)),
    );
    expect(code).toBe(0);
    expect(sorted(await storedSeqs())).toEqual(range(37));
  });
});
