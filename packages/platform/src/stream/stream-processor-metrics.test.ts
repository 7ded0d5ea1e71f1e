/**
 * What the stream processor counts on /metrics: every event-time outcome, by kind (late, early, out of order) and
 * by action (adjusted under `adjust`, dropped under `drop`), as docs/stream-jobs.md promises.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteEventLog } from '../bus/sqlite/sqlite-event-log.ts';
import { createMetrics } from '../ops/metrics.ts';
import { MemoryCheckpointStore } from './checkpoint.ts';
import type { LatePolicy } from './event-time.ts';
import { defaultStreamJobs } from './jobs/index.ts';
import { createStreamProcessor } from './stream-processor.ts';
import { at, streamRecords } from './stream-test-events.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const arrival = at('2026-03-01T10:00:00Z');
// All arrive at once, under the default tolerances (late 5 s, early 5 minutes, out of order 0).
const events = [
  { time: arrival, arrival, userId: 'on-time' },
  // Ten minutes ahead: early, stamped (when adjusted) at arrival + 5 minutes, where the watermark goes.
  { time: arrival + 600_000, arrival, userId: 'early' },
  { time: arrival - 60_000, arrival, userId: 'late' },
  // Neither late nor early, but before the watermark the early event set (when it was adjusted).
  { time: arrival + 1_000, arrival, userId: 'out-of-order' },
];

async function lateEventCounts(latePolicy: LatePolicy): Promise<Record<string, number>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-stream-metrics-'));
  dirs.push(dir);
  const log = openSqliteEventLog(path.join(dir, 'events.db'), { dedupWindowDays: 7, maxPendingEvents: 1000 });
  try {
    await log.append({ events: streamRecords(events).map((record) => record.event), deadLetters: [] });
    const metrics = createMetrics();
    const ignore = { write: async () => {} };
    const processor = createStreamProcessor({
      log,
      jobs: defaultStreamJobs(),
      checkpoints: new MemoryCheckpointStore(),
      sinks: { warehouse: ignore, realtime: ignore, alerts: ignore },
      policy: { latePolicy },
      metrics,
    });
    await processor.drain();
    const { values } = await metrics.streamLateEvents.get();
    return Object.fromEntries(values.map((v) => [`${v.labels.kind} ${v.labels.action}`, v.value]));
  } finally {
    await log.close();
  }
}

describe('the stream processor’s event-time counters', () => {
  it('counts late, early and out-of-order events as adjusted under the adjust policy', async () => {
    expect(await lateEventCounts('adjust')).toEqual({
      'late adjusted': 1,
      'late dropped': 0,
      'early adjusted': 1,
      'early dropped': 0,
      'out_of_order adjusted': 1,
      'out_of_order dropped': 0,
    });
  });

  it('counts them as dropped under the drop policy (the early event, dropped, moves no watermark)', async () => {
    expect(await lateEventCounts('drop')).toEqual({
      'late adjusted': 0,
      'late dropped': 1,
      'early adjusted': 0,
      'early dropped': 1,
      'out_of_order adjusted': 0,
      'out_of_order dropped': 0,
    });
  });
});
