/**
 * Kill and restart: a stream processor killed with SIGKILL part way through the log and started again ends with
 * the same window results as a run that never stopped (rows written again replace themselves by job, key and
 * window end; none is missing, none differs).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteEventLog } from '../bus/sqlite/sqlite-event-log.ts';
import { defaultStreamJobs } from './jobs/index.ts';
import { StreamEngine } from './stream-engine.ts';
import type { WindowResult } from './stream-job.ts';
import { streamTraffic } from './stream-traffic.ts';

const child = fileURLToPath(new URL('./stream-crash-child.ts', import.meta.url));
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

const policy = { lateArrivalToleranceMs: 30_000, outOfOrderToleranceMs: 5_000 };

function run(
  dataDir: string,
  slowMs: number,
): { process: ChildProcess; exited: Promise<NodeJS.Signals | number> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', child, dataDir, String(slowMs)], {
    stdio: 'inherit',
  });
  const exited = new Promise<NodeJS.Signals | number>((resolve) =>
    proc.on('exit', (code, signal) => resolve(signal ?? code ?? -1)),
  );
  return { process: proc, exited };
}

function final(rows: WindowResult[]): Map<string, WindowResult> {
  const map = new Map<string, WindowResult>();
  for (const row of rows) map.set(`${row.job}|${row.key}|${row.windowEnd}`, row);
  return map;
}

describe('stream processor kill and restart', () => {
  it('ends with the results of an uninterrupted run after a SIGKILL part way', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-stream-crash-'));
    dirs.push(dataDir);
    const records = streamTraffic({ events: 6_000, rate: 2 });
    const log = openSqliteEventLog(path.join(dataDir, 'events.db'), {
      dedupWindowDays: 7,
      maxPendingEvents: 100_000,
    });
    await log.append({ events: records.map((r) => r.event), deadLetters: [] });
    await log.close();

    const first = run(dataDir, 3);
    const checkpoint = path.join(dataDir, 'stream', 'checkpoint.json');
    let offsetAtKill = 0;
    while (offsetAtKill < 1_500) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      try {
        offsetAtKill = (JSON.parse(fs.readFileSync(checkpoint, 'utf8')) as { offset: number }).offset;
      } catch {
        // not written yet, or being replaced
      }
    }
    first.process.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    const written = fs.readFileSync(path.join(dataDir, 'rows.jsonl'), 'utf8').split('\n').length;

    const second = run(dataDir, 0);
    expect(await second.exited).toBe(0);

    const lines = fs.readFileSync(path.join(dataDir, 'rows.jsonl'), 'utf8').split('\n');
    // A line cut by the kill is not a row; the restart writes its row again.
    const rows = lines.flatMap((line) => {
      try {
        return line ? [JSON.parse(line) as WindowResult] : [];
      } catch {
        return [];
      }
    });
    const engine = new StreamEngine(defaultStreamJobs(), policy);
    const expected = [...engine.process(records), ...engine.finish()];
    const got = final(rows);
    expect(written).toBeGreaterThan(1);
    expect(offsetAtKill).toBeLessThan(records.length);
    expect(got.size).toBe(final(expected).size);
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(final(expected)));
  });
});
