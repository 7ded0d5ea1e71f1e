/**
 * The `EventLog` port (Event Hubs in the reference): the durable, ordered record of every accepted event.
 * The collector appends; consumers (warehouse loader, lake writer, stream jobs) read from an offset and keep
 * their own position. Adapters: `sqlite/` (embedded default) and, later, `jetstream/`.
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

export interface EventLog {
  /**
   * Appends the batch's events (skipping any whose eventId was seen within the dedup window) and its dead letters
   * in one transaction. Resolves only once that transaction is durable on disk. Concurrent calls may share one
   * commit (group commit). Rejects with `DEEPREF_OVERLOADED` when its pending buffer is full.
   */
  append(batch: AppendBatch): Promise<AppendOutcome[]>;
  /** Records with offset > `after`, ascending, at most `limit`. */
  read(after: number, limit: number): Promise<LogRecord[]>;
  /** The highest offset appended so far (0 when empty). */
  head(): Promise<number>;
  commitOffset(consumer: string, offset: number): Promise<void>;
  committedOffset(consumer: string): Promise<number>;
  /** Every consumer's committed offset, for lag metrics. */
  consumerOffsets(): Promise<Record<string, number>>;
  readonly deadLetters: DeadLetterStore;
  /** Flushes pending appends, then closes. */
  close(): Promise<void>;
}
