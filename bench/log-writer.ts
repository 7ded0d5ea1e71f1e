/**
 * CPU per event of the event log's writer alone (`LogWriter.commit`, what its thread does for each group), in this
 * thread, without the hand-off from the collector: groups of 32 batches of 50 realistic events (`--batches`), as
 * many concurrent requests make them; at moderate load a group holds only the few batches that came during the
 * previous commit's fsync. Two regimes: every id still held in memory (the first `recentIdsInMemory` ids of a server's life, what a
 * short `bench/ingest.ts` step sees), and the steady state, in which each group also moves as many older ids into
 * the on-disk dedup index.
 *
 *   npx tsx bench/log-writer.ts [--groups 80] [--batches 32] [--synchronous FULL|NORMAL]
 *
 * User and system CPU are given apart: system time is the WAL's writes and fsyncs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  type AppendRequest,
  LogWriter,
  openLogDatabase,
} from '../packages/platform/src/bus/sqlite/sqlite-log-writer.ts';
import { eventBatches } from './event-batches.ts';

const { values: args } = parseArgs({
  options: {
    groups: { type: 'string', default: '80' },
    batches: { type: 'string', default: '32' },
    synchronous: { type: 'string', default: 'FULL' },
  },
});
const synchronous = args.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL';
const batchesPerGroup = Number(args.batches);
// The same events for any group size: 128,000 by default.
const measured = Math.ceil((Number(args.groups) * 32) / batchesPerGroup);
const batchSize = 50;
const groupEvents = batchesPerGroup * batchSize;

function groups(count: number): AppendRequest[][] {
  const bodies = eventBatches(batchSize);
  return Array.from({ length: count }, () =>
    Array.from({ length: batchesPerGroup }, () => {
      const events = JSON.parse(bodies.next()) as { eventId: string }[];
      return {
        eventIds: events.map((event) => event.eventId),
        bodies: events.map((event) => JSON.stringify(event)),
        deadLetters: [],
      };
    }),
  );
}

/** CPU µs per event of `measured` groups after `warm` ones, with `recentIds` ids kept in memory. */
function run(recentIds: number, warm: number): { user: number; system: number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-log-writer-'));
  try {
    const file = path.join(dir, 'events.db');
    openLogDatabase(file, 'create').close();
    const writer = new LogWriter(file, { dedupWindowDays: 7, synchronous, recentIdsInMemory: recentIds });
    while (writer.hasBackgroundWork) writer.backgroundStep();
    const all = groups(warm + measured);
    let now = Date.now();
    for (const appends of all.slice(0, warm))
      writer.commit({ now: now++, appends, offsets: [], replays: [] });
    const before = process.cpuUsage();
    for (const appends of all.slice(warm)) writer.commit({ now: now++, appends, offsets: [], replays: [] });
    const used = process.cpuUsage(before);
    writer.close();
    const events = measured * groupEvents;
    return { user: used.user / events, system: used.system / events };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const regimes = [
  // More room than the run's ids: nothing moves to the dedup index.
  ['ids in memory only', run(262_144, Math.ceil(320 / batchesPerGroup))],
  // Memory full after the warm-up (32,768 ids): every group moves about as many ids as it adds.
  ['steady state (ids moved to the index)', run(32_768, Math.ceil(960 / batchesPerGroup))],
] as const;
console.log(
  `LogWriter.commit, groups of ${groupEvents} events, synchronous=${synchronous}, CPU µs per event:`,
);
for (const [name, { user, system }] of regimes) {
  console.log(
    `  ${name.padEnd(40)} user ${user.toFixed(2)}  system ${system.toFixed(2)}  all ${(user + system).toFixed(2)}`,
  );
}
