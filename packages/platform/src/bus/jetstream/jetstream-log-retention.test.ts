/**
 * Retention in the JetStream event log, against a real NATS server: what goes is exactly what every consumer has
 * passed, partition by partition, and was taken before the cutoff; a dry run counts the same and removes nothing.
 * Without a server the tests skip, except under `DEEPREF_REQUIRE_SERVICES=1` (CI), where they fail.
 */
import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { describeWithService } from '../../testing/services.ts';
import { deadLetter, storedEvent } from '../event-log.contract.ts';
import type { EventLog, LogExpiry } from '../event-log.ts';
import { jetStreamLayout, partitionOf } from './jetstream-layout.ts';
import { jetStreamTestLog, natsReach, natsUrl } from './nats-test-server.ts';

const reach = await natsReach();

const partitions = 4;
/** A user whose events go to partition p. */
const userOf = Array.from({ length: partitions }, (_, p) => {
  for (let n = 0; ; n++) {
    if (partitionOf({ userId: `user-${n}`, eventId: '' }, partitions) === p) return `user-${n}`;
  }
});
const eventIn = (partition: number) => storedEvent(randomUUID(), { userId: userOf[partition]! });
const wholeLog = ['lake', 'stream'];
const partitionConsumer = (p: number) => `warehouse.p${p}`;

/**
 * A time after everything stored so far and before anything stored next. The stream stamps messages with the
 * server's clock in nanoseconds, this one reads milliseconds: a millisecond's wait on each side keeps them apart.
 */
async function cutoff(): Promise<Date> {
  await new Promise((resolve) => setTimeout(resolve, 2));
  const at = new Date();
  await new Promise((resolve) => setTimeout(resolve, 2));
  return at;
}

async function offsetsOf(log: EventLog, partition?: number): Promise<number[]> {
  return (await log.read(0, 1_000, partition)).map((record) => record.offset);
}

function expiry(events: Date, options: Partial<LogExpiry> = {}): LogExpiry {
  return {
    before: { events, deadLetters: new Date(0) },
    consumers: wholeLog,
    partitionConsumers: [partitionConsumer],
    dryRun: false,
    ...options,
  };
}

describeWithService(reach, 'EventLog.expire (JetStream)', () => {
  it('removes, partition by partition, the events its own consumers and the whole log’s passed before the cutoff', async () => {
    const test = jetStreamTestLog({ partitions });
    const log = await test.open();
    try {
      // Offsets 1-8: two old events per partition, in the order p0 p1 p2 p3 p0 p1 p2 p3; 9-12: one new each.
      const old = [0, 1, 2, 3, 0, 1, 2, 3].map(eventIn);
      await log.append({ events: old, deadLetters: [] });
      const cut = await cutoff();
      await log.append({ events: [0, 1, 2, 3].map(eventIn), deadLetters: [] });
      for (const consumer of wholeLog) await log.commitOffset(consumer, 12);
      await log.commitOffset(partitionConsumer(0), 5); // both of p0's old events
      await log.commitOffset(partitionConsumer(1), 2); // the first of p1's
      // p2's consumer never committed: it holds all of p2.
      await log.commitOffset(partitionConsumer(3), 12); // all of p3, its new event too: that one is not old

      expect(await log.expire(expiry(cut, { dryRun: true }))).toEqual({ events: 5, deadLetters: 0 });
      expect(await offsetsOf(log)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);

      expect(await log.expire(expiry(cut))).toEqual({ events: 5, deadLetters: 0 });
      expect(await offsetsOf(log)).toEqual([3, 6, 7, 9, 10, 11, 12]);
      expect(await offsetsOf(log, 0)).toEqual([9]);
      expect(await offsetsOf(log, 1)).toEqual([6, 10]);
      expect(await offsetsOf(log, 2)).toEqual([3, 7, 11]);
      expect(await offsetsOf(log, 3)).toEqual([12]);
      expect((await log.read(0, 1))[0]!.event).toEqual(old[2]);
      expect(await log.expire(expiry(cut))).toEqual({ events: 0, deadLetters: 0 });

      expect(await log.append({ events: [eventIn(0)], deadLetters: [] })).toEqual([
        { status: 'accepted', offset: 13 },
      ]);
      expect(await log.head()).toBe(13);
    } finally {
      await test.dispose();
    }
  });

  it('keeps what a consumer of the whole log has not passed, and everything while one never committed', async () => {
    const test = jetStreamTestLog({ partitions });
    const log = await test.open();
    try {
      await log.append({ events: [0, 1, 2, 3, 0, 1].map(eventIn), deadLetters: [] });
      const cut = await cutoff();
      for (let p = 0; p < partitions; p++) await log.commitOffset(partitionConsumer(p), 6);
      await log.commitOffset('lake', 6);
      await log.commitOffset('stream', 3);

      expect(await log.expire(expiry(cut, { consumers: [...wholeLog, 'audit'] }))).toEqual({
        events: 0,
        deadLetters: 0,
      });
      expect(await log.expire(expiry(cut))).toEqual({ events: 3, deadLetters: 0 });
      expect(await offsetsOf(log)).toEqual([4, 5, 6]);
    } finally {
      await test.dispose();
    }
  });

  it('keeps the newest event whatever its age, and gives the next append the next offset', async () => {
    const test = jetStreamTestLog({ partitions });
    const log = await test.open();
    try {
      await log.append({ events: [0, 1, 2, 3, 0].map(eventIn), deadLetters: [] });
      for (const consumer of wholeLog) await log.commitOffset(consumer, 5);
      const cut = await cutoff();

      expect(await log.expire(expiry(cut, { partitionConsumers: [] }))).toEqual({
        events: 4,
        deadLetters: 0,
      });
      expect(await offsetsOf(log)).toEqual([5]);
      expect(await log.append({ events: [eventIn(2)], deadLetters: [] })).toEqual([
        { status: 'accepted', offset: 6 },
      ]);
    } finally {
      await test.dispose();
    }
  });

  it('removes the dead letters received before their cutoff with their replay marks, whatever the consumers', async () => {
    const test = jetStreamTestLog({ partitions });
    const log = await test.open();
    try {
      const letter = (n: number) => deadLetter({ raw: `{"n":${n}}` });
      await log.append({ events: [], deadLetters: [letter(1), letter(2)] });
      const cut = await cutoff();
      await log.append({ events: [], deadLetters: [letter(3)] });
      await log.deadLetters.markReplayed(1, 'accepted');
      await log.deadLetters.markReplayed(3, 'accepted');
      const options = { before: { events: new Date(0), deadLetters: cut }, consumers: ['never'] };

      expect(await log.expire({ ...options, dryRun: true })).toEqual({ events: 0, deadLetters: 2 });
      expect((await log.deadLetters.list()).map((d) => d.id)).toEqual([1, 2, 3]);

      expect(await log.expire({ ...options, dryRun: false })).toEqual({ events: 0, deadLetters: 2 });
      const [kept, ...others] = await log.deadLetters.list();
      expect(others).toEqual([]);
      expect(kept).toMatchObject({ id: 3, raw: '{"n":3}', replayOutcome: 'accepted' });
      expect(await log.deadLetters.get(1)).toBeUndefined();
      const nc = await connect({ servers: natsUrl });
      try {
        const bucket = `KV_${jetStreamLayout(test.stream, 'x', 1).replayBucket}`;
        const info = await (await jetstreamManager(nc)).streams.info(bucket, { subjects_filter: '>' });
        expect(Object.keys(info.state.subjects ?? {})).toEqual([`$KV.${bucket.slice(3)}.3`]);
      } finally {
        await nc.close();
      }
    } finally {
      await test.dispose();
    }
  });

  it('removes what a model of the contract removes, whatever the partitions, offsets and cutoff', async () => {
    const scenario = fc.record({
      // The partition of each event, in offset order; the first `old` of them come before the cutoff.
      partitionOfEvent: fc.array(fc.integer({ min: 0, max: partitions - 1 }), {
        minLength: 1,
        maxLength: 16,
      }),
      old: fc.nat({ max: 16 }),
      wholeLog: fc.nat({ max: 17 }),
      // undefined: that partition's consumer never committed.
      perPartition: fc.array(fc.option(fc.nat({ max: 17 }), { nil: undefined }), {
        minLength: partitions,
        maxLength: partitions,
      }),
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ({ partitionOfEvent, old, wholeLog: passed, perPartition }) => {
        const test = jetStreamTestLog({ partitions });
        const log = await test.open();
        try {
          const events = partitionOfEvent.map(eventIn);
          const oldCount = Math.min(old, events.length);
          if (oldCount > 0) await log.append({ events: events.slice(0, oldCount), deadLetters: [] });
          const cut = await cutoff();
          if (oldCount < events.length) await log.append({ events: events.slice(oldCount), deadLetters: [] });
          await log.commitOffset('lake', passed);
          for (const [p, offset] of perPartition.entries()) {
            if (offset !== undefined) await log.commitOffset(partitionConsumer(p), offset);
          }
          const newest = events.length;
          const expired = partitionOfEvent
            .map((p, i) => ({ offset: i + 1, p }))
            .filter(({ offset }) => offset <= oldCount && offset < newest && offset <= passed)
            .filter(({ offset, p }) => offset <= (perPartition[p] ?? 0))
            .map(({ offset }) => offset);
          const options = expiry(cut, { consumers: ['lake'] });

          expect(await log.expire({ ...options, dryRun: true })).toEqual({
            events: expired.length,
            deadLetters: 0,
          });
          expect(await offsetsOf(log)).toHaveLength(events.length);
          expect(await log.expire(options)).toEqual({ events: expired.length, deadLetters: 0 });
          const kept = events.map((_, i) => i + 1).filter((offset) => !expired.includes(offset));
          expect(await offsetsOf(log)).toEqual(kept);
        } finally {
          await test.dispose();
        }
      }),
      { numRuns: 25 },
    );
  });
});
