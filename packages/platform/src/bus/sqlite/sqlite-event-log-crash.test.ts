import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteEventLog } from './sqlite-event-log.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, 'crash-fixture.ts');
const platformDir = path.resolve(here, '../../..');

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-'));
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs the fixture until it has acked `count` events, SIGKILLs it, and returns every `[offset, eventId]` it acked. */
async function appendUntilKilled(file: string, count: number): Promise<[number, string][]> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, file, '64'], {
    cwd: platformDir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acked: [number, string][] = [];
  let partial = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk;
  });
  child.stdout.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      const [offset, eventId] = line.split(' ');
      acked.push([Number(offset), eventId!]);
    }
    if (acked.length >= count) child.kill('SIGKILL');
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('exit', (exitCode, exitSignal) => resolve([exitCode, exitSignal])),
  );
  if (signal !== 'SIGKILL') throw new Error(`The fixture exited by itself (${code}): ${stderr}`);
  return acked;
}

describe('SqliteEventLog after SIGKILL', () => {
  it('keeps every acked event exactly once, at its acked offset, in a sound file', async () => {
    const file = path.join(dir, 'events.db');
    const everAcked = new Map<string, number>();
    for (const round of [1, 2, 3]) {
      for (const [offset, eventId] of await appendUntilKilled(file, 3_000)) everAcked.set(eventId, offset);

      const db = new Database(file);
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      db.close();

      const log = openSqliteEventLog(file, { dedupWindowDays: 7, maxPendingEvents: 100_000 });
      const stored = new Map<string, number>();
      let previous = 0;
      for (let records = await log.read(0, 10_000); records.length > 0; ) {
        for (const { offset, event } of records) {
          expect(stored.has(event.eventId), `${event.eventId} stored twice`).toBe(false);
          expect(offset).toBeGreaterThan(previous);
          stored.set(event.eventId, offset);
          previous = offset;
        }
        records = await log.read(previous, 10_000);
      }
      expect(everAcked.size).toBeGreaterThanOrEqual(round * 3_000);
      for (const [eventId, offset] of everAcked) expect(stored.get(eventId), eventId).toBe(offset);

      // A client that never got its response retries: every acked id is still remembered.
      const retried = new Set([...everAcked.keys()].slice(-2_000));
      const outcomes = await log.append({
        events: (await log.read(0, 100_000))
          .filter((record) => retried.has(record.event.eventId))
          .map((record) => record.event),
        deadLetters: [],
      });
      expect(outcomes).toHaveLength(2_000);
      expect(outcomes.every((outcome) => outcome.status === 'duplicate')).toBe(true);
      await log.close();
    }
  });
});
