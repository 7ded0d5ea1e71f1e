import { describe, expect, it } from 'vitest';
import type { LogRecord } from '../bus/event-log.ts';
import { type LogConsumerOptions, runConsumer } from './log-consumer.ts';
import { logRecords } from './test-events.ts';

/** The two reads the loop needs, over an array: enough for the loop's own behaviour. */
function arrayLog(records: LogRecord[]): LogConsumerOptions['log'] {
  return {
    read: async (after, limit) => records.filter((r) => r.offset > after).slice(0, limit),
    head: async () => records.at(-1)?.offset ?? 0,
  };
}

/** A sink that keeps what it stored and reports its own position, as the warehouse does. */
function sink() {
  const stored: number[] = [];
  const batches: number[][] = [];
  return {
    stored,
    batches,
    startAfter: async () => stored.at(-1) ?? 0,
    handle: async (records: LogRecord[]) => {
      batches.push(records.map((r) => r.offset));
      stored.push(...records.map((r) => r.offset));
    },
  };
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('runConsumer', () => {
  it('drains the log in batches, from where the sink got to', async () => {
    const records = logRecords(1, 25);
    const target = sink();
    target.stored.push(1, 2, 3);
    const progress: number[] = [];
    const consumer = runConsumer({
      name: 'test',
      log: arrayLog(records),
      batchSize: 10,
      idleMs: 1_000,
      startAfter: target.startAfter,
      handle: target.handle,
      onProgress: (p) => progress.push(p.offset, p.head),
    });

    await consumer.drain();

    expect(target.batches).toEqual([range(4, 13), range(14, 23), range(24, 25)]);
    expect(consumer.position).toBe(25);
    expect(progress).toEqual([13, 25, 23, 25, 25, 25]);
  });

  it('reads a batch in chunks of readChunk, letting the event loop through between them', async () => {
    const records = logRecords(1, 25);
    const target = sink();
    const log = arrayLog(records);
    const reads: [number, number][] = [];
    // Whether a callback queued with setImmediate at the previous read ran before this one (a microtask would not).
    const yielded: boolean[] = [];
    let immediateRan = false;
    const consumer = runConsumer({
      name: 'test',
      log: {
        ...log,
        read: async (after, limit) => {
          reads.push([after, limit]);
          yielded.push(immediateRan);
          immediateRan = false;
          setImmediate(() => {
            immediateRan = true;
          });
          return log.read(after, limit);
        },
      },
      batchSize: 10,
      readChunk: 4,
      idleMs: 1_000,
      startAfter: target.startAfter,
      handle: target.handle,
    });
    await consumer.drain();

    expect(target.batches).toEqual([range(1, 10), range(11, 20), range(21, 25)]);
    expect(reads).toEqual([
      [0, 4],
      [4, 4],
      [8, 2],
      [10, 4],
      [14, 4],
      [18, 2],
      [20, 4],
      [24, 4],
    ]);
    // Every read that continues a batch comes after the event loop went round.
    for (const i of [1, 2, 4, 5, 7]) expect(yielded[i]).toBe(true);
  });

  it('polls in the background and picks up records appended later', async () => {
    const records = logRecords(1, 5);
    const seen = deferred();
    const target = sink();
    const consumer = runConsumer({
      name: 'test',
      log: arrayLog(records),
      batchSize: 100,
      idleMs: 5,
      startAfter: target.startAfter,
      handle: async (batch) => {
        await target.handle(batch);
        if (batch.at(-1)?.offset === 8) seen.resolve();
      },
    });
    consumer.start();
    records.push(...logRecords(6, 3));
    await seen.promise;
    await consumer.stop();

    expect(target.stored).toEqual(range(1, 8));
    expect(consumer.running).toBe(false);
  });

  it('stops only once the batch in flight is handled', async () => {
    const release = deferred();
    const started = deferred();
    const target = sink();
    const consumer = runConsumer({
      name: 'test',
      log: arrayLog(logRecords(1, 3)),
      batchSize: 100,
      idleMs: 5,
      startAfter: target.startAfter,
      handle: async (batch) => {
        started.resolve();
        await release.promise;
        await target.handle(batch);
      },
    });
    consumer.start();
    await started.promise;
    let stopped = false;
    const stopping = consumer.stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);

    release.resolve();
    await stopping;
    expect(target.stored).toEqual([1, 2, 3]);
  });

  it('drains on stop when asked', async () => {
    const records = logRecords(1, 2);
    const target = sink();
    const consumer = runConsumer({
      name: 'test',
      log: arrayLog(records),
      batchSize: 100,
      idleMs: 60_000,
      startAfter: target.startAfter,
      handle: target.handle,
    });
    consumer.start();
    records.push(...logRecords(3, 4)); // while the loop may be asleep
    await consumer.stop({ drain: true });
    expect(target.stored).toEqual(range(1, 6));
  });

  it('after a failed batch, resumes from where the sink says it got to', async () => {
    const target = sink();
    let failures = 0;
    const errors: unknown[] = [];
    const done = deferred();
    const consumer = runConsumer({
      name: 'test',
      log: arrayLog(logRecords(1, 30)),
      batchSize: 10,
      idleMs: 5,
      retryMs: 1,
      startAfter: target.startAfter,
      handle: async (batch) => {
        // The first try at the second batch stores half of it, then fails: the sink's position moves by 5.
        if (batch[0]?.offset === 11 && failures === 0) {
          failures += 1;
          await target.handle(batch.slice(0, 5));
          throw new Error('disk full');
        }
        await target.handle(batch);
        if (batch.at(-1)?.offset === 30) done.resolve();
      },
      onError: (error) => errors.push(error),
    });
    consumer.start();
    await done.promise;
    await consumer.stop();

    expect(target.stored).toEqual(range(1, 30));
    expect(target.batches).toEqual([range(1, 10), range(11, 15), range(16, 25), range(26, 30)]);
    expect(errors).toEqual([new Error('disk full')]);
  });

  it('rejects a drain whose batch fails, and the next drain carries on', async () => {
    const target = sink();
    let fail = true;
    const consumer = runConsumer({
      name: 'test',
      log: arrayLog(logRecords(1, 4)),
      batchSize: 2,
      idleMs: 5,
      startAfter: target.startAfter,
      handle: async (batch) => {
        if (batch[0]?.offset === 3 && fail) {
          fail = false;
          throw new Error('busy');
        }
        await target.handle(batch);
      },
    });
    await expect(consumer.drain()).rejects.toThrow('busy');
    expect(consumer.position).toBeUndefined();
    await consumer.drain();
    expect(target.stored).toEqual([1, 2, 3, 4]);
  });
});
