/**
 * The child process of the crash test: appends to the log without pause, from several concurrent callers, and
 * prints `<offset> <eventId>` for each accepted event once its append resolved (that is, once it is acked),
 * until it is killed.
 *
 *   node --import tsx crash-fixture.ts <file> <recentIdsInMemory>
 *
 * Each batch also carries a few ids acked earlier, as a client retrying after a lost response would.
 */
import { randomUUID } from 'node:crypto';
import type { StoredEvent } from '@deepref/schema';
import { openSqliteEventLog } from './sqlite-event-log.ts';

const [file, recentIds] = process.argv.slice(2);
if (!file || !recentIds) throw new Error('usage: crash-fixture.ts <file> <recentIdsInMemory>');

const log = openSqliteEventLog(file, {
  dedupWindowDays: 7,
  maxPendingEvents: 100_000,
  recentIdsInMemory: Number(recentIds),
});
const acked: string[] = [];

function event(eventId: string): StoredEvent {
  const now = new Date().toISOString();
  return {
    eventId,
    type: 'track',
    eventName: 'crash_test',
    timestamp: now,
    originalTimestamp: now,
    receivedAt: now,
    anonymousId: 'crash-fixture',
    properties: { pid: process.pid },
    sourceId: 'crash-fixture',
    device: { deviceType: 'server' },
  };
}

async function caller(): Promise<never> {
  for (;;) {
    const ids: string[] = Array.from({ length: 18 }, () => randomUUID());
    for (let i = 0; i < 2 && acked.length > 0; i++)
      ids.push(acked[Math.floor(Math.random() * acked.length)]!);
    const outcomes = await log.append({ events: ids.map(event), deadLetters: [] });
    let lines = '';
    outcomes.forEach((outcome, i) => {
      if (outcome.status === 'accepted') {
        lines += `${outcome.offset} ${ids[i]}\n`;
        acked.push(ids[i]!);
      }
    });
    // Writes to a pipe are synchronous on Linux: a printed line is with the parent before the next append.
    process.stdout.write(lines);
  }
}

await Promise.all(Array.from({ length: 8 }, caller));
