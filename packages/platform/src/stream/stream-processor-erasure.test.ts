/**
 * A subject's erasure through the stream processor: it waits for the batch being written (no race with the
 * engine's turn), then rewrites the checkpoint file at once, and the windows that close later name no erased id.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteEventLog } from '../bus/sqlite/sqlite-event-log.ts';
import { FileCheckpointStore, MemoryCheckpointStore } from './checkpoint.ts';
import { defaultStreamJobs } from './jobs/index.ts';
import type { WindowResult } from './stream-job.ts';
import { createStreamProcessor } from './stream-processor.ts';
import { at, streamEvent, type TestEventInput } from './stream-test-events.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const subject = ['user-erased-5d1e', 'anon-erased-0b7c'];
const t = (hms: string) => at(`2026-03-01T${hms}Z`);
const ev = (hms: string, userId: string, sessionId: string): TestEventInput => ({
  time: t(hms),
  arrival: t(hms),
  userId,
  sessionId,
});

/** A sink whose writes wait until `release()`: the batch in flight, held open. */
function heldSink() {
  const rows: WindowResult[] = [];
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let writing!: () => void;
  const firstWrite = new Promise<void>((resolve) => {
    writing = resolve;
  });
  return {
    rows,
    release,
    firstWrite,
    sink: {
      async write(batch: readonly WindowResult[]) {
        writing();
        await released;
        rows.push(...batch);
      },
    },
  };
}

describe('erasing a subject through the stream processor', () => {
  it('waits for the batch being written, then checkpoints without the ids; later windows name none', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-stream-erasure-'));
    dirs.push(dir);
    const log = openSqliteEventLog(path.join(dir, 'events.db'), {
      dedupWindowDays: 7,
      maxPendingEvents: 1000,
    });
    const events = [
      ev('10:00:10', subject[1]!, 's1'),
      ev('10:01:00', subject[0]!, 's1'),
      ev('10:02:00', 'user-kept', 's2'),
      // Past 10:05: the batch closes the first windows (rows naming the subject, being written) and opens the next.
      ev('10:06:00', subject[0]!, 's1'),
      ev('10:07:00', 'user-kept', 's2'),
    ];
    await log.append({ events: events.map((e, i) => streamEvent(e, i + 1)), deadLetters: [] });
    // In memory: an erasure that did not wait its turn would be done within a turn of the event loop.
    const checkpoints = new MemoryCheckpointStore();
    const checkpointed = async () => JSON.stringify(await checkpoints.load());
    const held = heldSink();
    const processor = createStreamProcessor({
      log,
      jobs: defaultStreamJobs(),
      checkpoints,
      sinks: { warehouse: held.sink, realtime: held.sink, alerts: held.sink },
      // Only the erasure checkpoints in between: the file it leaves is the one checked.
      checkpointEveryMs: Number.POSITIVE_INFINITY,
    });

    const draining = processor.drain();
    await held.firstWrite;
    let erased: Awaited<ReturnType<typeof processor.eraseSubject>> | undefined;
    const erasing = processor.eraseSubject(subject).then((state) => {
      erased = state;
    });
    // The batch is still being written: the erasure waits its turn.
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(erased).toBeUndefined();
    held.release();
    await erasing;
    await draining;

    // The first windows' rows (written before the erasure, for the other stores to erase) named the subject.
    const before = held.rows.length;
    expect(held.rows.some((r) => r.key.includes(subject[0]!))).toBe(true);
    expect(erased).toMatchObject({
      session_metrics: { groups: 1 },
      user_engagement: { groups: 2 },
      event_volume_alerts: { groups: 1 },
    });
    const text = await checkpointed();
    for (const id of subject) expect(text.includes(id), id).toBe(false);
    expect(text.includes('user-kept')).toBe(true);
    expect(await processor.findSubject(subject)).toEqual({});

    // Every window closes: none names the subject, the kept user's do.
    await processor.finish();
    const later = held.rows.slice(before);
    expect(later.filter((r) => subject.some((id) => JSON.stringify(r).includes(id)))).toEqual([]);
    expect(later.filter((r) => r.key === 'user-kept').map((r) => r.job)).toContain('user_engagement');
    for (const id of subject) expect((await checkpointed()).includes(id), id).toBe(false);
    await log.close();
  });

  it('rewrites the checkpoint file without the ids, leaving no other file, before the engine has started too', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-stream-erasure-'));
    dirs.push(dir);
    const log = openSqliteEventLog(path.join(dir, 'events.db'), {
      dedupWindowDays: 7,
      maxPendingEvents: 1000,
    });
    await log.append({
      events: [ev('10:00:10', subject[0]!, 's1'), ev('10:00:20', 'user-kept', 's2')].map((e, i) =>
        streamEvent(e, i + 1),
      ),
      deadLetters: [],
    });
    const file = path.join(dir, 'stream', 'checkpoint.json');
    const options = {
      log,
      jobs: defaultStreamJobs(),
      checkpoints: new FileCheckpointStore(file),
      sinks: {
        warehouse: { write: async () => {} },
        realtime: { write: async () => {} },
        alerts: { write: async () => {} },
      },
    };
    const first = createStreamProcessor(options);
    await first.drain();
    expect(fs.readFileSync(file).includes(subject[0]!)).toBe(true);
    // A new process, before its first batch: what it would restore is erased.
    const second = createStreamProcessor(options);
    expect(await second.eraseSubject(subject)).toMatchObject({ session_metrics: { groups: 1 } });
    const bytes = fs.readFileSync(file);
    expect(bytes.includes(subject[0]!)).toBe(false);
    expect(bytes.includes('user-kept')).toBe(true);
    // Written beside it and renamed over it: no temporary file keeps the old bytes.
    expect(fs.readdirSync(path.dirname(file))).toEqual(['checkpoint.json']);
    await second.drain();
    expect(fs.readFileSync(file).includes(subject[0]!)).toBe(false);
    await log.close();
  });
});
