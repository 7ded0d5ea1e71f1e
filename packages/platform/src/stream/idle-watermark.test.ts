/**
 * An idle log must not hold windows open forever: with a clock, the processor moves the watermark to
 * now − late-arrival tolerance when it has caught up, so the last windows close without further traffic.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteEventLog } from '../bus/sqlite/sqlite-event-log.ts';
import { MemoryCheckpointStore } from './checkpoint.ts';
import { sessionMetricsJob } from './jobs/session-metrics.ts';
import type { WindowResult } from './stream-job.ts';
import { createStreamProcessor } from './stream-processor.ts';
import { at, streamEvent } from './stream-test-events.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

async function logWithOneSession() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-idle-'));
  dirs.push(dir);
  const log = openSqliteEventLog(path.join(dir, 'events.db'), { dedupWindowDays: 7, maxPendingEvents: 1000 });
  const t = at('2026-03-01T10:01:00Z');
  await log.append({
    events: [0, 30_000, 90_000].map((dt, i) =>
      streamEvent({ time: t + dt, arrival: t + dt, userId: 'u1', sessionId: 's1' }, i + 1),
    ),
    deadLetters: [],
  });
  return log;
}

function collectingSink() {
  const rows: WindowResult[] = [];
  return { rows, sink: { write: async (batch: readonly WindowResult[]) => void rows.push(...batch) } };
}

describe('idle watermark', () => {
  it('closes the last window by the wall clock once the log is idle', async () => {
    const log = await logWithOneSession();
    const { rows, sink } = collectingSink();
    const processor = createStreamProcessor({
      log,
      jobs: [sessionMetricsJob],
      checkpoints: new MemoryCheckpointStore(),
      sinks: { warehouse: sink, realtime: sink },
      idleMs: 5,
      // Ten minutes after the events: past the window end (10:05) plus the 5 s late-arrival tolerance.
      clock: () => at('2026-03-01T10:12:00Z'),
    });
    processor.start();
    for (let i = 0; i < 400 && rows.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    await processor.stop();
    await log.close();
    // The one row of the session's window: 3 events in (10:00, 10:05].
    expect(rows.map((r) => [r.windowEnd, r.values.eventCount])).toEqual([[at('2026-03-01T10:05:00Z'), 3]]);
  });

  it('keeps the window open without a clock, and while the clock is still inside the tolerance', async () => {
    for (const clock of [undefined, () => at('2026-03-01T10:05:04Z')]) {
      const log = await logWithOneSession();
      const { rows, sink } = collectingSink();
      const processor = createStreamProcessor({
        log,
        jobs: [sessionMetricsJob],
        checkpoints: new MemoryCheckpointStore(),
        sinks: { warehouse: sink, realtime: sink },
        idleMs: 5,
        ...(clock ? { clock } : {}),
      });
      processor.start();
      // Let the loop go idle several times.
      await new Promise((r) => setTimeout(r, 200));
      await processor.stop();
      await log.close();
      expect(rows).toEqual([]);
      expect(processor.engine?.counts().session_metrics?.openWindows).toBe(1);
    }
  });
});
