/**
 * The `EventLog` port (Event Hubs in the reference): the durable, ordered record of every accepted event.
 * The collector appends; consumers (warehouse loader, lake writer, stream jobs) read from an offset and keep
 * their own position. Adapters: `sqlite/` (embedded default) and `jetstream/` (scale-out).
 *
 * A log has one or more partitions; every event of a user goes to the same one, so that readers sharing out the
 * partitions each see their users' events in order.
 */
import type { StoredEvent } from '@deepref/schema';
import type { DeadLetterReason } from '../errors.ts';

export interface DeadLetterInput {
  reason: DeadLetterReason;
  /** What was wrong, for a person: the failing path and rule, never the offending value itself. */
  message: string;
  /** The event as received (after IP policy), as JSON text; for unparseable input, the text as far as it decodes. */
  raw: string;
  sourceId: string;
  receivedAt: string;
  eventId?: string;
  eventName?: string;
}

export interface DeadLetter extends DeadLetterInput {
  id: number;
  /** Set once `deadletters replay` resubmitted it; the outcome says what became of it. */
  replayedAt?: string;
  replayOutcome?: string;
}

export interface AppendBatch {
  events: StoredEvent[];
  deadLetters: DeadLetterInput[];
}

/** One result per event of the batch, in order. */
export type AppendOutcome = { status: 'accepted'; offset: number } | { status: 'duplicate' };

export interface LogRecord {
  offset: number;
  event: StoredEvent;
}

/** A log record as the log keeps it: the event as JSON text (`JSON.stringify` of the `StoredEvent`), unparsed. */
export interface RawLogRecord {
  offset: number;
  body: string;
}

export interface DeadLetterQuery {
  reason?: DeadLetterReason;
  /** Only those not yet replayed. */
  pending?: boolean;
  afterId?: number;
  limit?: number;
}

export interface DeadLetterStore {
  list(query?: DeadLetterQuery): Promise<DeadLetter[]>;
  get(id: number): Promise<DeadLetter | undefined>;
  markReplayed(id: number, outcome: string): Promise<void>;
  countByReason(): Promise<Record<string, number>>;
}

/** What the log holds about one subject. */
export interface SubjectRecords {
  events: LogRecord[];
  deadLetters: DeadLetter[];
}

export interface LogExpiry {
  before: { events: Date; deadLetters: Date };
  /** Consumers of the whole log; one that never committed holds everything. */
  consumers: readonly string[];
  /**
   * Consumers that read one partition each (the partitioned warehouse loader), as the name of each partition's
   * consumer: an event must also be passed by its own partition's.
   */
  partitionConsumers?: readonly ((partition: number) => string)[];
  dryRun: boolean;
}

export interface EventLog {
  /**
   * Appends the batch's events (skipping any whose eventId was seen within the dedup window) and its dead letters
   * in one transaction. Resolves only once that transaction is durable on disk. Concurrent calls may share one
   * commit (group commit). Rejects with `DEEPREF_OVERLOADED` when its pending buffer is full.
   */
  append(batch: AppendBatch): Promise<AppendOutcome[]>;
  /** How many partitions the log has: `read` takes one of 0 … partitions − 1. */
  readonly partitions: number;
  /** Records with offset > `after`, ascending, at most `limit`; with `partition`, only those of that partition. */
  read(after: number, limit: number, partition?: number): Promise<LogRecord[]>;
  /**
   * What `read` returns, as the stored JSON text without parsing it, for consumers that hand the text to an engine
   * that parses it itself (DuckDB). Optional: `readRawRecords` falls back on `read` and `JSON.stringify`.
   */
  readRaw?(after: number, limit: number, partition?: number): Promise<RawLogRecord[]>;
  /** The highest offset appended so far (0 when empty). */
  head(): Promise<number>;
  commitOffset(consumer: string, offset: number): Promise<void>;
  committedOffset(consumer: string): Promise<number>;
  /** Every consumer's committed offset, for lag metrics. */
  consumerOffsets(): Promise<Record<string, number>>;
  readonly deadLetters: DeadLetterStore;
  /**
   * For privacy requests: the events whose `userId` or `anonymousId` is one of `ids`, and the dead letters whose
   * raw text names one of them (as a JSON string). Optional only until every adapter has it: a log without it
   * makes privacy requests fail with a message that says so.
   */
  findSubject?(ids: readonly string[]): Promise<SubjectRecords>;
  /**
   * Erasure: deletes what `findSubject` finds, leaving no copy of it in the adapter's files (free pages, write-ahead
   * log), and never reusing an offset. Resolves with how many events and dead letters went.
   */
  eraseSubject?(ids: readonly string[]): Promise<{ events: number; deadLetters: number }>;
  /**
   * Retention: removes events that every one of the consumers has passed and that the log took before
   * `before.events`, and dead letters received before `before.deadLetters`; with `dryRun`, only counts them.
   */
  expire(options: LogExpiry): Promise<{ events: number; deadLetters: number }>;
  /** Flushes pending appends, then closes. */
  close(): Promise<void>;
}

/** Refuses a partition the log does not have; undefined (every partition) passes. */
export function checkPartition(partition: number | undefined, partitions: number): void {
  if (partition !== undefined && !(Number.isInteger(partition) && partition >= 0 && partition < partitions)) {
    throw new RangeError(
      `Partition ${partition} does not exist: this event log has partitions 0 to ${partitions - 1}.`,
    );
  }
}

/** `log.readRaw`, or `read` with each event turned back into JSON text for a log without it. */
export async function readRawRecords(
  log: Pick<EventLog, 'read' | 'readRaw'>,
  after: number,
  limit: number,
  partition?: number,
): Promise<RawLogRecord[]> {
  if (log.readRaw) return log.readRaw(after, limit, partition);
  const records = await log.read(after, limit, partition);
  return records.map((record) => ({ offset: record.offset, body: JSON.stringify(record.event) }));
}

const requiredDeadLetterFields = ['reason', 'message', 'raw', 'sourceId', 'receivedAt'] as const;

/** Refuses a dead letter without one of its required fields, before it joins a write. */
export function checkDeadLetter(letter: DeadLetterInput): void {
  for (const field of requiredDeadLetterFields) {
    if (typeof letter[field] !== 'string') throw new TypeError(`A dead letter has no ${field}.`);
  }
}
