/**
 * Erasing a subject from the embedded event log: its events (by user or anonymous id) and the dead letters that
 * name it go, nothing else does, no byte of them is left in the database file or its WAL, and an offset is never
 * given out twice, even when the subject's event was the newest.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storedEvent } from '../../storage/test-events.ts';
import { openSqliteEventLog, type SqliteEventLog } from './sqlite-event-log.ts';

let dir: string;
let file: string;
let log: SqliteEventLog;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-log-erase-'));
  file = path.join(dir, 'events.db');
  log = openSqliteEventLog(file, { dedupWindowDays: 7, maxPendingEvents: 10_000 });
});

afterEach(async () => {
  await log.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const marker = (n: number) => `erasure-marker-${n}-qv7`;
const event = (n: number, who: { userId?: string; anonymousId: string }) => {
  const { userId: _, ...base } = storedEvent(n);
  return { ...base, ...who, properties: { marker: marker(n) } };
};

function fileHolds(text: string): string[] {
  return fs.readdirSync(dir).filter((name) => fs.readFileSync(path.join(dir, name)).includes(text));
}

describe('EventLog.eraseSubject (SQLite)', () => {
  it('removes the subject’s events and dead letters, leaves the others, and leaves no byte behind', async () => {
    await log.append({
      events: [
        event(1, { anonymousId: 'anon-x' }),
        event(2, { userId: 'user-x', anonymousId: 'anon-x' }),
        event(3, { userId: 'user-y', anonymousId: 'anon-y' }),
        event(4, { userId: 'user-x', anonymousId: 'anon-x2' }),
        event(5, { userId: 'user-y', anonymousId: 'anon-y' }),
      ],
      deadLetters: [
        {
          reason: 'schema_violation',
          message: 'bad',
          raw: JSON.stringify({ userId: 'user-x', note: marker(6) }),
          sourceId: 's',
          receivedAt: new Date().toISOString(),
        },
        {
          reason: 'schema_violation',
          message: 'bad',
          raw: JSON.stringify({ userId: 'user-y', note: marker(7) }),
          sourceId: 's',
          receivedAt: new Date().toISOString(),
        },
      ],
    });
    const found = await log.findSubject(['user-x', 'anon-x']);
    expect(found.events.map((r) => r.offset)).toEqual([1, 2, 4]);
    expect(found.deadLetters.map((d) => d.id)).toEqual([1]);
    for (const n of [1, 2, 4, 6]) expect(fileHolds(marker(n)).length).toBeGreaterThan(0);

    expect(await log.eraseSubject(['user-x', 'anon-x'])).toEqual({ events: 3, deadLetters: 1 });

    expect((await log.read(0, 100)).map((r) => r.offset)).toEqual([3, 5]);
    expect((await log.deadLetters.list()).map((d) => d.id)).toEqual([2]);
    expect(await log.findSubject(['user-x', 'anon-x'])).toEqual({ events: [], deadLetters: [] });
    for (const n of [1, 2, 4, 6]) expect(fileHolds(marker(n)), marker(n)).toEqual([]);
    for (const n of [3, 5, 7]) expect(fileHolds(marker(n)).length, marker(n)).toBeGreaterThan(0);
  });

  it('never reuses the offset of an erased newest event', async () => {
    await log.append({
      events: [
        event(1, { userId: 'user-y', anonymousId: 'a' }),
        event(2, { userId: 'user-x', anonymousId: 'b' }),
      ],
      deadLetters: [],
    });
    expect(await log.eraseSubject(['user-x'])).toEqual({ events: 1, deadLetters: 0 });
    expect((await log.read(0, 100)).map((r) => r.offset)).toEqual([1]);
    expect(fileHolds(marker(2))).toEqual([]);
    const [outcome] = await log.append({
      events: [event(3, { userId: 'user-z', anonymousId: 'c' })],
      deadLetters: [],
    });
    expect(outcome).toEqual({ status: 'accepted', offset: 3 });
    expect((await log.read(1, 100)).map((r) => r.offset)).toEqual([3]);
  });
});
