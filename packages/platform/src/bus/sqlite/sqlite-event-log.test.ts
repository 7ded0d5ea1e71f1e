import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deadLetter, describeEventLogContract, storedEvent } from '../event-log.contract.ts';
import {
  openSqliteEventLog,
  openSqliteEventLogReader,
  type SqliteEventLog,
  type SqliteEventLogOptions,
} from './sqlite-event-log.ts';

const day = 86_400_000;
const t0 = Date.parse('2025-03-01T12:00:00.000Z');

let dir: string;
let file: string;
const opened: { close(): Promise<void> }[] = [];

function open(options: Partial<SqliteEventLogOptions> = {}): SqliteEventLog {
  const log = openSqliteEventLog(file, { dedupWindowDays: 7, maxPendingEvents: 10_000, ...options });
  opened.push(log);
  return log;
}

/** A second connection to the same file, as another process would have. */
function rawConnection(): Database.Database {
  const db = new Database(file);
  opened.push({ close: async () => void db.close() });
  return db;
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-'));
  file = path.join(dir, 'log', 'events.db');
});

afterEach(async () => {
  for (const log of opened.splice(0)) await log.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

// Once with the recent tail (reads of new records from memory), once reading every record back from the file.
for (const [name, recentTail] of [
  ['sqlite', undefined],
  ['sqlite, reads from the file only', { bodies: 0, events: 0 }],
] as const) {
  describeEventLogContract(name, async (options = {}) => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-'));
    const logs: SqliteEventLog[] = [];
    const openLog = async () => {
      const log = openSqliteEventLog(path.join(folder, 'log', 'events.db'), {
        dedupWindowDays: 7,
        maxPendingEvents: options.maxPendingEvents ?? 10_000,
        ...(recentTail === undefined ? {} : { recentTail }),
      });
      logs.push(log);
      return log;
    };
    return {
      log: await openLog(),
      reopen: openLog,
      dispose: async () => {
        for (const log of logs) await log.close();
        fs.rmSync(folder, { recursive: true, force: true });
      },
    };
  });
}

describe('SqliteEventLog', () => {
  describe('deduplication', () => {
    it('accepts an id once among concurrent appends that share a group commit', async () => {
      const commits: number[] = [];
      const log = open({ onGroupCommit: (commit) => commits.push(commit.batches) });
      const id = randomUUID();
      const results = await Promise.all(
        [0, 1, 2, 3].map(() => log.append({ events: [storedEvent(id)], deadLetters: [] })),
      );
      expect(commits).toEqual([4]);
      expect(results.flat()).toEqual([
        { status: 'accepted', offset: 1 },
        { status: 'duplicate' },
        { status: 'duplicate' },
        { status: 'duplicate' },
      ]);
    });

    it('remembers ids across a reopen, whether they were still in memory or already in the index', async () => {
      const inMemory = [randomUUID(), 'order-17'];
      const moved = [randomUUID(), randomUUID()];
      let log = open({ recentIdsInMemory: 1 });
      await log.append({ events: moved.map((id) => storedEvent(id)), deadLetters: [] });
      // The memory is full now: this commit moves the earlier ids into the on-disk index.
      await log.append({ events: inMemory.map((id) => storedEvent(id)), deadLetters: [] });
      await log.close();
      log = open({ recentIdsInMemory: 1_000 });
      const outcomes = await log.append({
        events: [...moved, ...inMemory].map((id) => storedEvent(id)),
        deadLetters: [],
      });
      expect(outcomes).toEqual(new Array(4).fill({ status: 'duplicate' }));
      expect(await log.head()).toBe(4);
    });

    it('forgets ids older than the dedup window, and not before', async () => {
      let clock = t0;
      const log = open({ dedupWindowDays: 7, now: () => clock });
      const old = randomUUID();
      await log.append({ events: [storedEvent(old)], deadLetters: [] });
      clock = t0 + 6 * day;
      expect(await log.append({ events: [storedEvent(old)], deadLetters: [] })).toEqual([
        { status: 'duplicate' },
      ]);
      clock = t0 + 7 * day + 60_000;
      // The commit at 6 days moved `old` from memory to the index; this one prunes it there.
      await log.append({ events: [storedEvent(randomUUID())], deadLetters: [] });
      expect(await log.append({ events: [storedEvent(old)], deadLetters: [] })).toEqual([
        { status: 'accepted', offset: 3 },
      ]);
    });

    it('prunes in chunks, on every commit while a backlog remains, then at most once a minute', async () => {
      let clock = t0;
      const log = open({ now: () => clock, recentIdsInMemory: 1 });
      const commit = (ids = [randomUUID()]) =>
        log.append({ events: ids.map((id) => storedEvent(id)), deadLetters: [] });
      const db = rawConnection();
      const firstSeenAt = (time: number) =>
        db.prepare('SELECT count(*) FROM seen_event_ids WHERE first_seen = ?').pluck().get(time);
      await commit(Array.from({ length: 2_500 }, () => randomUUID()));
      clock = t0 + day + 10_000;
      await commit(); // moves the 2,500 ids into the index
      clock = t0 + day + 80_000;
      await commit(); // moves the id of t0 + 1 day + 10 s
      expect(firstSeenAt(t0)).toBe(2_500);
      expect(firstSeenAt(t0 + day + 10_000)).toBe(1);

      clock = t0 + 8 * day;
      await commit();
      expect(firstSeenAt(t0)).toBe(1_500);
      await commit();
      expect(firstSeenAt(t0)).toBe(500);
      await commit();
      expect(firstSeenAt(t0)).toBe(0);
      clock += 30_000; // the id of t0 + 1 day + 10 s is past the window now, but the last prune was 30 s ago
      await commit();
      expect(firstSeenAt(t0 + day + 10_000)).toBe(1);
      clock += 31_000;
      await commit();
      expect(firstSeenAt(t0 + day + 10_000)).toBe(0);
      expect(firstSeenAt(t0 + day + 80_000)).toBe(1);
    });
  });

  describe('group commit', () => {
    it('writes all batches queued in one turn in one transaction', async () => {
      const commits: { batches: number; events: number; deadLetters: number }[] = [];
      const log = open({
        onGroupCommit: ({ batches, events, deadLetters }) => commits.push({ batches, events, deadLetters }),
      });
      const appends = Array.from({ length: 10 }, (_, i) =>
        log.append({
          events: [storedEvent(randomUUID()), storedEvent(randomUUID())],
          deadLetters: i === 0 ? [deadLetter()] : [],
        }),
      );
      const results = await Promise.all(appends);
      expect(commits).toEqual([{ batches: 10, events: 20, deadLetters: 1 }]);
      expect(results.flat().map((o) => (o.status === 'accepted' ? o.offset : 0))).toEqual(
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
    });

    it('commits what was sent during a commit without waiting for the event loop to read that commit’s answer', async () => {
      const log = open();
      await log.append({ events: [storedEvent(randomUUID())], deadLetters: [] }); // the writer thread is ready
      const first = log.append({
        events: Array.from({ length: 5_000 }, () => storedEvent(randomUUID())),
        deadLetters: [],
      });
      await new Promise(setImmediate); // sent; its commit takes milliseconds
      const second = log.append({ events: [storedEvent(randomUUID())], deadLetters: [] });
      await new Promise(setImmediate); // sent too, while the first is still committing
      // From here the event loop is held: no answer of the writer thread's is read until the second is in the file.
      const reader = rawConnection();
      const head = () => reader.prepare('SELECT max("offset") FROM events').pluck().get() as number;
      const until = Date.now() + 10_000;
      while (head() < 5_002 && Date.now() < until) {}
      expect(head()).toBe(5_002);
      expect((await second)[0]).toEqual({ status: 'accepted', offset: 5_002 });
      expect(await first).toHaveLength(5_000);
    });

    it('commits a group as soon as it reaches maxGroupEvents', async () => {
      const commits: number[] = [];
      const log = open({ maxGroupEvents: 4, onGroupCommit: (commit) => commits.push(commit.events) });
      await Promise.all(
        Array.from({ length: 5 }, () =>
          log.append({ events: [storedEvent(randomUUID()), storedEvent(randomUUID())], deadLetters: [] }),
        ),
      );
      expect(commits).toEqual([4, 4, 2]);
    });

    it('rejects every batch of a failed transaction and stores nothing of any of them', async () => {
      const log = open();
      await log.append({ events: [storedEvent(randomUUID())], deadLetters: [] });
      // A real engine error from the middle of the group: the third event of the second batch.
      rawConnection().exec(`CREATE TRIGGER refuse_poison BEFORE INSERT ON events WHEN NEW.body LIKE '%poison%'
        BEGIN SELECT RAISE(ABORT, 'forced failure'); END`);
      const batches = [
        { events: [storedEvent(randomUUID())], deadLetters: [deadLetter()] },
        {
          events: [
            storedEvent(randomUUID()),
            storedEvent(randomUUID()),
            storedEvent(randomUUID(), { eventName: 'poison' }),
          ],
          deadLetters: [],
        },
        { events: [storedEvent(randomUUID())], deadLetters: [] },
      ];
      const errors = await Promise.all(batches.map((batch) => caught(log.append(batch))));
      for (const error of errors)
        expect(error).toMatchObject({ code: 'SQLITE_CONSTRAINT_TRIGGER', message: 'forced failure' });
      expect(await log.head()).toBe(1);
      expect(await log.read(0, 100)).toHaveLength(1);
      expect(await log.deadLetters.list()).toEqual([]);

      rawConnection().exec('DROP TRIGGER refuse_poison');
      // Nothing of the failed group was remembered either: the retries are new events.
      const retried = await Promise.all(batches.map((batch) => log.append(batch)));
      expect(retried.flat()).toEqual([2, 3, 4, 5, 6].map((offset) => ({ status: 'accepted', offset })));
      expect(await log.deadLetters.countByReason()).toEqual({ schema_violation: 1 });
    });

    it('refuses every write with the cause when its writer thread cannot run', async () => {
      const log = open();
      fs.rmSync(file); // before the writer thread opens it
      const error = await caught(log.append({ events: [storedEvent(randomUUID())], deadLetters: [] }));
      expect(error).toMatchObject({
        message: expect.stringMatching(/^The event log writer thread failed: /),
      });
      expect(await caught(log.commitOffset('lake', 1))).toBe(error);
      await log.close();
    });
  });

  describe('recent tail', () => {
    it('serves new records from memory, the same as the file holds, and older ones from the file', async () => {
      const log = open({ recentTail: { bodies: 3, events: 3 } });
      const events = ['a', 'b', 'c', 'd', 'e'].map((id) => storedEvent(id));
      await log.append({ events: events.slice(0, 2), deadLetters: [] });
      await log.append({ events: [...events.slice(2), storedEvent('a')], deadLetters: [] });
      const reader = openSqliteEventLogReader(file);
      opened.push(reader);
      const fromFile = await reader.read(0, 10);
      expect(fromFile.map((r) => r.offset)).toEqual([1, 2, 3, 4, 5]);
      // Within the tail (offsets 3 to 5): the appended objects themselves, equal to what the file holds.
      const recent = await log.read(2, 10);
      expect(recent).toStrictEqual(fromFile.slice(2));
      for (const [i, record] of recent.entries()) expect(record.event).toBe(events[2 + i]);
      expect(await log.readRaw(2, 2)).toEqual(await reader.readRaw!(2, 2));
      // Before it: read from the file, parsed again.
      const all = await log.read(0, 10);
      expect(all).toStrictEqual(fromFile);
      expect(all[0]!.event).not.toBe(events[0]);
    });

    it('never serves an erased subject from memory', async () => {
      const log = open();
      await log.append({
        events: [storedEvent('kept', { userId: 'u1' }), storedEvent('gone', { userId: 'u2' })],
        deadLetters: [],
      });
      expect((await log.read(0, 10)).map((r) => r.event.eventId)).toEqual(['kept', 'gone']);
      await log.eraseSubject(['u2']);
      expect((await log.read(0, 10)).map((r) => r.event.eventId)).toEqual(['kept']);
      expect((await log.readRaw(0, 10)).map((r) => JSON.parse(r.body).eventId)).toEqual(['kept']);
      await log.append({ events: [storedEvent('new', { userId: 'u3' })], deadLetters: [] });
      expect((await log.read(0, 10)).map((r) => r.event.eventId)).toEqual(['kept', 'new']);
    });
  });

  describe('reader', () => {
    it('reads the log, the dead letters and the offsets while the server writes', async () => {
      const log = open();
      await log.append({ events: [storedEvent('one')], deadLetters: [deadLetter()] });
      await log.commitOffset('lake', 1);
      const reader = openSqliteEventLogReader(file);
      opened.push(reader);
      await log.append({ events: [storedEvent('two')], deadLetters: [] });
      expect((await reader.read(0, 10)).map((r) => [r.offset, r.event.eventId])).toEqual([
        [1, 'one'],
        [2, 'two'],
      ]);
      expect(await reader.head()).toBe(2);
      expect(await reader.consumerOffsets()).toEqual({ lake: 1 });
      expect(await reader.deadLetters.countByReason()).toEqual({ schema_violation: 1 });
    });

    it('refuses writes unless opened writable', async () => {
      const log = open();
      await log.append({ events: [], deadLetters: [deadLetter()] });
      await log.close();
      const reader = openSqliteEventLogReader(file);
      opened.push(reader);
      await expect(reader.deadLetters.markReplayed(1, 'accepted')).rejects.toThrow(/read-only/);
      await expect(reader.commitOffset('lake', 1)).rejects.toThrow(/read-only/);
      const writer = openSqliteEventLogReader(file, { writable: true });
      opened.push(writer);
      await writer.deadLetters.markReplayed(1, 'accepted');
      expect((await reader.deadLetters.get(1))?.replayOutcome).toBe('accepted');
    });

    it('says which file is missing', () => {
      expect(() => openSqliteEventLogReader(file)).toThrow(`The event log ${file} was not found.`);
    });
  });
});
