import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { StoredEvent } from '@deepref/schema';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeeprefError } from '../../errors.ts';
import type { AppendOutcome, DeadLetterInput } from '../event-log.ts';
import {
  openSqliteEventLog,
  openSqliteEventLogReader,
  type SqliteEventLog,
  type SqliteEventLogOptions,
} from './sqlite-event-log.ts';

const day = 86_400_000;
const t0 = Date.parse('2025-03-01T12:00:00.000Z');

function storedEvent(eventId: string, overrides: Partial<StoredEvent> = {}): StoredEvent {
  return {
    eventId,
    type: 'track',
    eventName: 'page_view',
    timestamp: '2025-03-01T11:59:59.500Z',
    originalTimestamp: '2025-03-01T11:59:58.000Z',
    receivedAt: '2025-03-01T12:00:00.000Z',
    anonymousId: 'anon-1',
    sessionId: 'session-1',
    properties: { path: '/pricing', value: 42 },
    context: { page: { url: 'https://example.com/pricing' }, locale: 'en-GB' },
    sourceId: 'web',
    device: { browser: 'Firefox', os: 'Linux', deviceType: 'desktop' },
    ...overrides,
  };
}

function deadLetter(overrides: Partial<DeadLetterInput> = {}): DeadLetterInput {
  return {
    reason: 'schema_violation',
    message: '/properties must be object',
    raw: '{"event":"x","properties":3}',
    sourceId: 'web',
    receivedAt: '2025-03-01T12:00:00.000Z',
    ...overrides,
  };
}

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

describe('SqliteEventLog', () => {
  it('creates its folder and reads back what it appended, in order, with exact values', async () => {
    const log = open();
    expect(await log.head()).toBe(0);
    const events = [
      storedEvent(randomUUID()),
      storedEvent(randomUUID(), {
        eventName: 'signup',
        userId: 'u-7',
        properties: { plan: 'pro', seats: 3 },
      }),
      storedEvent('not-a-uuid', { ip: '203.0.113.0' }),
    ];
    const outcomes = await log.append({ events, deadLetters: [] });
    expect(outcomes).toEqual([
      { status: 'accepted', offset: 1 },
      { status: 'accepted', offset: 2 },
      { status: 'accepted', offset: 3 },
    ]);
    expect(await log.read(0, 10)).toEqual(events.map((event, i) => ({ offset: i + 1, event })));
    expect(await log.read(1, 1)).toEqual([{ offset: 2, event: events[1] }]);
    expect(await log.read(3, 10)).toEqual([]);
    expect(await log.head()).toBe(3);
  });

  it('gives later appends higher offsets, across groups and reopens', async () => {
    let log = open();
    const first = await Promise.all(
      [1, 2, 3].map(() => log.append({ events: [storedEvent(randomUUID())], deadLetters: [] })),
    );
    const second = await log.append({ events: [storedEvent(randomUUID())], deadLetters: [] });
    await log.close();
    log = open();
    const third = await log.append({ events: [storedEvent(randomUUID())], deadLetters: [] });
    const offsets = [...first.flat(), ...second, ...third].map((o) =>
      o.status === 'accepted' ? o.offset : 0,
    );
    expect(offsets).toEqual([1, 2, 3, 4, 5]);
    expect(await log.head()).toBe(5);
  });

  describe('deduplication', () => {
    it('stores an id repeated within one batch once', async () => {
      const log = open();
      const id = randomUUID();
      const outcomes = await log.append({
        events: [storedEvent(id), storedEvent(id, { eventName: 'second' })],
        deadLetters: [],
      });
      expect(outcomes).toEqual([{ status: 'accepted', offset: 1 }, { status: 'duplicate' }]);
      expect((await log.read(0, 10)).map((r) => r.event.eventName)).toEqual(['page_view']);
    });

    it('stores a retried event once', async () => {
      const log = open();
      const id = randomUUID();
      await log.append({ events: [storedEvent(id)], deadLetters: [] });
      expect(await log.append({ events: [storedEvent(id)], deadLetters: [] })).toEqual([
        { status: 'duplicate' },
      ]);
      expect(await log.head()).toBe(1);
    });

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

    it('accepts each id once, with its offset, whatever the mix of concurrent and sequential appends', async () => {
      const log = open({ maxGroupEvents: 7 });
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              concurrent: fc.boolean(),
              batches: fc.array(fc.array(fc.nat(5), { maxLength: 5 }), { minLength: 1, maxLength: 5 }),
            }),
            { maxLength: 6 },
          ),
          async (steps) => {
            // Fresh ids for each run, half of them uuids, on the one log.
            const pool = Array.from({ length: 6 }, (_, i) => (i % 2 ? randomUUID() : `run-${++run}-${i}`));
            const accepted = new Map<string, number>();
            for (const { concurrent, batches } of steps) {
              const appendOne = (ids: string[]) =>
                log.append({ events: ids.map((id) => storedEvent(id)), deadLetters: [] });
              const idsOf = batches.map((batch) => batch.map((i) => pool[i]!));
              const results: AppendOutcome[][] = [];
              if (concurrent) results.push(...(await Promise.all(idsOf.map(appendOne))));
              else for (const ids of idsOf) results.push(await appendOne(ids));
              idsOf.flat().forEach((id, n) => {
                const outcome = results.flat()[n]!;
                if (accepted.has(id)) expect(outcome).toEqual({ status: 'duplicate' });
                else {
                  expect(outcome.status).toBe('accepted');
                  if (outcome.status === 'accepted') accepted.set(id, outcome.offset);
                }
              });
            }
            const records = await log.read(0, 100_000);
            for (const [id, offset] of accepted) {
              expect(records.filter((r) => r.event.eventId === id).map((r) => r.offset)).toEqual([offset]);
            }
          },
        ),
        { numRuns: 40 },
      );
    });

    it('treats a uuid case-insensitively and any other id as exact text', async () => {
      const log = open();
      const id = randomUUID();
      const outcomes = await log.append({
        events: [
          storedEvent(id),
          storedEvent(id.toUpperCase()),
          storedEvent('Order-1'),
          storedEvent('order-1'),
        ],
        deadLetters: [],
      });
      expect(outcomes.map((o) => o.status)).toEqual(['accepted', 'duplicate', 'accepted', 'accepted']);
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

    it('refuses a batch it cannot encode without failing the others of its group', async () => {
      const log = open();
      const bad = storedEvent(randomUUID(), { properties: { big: 10n } });
      const good = log.append({ events: [storedEvent(randomUUID())], deadLetters: [] });
      const error = await caught(log.append({ events: [bad], deadLetters: [] }));
      expect(error).toBeInstanceOf(TypeError);
      const incomplete = { ...deadLetter(), raw: undefined } as unknown as DeadLetterInput;
      const refused = await caught(
        log.append({ events: [storedEvent(randomUUID())], deadLetters: [incomplete] }),
      );
      expect(refused).toMatchObject({ message: 'A dead letter has no raw.' });
      expect(await good).toEqual([{ status: 'accepted', offset: 1 }]);
      expect(await log.head()).toBe(1);
    });

    it('refuses at once with DEEPREF_OVERLOADED past maxPendingEvents', async () => {
      const log = open({ maxPendingEvents: 100 });
      const batch = () => ({
        events: Array.from({ length: 60 }, () => storedEvent(randomUUID())),
        deadLetters: [],
      });
      const first = log.append(batch());
      const error = await caught(log.append(batch()));
      expect(error).toBeInstanceOf(DeeprefError);
      expect(error).toMatchObject({ code: 'DEEPREF_OVERLOADED', statusCode: 503, retryAfter: 1 });
      expect((await first).length).toBe(60);
      // Once the group is committed, the buffer is free again.
      expect((await log.append(batch())).length).toBe(60);
    });

    it('takes a batch larger than the whole buffer when nothing else is pending', async () => {
      const log = open({ maxPendingEvents: 10 });
      const outcomes = await log.append({
        events: Array.from({ length: 25 }, () => storedEvent(randomUUID())),
        deadLetters: [],
      });
      expect(outcomes).toHaveLength(25);
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

    it('flushes pending appends on close, then refuses with DEEPREF_SHUTTING_DOWN', async () => {
      const log = open();
      const pending = log.append({ events: [storedEvent('last-one')], deadLetters: [] });
      await log.close();
      expect(await pending).toEqual([{ status: 'accepted', offset: 1 }]);
      const error = await caught(log.append({ events: [storedEvent(randomUUID())], deadLetters: [] }));
      expect(error).toMatchObject({ code: 'DEEPREF_SHUTTING_DOWN', statusCode: 503, retryAfter: 1 });
      const reopened = open();
      expect((await reopened.read(0, 10)).map((r) => r.event.eventId)).toEqual(['last-one']);
    });
  });

  describe('dead letters', () => {
    it('stores dead letters with the events of their batch and reads them back exactly', async () => {
      const log = open();
      const letters = [
        deadLetter({ eventId: 'e-1', eventName: 'signup' }),
        deadLetter({ reason: 'payload_format', message: 'not JSON', raw: '{"a":', sourceId: 'server' }),
      ];
      await log.append({ events: [storedEvent(randomUUID())], deadLetters: letters });
      expect(await log.deadLetters.list()).toEqual([
        { id: 1, ...letters[0] },
        { id: 2, ...letters[1] },
      ]);
      expect(await log.deadLetters.get(2)).toEqual({ id: 2, ...letters[1] });
      expect(await log.deadLetters.get(3)).toBeUndefined();
    });

    it('stores a batch of only dead letters', async () => {
      const log = open();
      expect(await log.append({ events: [], deadLetters: [deadLetter()] })).toEqual([]);
      expect(await log.deadLetters.countByReason()).toEqual({ schema_violation: 1 });
    });

    it('lists by reason, pending state, after an id and up to a limit; counts by reason', async () => {
      const log = open();
      const reasons = [
        'schema_violation',
        'size_violation',
        'schema_violation',
        'unknown_event',
        'schema_violation',
      ] as const;
      await log.append({ events: [], deadLetters: reasons.map((reason) => deadLetter({ reason })) });
      await log.deadLetters.markReplayed(1, 'accepted');
      const ids = async (query: Parameters<typeof log.deadLetters.list>[0]) =>
        (await log.deadLetters.list(query)).map((d) => d.id);
      expect(await ids({})).toEqual([1, 2, 3, 4, 5]);
      expect(await ids({ reason: 'schema_violation' })).toEqual([1, 3, 5]);
      expect(await ids({ reason: 'schema_violation', pending: true })).toEqual([3, 5]);
      expect(await ids({ pending: true, afterId: 3 })).toEqual([4, 5]);
      expect(await ids({ limit: 2, afterId: 1 })).toEqual([2, 3]);
      expect(await log.deadLetters.countByReason()).toEqual({
        schema_violation: 3,
        size_violation: 1,
        unknown_event: 1,
      });
    });

    it('marks a dead letter replayed with its outcome', async () => {
      const log = open();
      await log.append({ events: [], deadLetters: [deadLetter()] });
      await log.deadLetters.markReplayed(1, 'duplicate');
      const replayed = await log.deadLetters.get(1);
      expect(replayed?.replayOutcome).toBe('duplicate');
      expect(Number.isNaN(Date.parse(replayed?.replayedAt ?? ''))).toBe(false);
      const error = await caught(log.deadLetters.markReplayed(99, 'accepted'));
      expect(error).toMatchObject({ code: 'DEEPREF_NOT_FOUND', message: 'Dead letter 99 was not found.' });
    });
  });

  describe('consumer offsets', () => {
    it('keeps each consumer its own committed offset', async () => {
      const log = open();
      expect(await log.committedOffset('warehouse')).toBe(0);
      await log.commitOffset('warehouse', 10);
      await log.commitOffset('lake', 4);
      await log.commitOffset('warehouse', 12);
      expect(await log.committedOffset('warehouse')).toBe(12);
      expect(await log.consumerOffsets()).toEqual({ lake: 4, warehouse: 12 });
      await log.close();
      expect(await open().consumerOffsets()).toEqual({ lake: 4, warehouse: 12 });
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
