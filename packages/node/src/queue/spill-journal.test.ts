import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildEvent, type QueuedEvent } from '../event.ts';
import { EventQueue } from './event-queue.ts';
import { SpillJournal } from './spill-journal.ts';

let directory: string;
const open: SpillJournal[] = [];

beforeEach(() => {
  directory = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-spill-'));
});

afterEach(() => {
  for (const journal of open.splice(0)) journal.close();
  fs.rmSync(directory, { recursive: true, force: true });
});

function journal(options: { segmentBytes?: number } = {}): SpillJournal {
  const opened = SpillJournal.open({ directory, fsync: 'never', ...options });
  open.push(opened);
  return opened;
}

function close(j: SpillJournal): void {
  j.close();
  open.splice(open.indexOf(j), 1);
}

const events = (count: number, from = 0) =>
  Array.from({ length: count }, (_, i) =>
    buildEvent('sdk_probe', { seq: from + i }, { anonymousId: 'test' }),
  );

const seqs = (list: QueuedEvent[]) => list.map((event) => JSON.parse(event.json).properties.seq as number);

const segmentFiles = () => fs.readdirSync(directory).filter((name) => name.startsWith('segment-'));

describe('the spill journal', () => {
  it('gives back on the next open the events not settled, in order, with their eventIds', () => {
    const first = journal();
    const written = events(10);
    for (const event of written) first.append(event, true);
    first.settle([written[0]!, written[3]!, written[9]!]);
    close(first);

    const second = journal();
    expect(second.replayed).toBe(7);
    const replayed = second.readBacklog(100);
    expect(seqs(replayed)).toEqual([1, 2, 4, 5, 6, 7, 8]);
    expect(replayed.map((event) => event.eventId)).toEqual(
      [1, 2, 4, 5, 6, 7, 8].map((i) => written[i]!.eventId),
    );
    expect(second.backlog).toBe(0);
  });

  it('replays the same with every fsync policy', () => {
    for (const fsync of ['always', 'interval', 'never'] as const) {
      const first = SpillJournal.open({ directory, fsync });
      for (const event of events(3)) first.append(event, true);
      first.close();
      const second = SpillJournal.open({ directory, fsync });
      expect(seqs(second.readBacklog(10))).toEqual([0, 1, 2]);
      second.close();
      fs.rmSync(directory, { recursive: true, force: true });
    }
  });

  it('skips a line torn by a crash', () => {
    const first = journal();
    for (const event of events(3)) first.append(event, true);
    close(first);
    const [file] = segmentFiles();
    const half = events(1, 3)[0]!.json.slice(0, 40);
    fs.appendFileSync(path.join(directory, file!), half);
    fs.writeFileSync(path.join(directory, 'lock'), '999999999');

    const second = journal();
    expect(second.replayed).toBe(3);
    expect(seqs(second.readBacklog(10))).toEqual([0, 1, 2]);
  });

  it('deletes segments once nothing in them is pending, and every file when the queue is empty', () => {
    const j = journal({ segmentBytes: 1000 });
    const written = events(30);
    for (const event of written) j.append(event, true);
    const filesWhileFull = segmentFiles().length;
    expect(filesWhileFull).toBeGreaterThan(3);
    j.settle(written.slice(0, 20));
    expect(segmentFiles().length).toBeLessThan(filesWhileFull);
    j.settle(written.slice(20));
    expect(j.pendingBytes).toBe(0);
    close(j);
    expect(fs.readdirSync(directory)).toEqual([]);
  });

  it('keeps the settled records of older segments as long as those hold pending events', () => {
    const first = journal({ segmentBytes: 600 });
    const written = events(12);
    for (const event of written) first.append(event, true);
    // Settle all but the very first event: the records land in later segments than most of the events.
    first.settle(written.slice(1));
    close(first);
    const second = journal();
    expect(second.replayed).toBe(1);
    expect(seqs(second.readBacklog(10))).toEqual([0]);
  });

  it("refuses a directory held in this process or by another live one, and takes over a dead holder's", () => {
    journal();
    expect(() => SpillJournal.open({ directory })).toThrow(/DEEPREF|in use by process/);
    close(open[0]!);

    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    fs.writeFileSync(path.join(directory, 'lock'), child.stdout.toString());
    expect(() => journal()).not.toThrow();

    close(open[0]!);
    fs.writeFileSync(path.join(directory, 'lock'), String(process.ppid));
    expect(() => SpillJournal.open({ directory })).toThrow(`in use by process ${process.ppid}`);
  });
});

describe('the queue over a journal', () => {
  it('keeps at most maxEvents in memory and reads the rest back from disk in order', () => {
    const queue = new EventQueue(4, journal());
    for (const event of events(10)) queue.push(event);
    expect(queue.length).toBe(10);
    expect(queue.spilled).toBe(6);
    const taken: QueuedEvent[] = [];
    for (;;) {
      const batch = queue.take(3, Number.POSITIVE_INFINITY, 0);
      if (batch.length === 0) break;
      taken.push(...batch);
      queue.settle(batch);
    }
    expect(seqs(taken)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(taken.map((event) => event.position)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('drops the oldest waiting event and records it as settled', () => {
    const j = journal();
    const queue = new EventQueue(2, j);
    for (const event of events(5)) queue.push(event);
    expect(seqs([queue.dropOldest()!, queue.dropOldest()!, queue.dropOldest()!])).toEqual([0, 1, 2]);
    close(j);
    const again = new EventQueue(2, journal());
    expect(seqs(again.take(10, Number.POSITIVE_INFINITY, 0))).toEqual([3, 4]);
  });

  it('takes batches within a byte budget, but always at least one event', () => {
    const queue = new EventQueue(100);
    const list = events(10);
    for (const event of list) queue.push(event);
    const size = list[0]!.bytes;
    expect(queue.take(100, 2 + 3 * (size + 10), 10)).toHaveLength(3);
    expect(queue.take(100, 1, 10)).toHaveLength(1);
    expect(queue.headPosition()).toBe(4);
  });
});
