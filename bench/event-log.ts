/**
 * Event log throughput, JetStream against the embedded SQLite log measured in the same run: appends/s in batches of
 * 50 (one appender, then 16 at once, as a busy collector has), and records/s read back in reads of 1,000, over the
 * whole log and partition by partition. Needs NATS with JetStream (`DEEPREF_NATS_URL`, default 127.0.0.1:4222).
 * Run: `npx tsx bench/event-log.ts [events]`.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { StoredEvent } from '@deepref/schema';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { storedEvent } from '../packages/platform/src/bus/event-log.contract.ts';
import type { EventLog } from '../packages/platform/src/bus/event-log.ts';
import { openJetStreamEventLog } from '../packages/platform/src/bus/jetstream/jetstream-event-log.ts';
import { jetStreamLayout } from '../packages/platform/src/bus/jetstream/jetstream-layout.ts';
import { openSqliteEventLog } from '../packages/platform/src/bus/sqlite/sqlite-event-log.ts';

const events = Number(process.argv[2] ?? 20_000);
const batchSize = 50;
const natsUrl = process.env.DEEPREF_NATS_URL || '127.0.0.1:4222';

function batches(): StoredEvent[][] {
  return Array.from({ length: Math.ceil(events / batchSize) }, () =>
    Array.from({ length: batchSize }, () =>
      storedEvent(randomUUID(), { userId: `user-${randomUUID().slice(0, 4)}` }),
    ),
  );
}

async function timed(run: () => Promise<number>): Promise<number> {
  const started = process.hrtime.bigint();
  const count = await run();
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function measure(log: EventLog): Promise<Record<string, number>> {
  const sequential = await timed(async () => {
    for (const batch of batches()) await log.append({ events: batch, deadLetters: [] });
    return events;
  });
  const concurrent = await timed(async () => {
    const queue = batches();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let batch = queue.pop(); batch; batch = queue.pop())
          await log.append({ events: batch, deadLetters: [] });
      }),
    );
    return events;
  });
  const readAll = await timed(async () => {
    let read = 0;
    for (
      let page = await log.read(0, 1_000);
      page.length > 0;
      page = await log.read(page.at(-1)!.offset, 1_000)
    ) {
      read += page.length;
    }
    return read;
  });
  const readPartitions = await timed(async () => {
    let read = 0;
    for (let p = 0; p < log.partitions; p++) {
      for (
        let page = await log.read(0, 1_000, p);
        page.length > 0;
        page = await log.read(page.at(-1)!.offset, 1_000, p)
      ) {
        read += page.length;
      }
    }
    return read;
  });
  return { sequential, concurrent, readAll, readPartitions };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-bench-'));
const sqlite = openSqliteEventLog(path.join(dir, 'events.db'), {
  dedupWindowDays: 7,
  maxPendingEvents: 1_000_000,
});
const reference = await measure(sqlite);
await sqlite.close();
fs.rmSync(dir, { recursive: true, force: true });

const stream = `DEEPREF_BENCH_${randomUUID().slice(0, 8)}`;
const subjectPrefix = `deepref-bench.${stream}`;
const jetstreamLog = await openJetStreamEventLog({
  servers: natsUrl,
  stream,
  subjectPrefix,
  maxPendingEvents: 1_000_000,
});
const measured = await measure(jetstreamLog);
await jetstreamLog.close();
const nc = await connect({ servers: natsUrl });
const jsm = await jetstreamManager(nc);
const layout = jetStreamLayout(stream, subjectPrefix, 8);
for (const name of [
  layout.eventStream,
  layout.deadLetterStream,
  ...[layout.seenBucket, layout.offsetBucket, layout.replayBucket].map((b) => `KV_${b}`),
]) {
  await jsm.streams.delete(name);
}
await nc.close();

const labels: Record<string, string> = {
  sequential: 'append, 1 appender',
  concurrent: 'append, 16 appenders',
  readAll: 'read, whole log',
  readPartitions: 'read, 8 partitions',
};
console.log(`${events.toLocaleString('en-US')} events in batches of ${batchSize}`);
console.log(`${''.padEnd(22)}${'jetstream/s'.padStart(14)}${'sqlite/s'.padStart(14)}${'ratio'.padStart(8)}`);
for (const [key, label] of Object.entries(labels)) {
  const rate = measured[key]!;
  const base = reference[key]!;
  console.log(
    `${label.padEnd(22)}${Math.round(rate).toLocaleString('en-US').padStart(14)}${Math.round(base).toLocaleString('en-US').padStart(14)}${(rate / base).toFixed(2).padStart(8)}`,
  );
}
