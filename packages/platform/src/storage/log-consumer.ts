/**
 * The loop every event-log consumer runs (warehouse loader, lake writer): read a batch after its position, hand it
 * over, advance; sleep when caught up; after a failure, wait and resume from wherever its sink says it got to.
 * The sink owns the durable position (`startAfter`), so the loop itself keeps nothing that a crash could lose.
 */
import type { EventLog, LogRecord } from '../bus/event-log.ts';
import type { Metrics } from '../ops/metrics.ts';
import { yieldToLoop } from './event-loop.ts';

export interface ConsumerProgress {
  consumer: string;
  /** The offset of the last record handled. */
  offset: number;
  head: number;
  /** Records in the batch just handled. */
  records: number;
}

/** What a consumer reads: the log's parsed records by default, or anything else keyed by offset (`read`). */
export interface LogConsumerOptions<R extends { offset: number } = LogRecord> {
  name: string;
  log: Pick<EventLog, 'read' | 'head'>;
  /**
   * How to read up to `limit` records after `after`, ascending (default `log.read`), e.g. `readRawRecords` for a
   * sink that takes the log's JSON text. Required when the records are not `LogRecord`s.
   */
  read?: (after: number, limit: number) => Promise<R[]>;
  /** Most records per batch. */
  batchSize: number;
  /**
   * Most records per read (default 1,000). A batch larger than this is read in several reads with the event loop
   * let through between them, so that reading and parsing a large batch never holds up the collector for long
   * (1,000 records are about 6 ms of SQLite and `JSON.parse`).
   */
  readChunk?: number;
  /** How long to sleep once caught up with the log (a batch came back short). */
  idleMs: number;
  /** Where the sink got to: the offset after which to read, on start and again after every failure. */
  startAfter: () => Promise<number>;
  /** Processes one batch (ascending offsets); resolves once the sink has it durably. */
  handle: (records: R[]) => Promise<void>;
  onProgress?: (progress: ConsumerProgress) => void;
  /**
   * Called each time the loop finds itself caught up with the log, in turn with the batches (never while one is
   * handled); a failure is reported like a failed batch. For work that time alone makes due (closing windows).
   */
  onIdle?: () => Promise<void>;
  /** Told of each failed batch; the loop retries it. Default: written to stderr. */
  onError?: (error: unknown, consumer: string) => void;
  /** First wait before retrying a failed batch; doubles on each further failure, up to 30 seconds. */
  retryMs?: number;
}

export interface LogConsumer {
  readonly name: string;
  /** The offset of the last record handled, or undefined before the first batch (and after a failure). */
  readonly position: number | undefined;
  readonly running: boolean;
  /** Starts polling the log in the background. */
  start(): void;
  /** Stops polling, waiting for the batch in flight; with `drain`, then processes up to the log's head. */
  stop(options?: { drain?: boolean }): Promise<void>;
  /** Processes batches until the position reaches the head the log had when called; rejects on a failure. */
  drain(): Promise<void>;
  /** Runs `work` in turn with the batches (never while one is handled): a change to the sink's own state. */
  inTurn<T>(work: () => Promise<T>): Promise<T>;
}

const maxRetryMs = 30_000;

function defaultOnError(error: unknown, consumer: string): void {
  console.error(`deepref: consumer ${consumer} failed a batch and will retry it:`, error);
}

export function runConsumer<R extends { offset: number } = LogRecord>(
  options: LogConsumerOptions<R>,
): LogConsumer {
  const { name, log, batchSize, idleMs, startAfter, handle } = options;
  const read =
    options.read ??
    ((after: number, limit: number) => log.read(after, limit) as Promise<unknown> as Promise<R[]>);
  const onError = options.onError ?? defaultOnError;
  const retryMs = options.retryMs ?? 1_000;
  const readChunk = Math.max(1, Math.min(options.readChunk ?? 1_000, batchSize));
  let position: number | undefined;
  let running = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  // The loop and drain() may both ask for a batch; they take turns, so no batch is read or handled twice.
  let turns: Promise<unknown> = Promise.resolve();

  /** Up to `batchSize` records after `after`, read `readChunk` at a time with the event loop let through between. */
  async function readBatch(after: number): Promise<R[]> {
    const records = await read(after, readChunk);
    // A short read means the log has nothing more for now.
    let full = records.length === readChunk;
    while (full && records.length < batchSize) {
      await yieldToLoop();
      const want = Math.min(readChunk, batchSize - records.length);
      const chunk = await read(records.at(-1)!.offset, want);
      for (const record of chunk) records.push(record);
      full = chunk.length === want;
    }
    return records;
  }

  async function nextBatch(): Promise<number> {
    try {
      position ??= await startAfter();
      const records = await readBatch(position);
      const last = records.at(-1);
      if (last === undefined) return 0;
      await handle(records);
      position = last.offset;
      if (options.onProgress) {
        options.onProgress({
          consumer: name,
          offset: last.offset,
          head: await log.head(),
          records: records.length,
        });
      }
      return records.length;
    } catch (error) {
      // The sink may hold part of the batch or none of it; it knows which, so ask it again before the next read.
      position = undefined;
      throw error;
    }
  }

  function step(): Promise<number> {
    return inTurn(nextBatch);
  }

  function inTurn<T>(work: () => Promise<T>): Promise<T> {
    const turn = turns.then(work, work);
    turns = turn.catch(() => undefined);
    return turn;
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      wake = done;
    });
  }

  async function poll(): Promise<void> {
    let failures = 0;
    while (running) {
      try {
        const handled = await step();
        if (handled < batchSize && options.onIdle) await inTurn(options.onIdle);
        failures = 0;
        if (handled < batchSize && running) await sleep(idleMs);
      } catch (error) {
        failures += 1;
        onError(error, name);
        if (running) await sleep(Math.min(retryMs * 2 ** (failures - 1), maxRetryMs));
      }
    }
  }

  async function drain(): Promise<void> {
    const head = await log.head();
    while (position === undefined || position < head) {
      if ((await step()) === 0) return;
    }
  }

  return {
    name,
    get position() {
      return position;
    },
    get running() {
      return running;
    },
    start() {
      if (running) return;
      running = true;
      loop = poll();
    },
    async stop(stopOptions = {}) {
      running = false;
      wake?.();
      await loop;
      loop = undefined;
      if (stopOptions.drain) await drain();
    },
    drain,
    inTurn,
  };
}

/** An `onProgress` that keeps the consumer gauges of `/metrics` current. */
export function progressToMetrics(metrics: Metrics): (progress: ConsumerProgress) => void {
  return ({ consumer, offset, head }) => {
    metrics.consumerOffset.set({ consumer }, offset);
    metrics.consumerLag.set({ consumer }, Math.max(0, head - offset));
    metrics.logHead.set(head);
  };
}
