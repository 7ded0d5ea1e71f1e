import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deadLetter, storedEvent } from '../event-log.contract.ts';
import { openSqliteEventLog } from './sqlite-event-log.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const ids = Array.from({ length: 100 }, () => randomUUID());
const event = (i: number) => storedEvent(ids[i]!, { properties: { marker: `retention-marker-${i}` } });

async function logWith(events: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-log-retention-'));
  dirs.push(dir);
  const file = path.join(dir, 'events.db');
  const log = openSqliteEventLog(file, { dedupWindowDays: 7, maxPendingEvents: 10_000 });
  await log.append({
    events: Array.from({ length: events }, (_, i) => event(i)),
    deadLetters: [deadLetter(), deadLetter()],
  });
  return { log, file };
}

const future = new Date(Date.now() + 86_400_000);
const past = new Date(Date.now() - 86_400_000);
const consumers = ['warehouse', 'lake'];

describe('event log retention', () => {
  it('removes only events every consumer has passed, and never the newest', async () => {
    const { log, file } = await logWith(10);
    await log.commitOffset('warehouse', 6);
    await log.commitOffset('lake', 8);
    const before = { events: future, deadLetters: future };
    expect(await log.expire!({ before, consumers, dryRun: true })).toEqual({ events: 6, deadLetters: 2 });
    expect((await log.read(0, 100)).length).toBe(10);
    expect(await log.expire!({ before, consumers, dryRun: false })).toEqual({ events: 6, deadLetters: 2 });
    expect((await log.read(0, 100)).map((r) => r.offset)).toEqual([7, 8, 9, 10]);
    expect(await log.deadLetters.list()).toEqual([]);
    // Everyone passed everything: the newest stays, so the next append cannot reuse its offset.
    await log.commitOffset('warehouse', 10);
    await log.commitOffset('lake', 10);
    expect((await log.expire!({ before, consumers, dryRun: false })).events).toBe(3);
    const [next] = await log.append({ events: [event(99)], deadLetters: [] });
    expect(next).toEqual({ status: 'accepted', offset: 11 });
    await log.close();
    // secure_delete: the expired bodies are gone from the file's bytes too.
    expect(fs.readFileSync(file).includes(Buffer.from('retention-marker-0'))).toBe(false);
  });

  it('keeps everything younger than the cutoff, and all of it while a consumer never committed', async () => {
    const { log } = await logWith(5);
    await log.commitOffset('warehouse', 5);
    // Dead letters go by their own receive time, which the fixture sets at noon on 1 March 2025.
    const beforeTheirTime = new Date('2025-03-01T00:00:00Z');
    expect(
      await log.expire!({ before: { events: past, deadLetters: beforeTheirTime }, consumers, dryRun: false }),
    ).toEqual({ events: 0, deadLetters: 0 });
    expect(
      (await log.expire!({ before: { events: future, deadLetters: past }, consumers, dryRun: false })).events,
    ).toBe(0);
    await log.close();
  });

  it("treats a partition's consumers as the one partition's, so they hold events back too", async () => {
    const { log } = await logWith(6);
    await log.commitOffset('lake', 6);
    await log.commitOffset('warehouse.p0', 2);
    const expiry = {
      before: { events: future, deadLetters: past },
      consumers: ['lake'],
      partitionConsumers: [(partition: number) => `warehouse.p${partition}`],
      dryRun: false,
    };
    expect((await log.expire(expiry)).events).toBe(2);
    expect((await log.read(0, 100)).map((r) => r.offset)).toEqual([3, 4, 5, 6]);
    await log.close();
  });
});
