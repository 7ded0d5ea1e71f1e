/**
 * The embedded `EventLog`: one SQLite file in WAL mode holding the log, the seen event ids (dedup), the dead letters
 * and the consumer offsets, so that a batch's events and its dead letters commit in one transaction.
 *
 * Appends are group committed by a writer thread: what is appended within one turn of the event loop is sent to it as
 * one command, without waiting for the commit before; while it commits one group, the commands sent meanwhile wait in
 * its port and become the next group, one transaction and one fsync for all of them. The event loop only encodes
 * events as JSON and reads; inserts, fsyncs and checkpoints happen on the writer thread.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { StoredEvent } from '@deepref/schema';
import type Database from 'better-sqlite3';
import { type DeadLetterReason, DeeprefError } from '../../errors.ts';
import type {
  AppendBatch,
  AppendOutcome,
  DeadLetter,
  DeadLetterQuery,
  DeadLetterStore,
  EventLog,
  LogExpiry,
  LogRecord,
  RawLogRecord,
  SubjectRecords,
} from '../event-log.ts';
import { checkDeadLetter, checkPartition } from '../event-log.ts';
import { RecentTail, type RecentTailCapacity } from './recent-tail.ts';
import { expireLogRows } from './sqlite-log-retention.ts';
import {
  type AppendRequest,
  type GroupRequest,
  type GroupResponse,
  type LogWriterOptions,
  openLogDatabase,
  type WriterCommand,
  type WriterMessage,
} from './sqlite-log-writer.ts';
import { eraseSubjectRows, findSubjectRows } from './sqlite-subject-erasure.ts';

export interface SqliteEventLogOptions {
  /** How long an eventId is remembered; entries are pruned a little after, never before. */
  dedupWindowDays: number;
  /** Events appended but not yet committed; past this `append` rejects with DEEPREF_OVERLOADED. */
  maxPendingEvents: number;
  /**
   * FULL (default) fsyncs the WAL on every commit: an acked batch survives power loss. NORMAL fsyncs only at
   * checkpoints: an acked batch survives a crash of the process (SIGKILL) but not of the machine.
   */
  synchronous?: 'FULL' | 'NORMAL';
  /** Milliseconds since the epoch; injectable for tests of the dedup window. */
  now?: () => number;
  /** The most events one group commit takes (one batch more at most); a longer queue is committed in several. Default 10,000. */
  maxGroupEvents?: number;
  /**
   * Recently accepted ids kept in memory (about 100 bytes each) before they move to the on-disk dedup index in
   * bulk; more makes each move cheaper. Default 262,144.
   */
  recentIdsInMemory?: number;
  /** Called after each group commit, for metrics. */
  onGroupCommit?: (commit: GroupCommit) => void;
  /**
   * The newest committed records kept in memory for the consumers of this process (`recent-tail.ts`): their JSON
   * text for the newest `bodies` (default 65,536: about 40 MiB of realistic events, two seconds of heavy ingest),
   * their event objects for the newest `events` of those (default 16,384). 0 reads everything from SQLite.
   */
  recentTail?: RecentTailCapacity;
}

export interface GroupCommit {
  batches: number;
  events: number;
  deadLetters: number;
  /** Time the writer spent on the group's transaction, commit and fsync included, in milliseconds. */
  durationMs: number;
}

/** What a second process (the CLI) may do with a log the server is writing. */
export type SqliteEventLogReader = Omit<EventLog, 'append'>;

/** Opens (creating the folder and the file if needed) the log the server appends to, and starts its writer. */
export function openSqliteEventLog(file: string, options: SqliteEventLogOptions): SqliteEventLog {
  return new SqliteEventLog(openLogDatabase(file, 'create'), file, options);
}

/**
 * Opens the log of a running (or stopped) server from another process, read-only unless `writable` (needed to mark
 * dead letters replayed or to move a consumer's offset). It never appends.
 */
export function openSqliteEventLogReader(
  file: string,
  options: { writable?: boolean } = {},
): SqliteEventLogReader {
  if (!fs.existsSync(file)) throw new DeeprefError('DEEPREF_NOT_FOUND', { what: `The event log ${file}` });
  return new SqliteLogReader(openLogDatabase(file, options.writable ? 'readwrite' : 'readonly'));
}

type EventRow = [offset: number, body: string];

interface DeadLetterRow {
  id: number;
  reason: DeadLetterReason;
  message: string;
  raw: string;
  source_id: string;
  received_at: string;
  event_id: string | null;
  event_name: string | null;
  replayed_at: string | null;
  replay_outcome: string | null;
}

function toDeadLetter(row: DeadLetterRow): DeadLetter {
  return {
    id: row.id,
    reason: row.reason,
    message: row.message,
    raw: row.raw,
    sourceId: row.source_id,
    receivedAt: row.received_at,
    ...(row.event_id === null ? {} : { eventId: row.event_id }),
    ...(row.event_name === null ? {} : { eventName: row.event_name }),
    ...(row.replayed_at === null ? {} : { replayedAt: row.replayed_at }),
    ...(row.replay_outcome === null ? {} : { replayOutcome: row.replay_outcome }),
  };
}

function deadLetterNotFound(id: number): DeeprefError {
  return new DeeprefError('DEEPREF_NOT_FOUND', { what: `Dead letter ${id}` });
}

function readOnly(what: string): Error {
  return new Error(`This event log was opened read-only; open it with { writable: true } to ${what}.`);
}

/** The reading side, shared by the server's log and the CLI's reader; the reader also writes, when writable. */
class SqliteLogReader implements SqliteEventLogReader {
  /** One partition: partition 0 is the whole log, in the order it was written. */
  readonly partitions = 1;
  readonly deadLetters: DeadLetterStore;
  protected readonly db: Database.Database;
  private readonly readStatement: Database.Statement<[number, number], EventRow>;
  private readonly headStatement: Database.Statement<[], number | null>;
  private readonly committedStatement: Database.Statement<[string], number>;
  private readonly offsetsStatement: Database.Statement<[], { consumer: string; offset: number }>;

  constructor(db: Database.Database) {
    this.db = db;
    this.readStatement = db
      .prepare<[number, number], EventRow>(
        'SELECT "offset", body FROM events WHERE "offset" > ? ORDER BY "offset" LIMIT ?',
      )
      .raw();
    this.headStatement = db.prepare<[], number | null>('SELECT max("offset") FROM events').pluck();
    this.committedStatement = db
      .prepare<[string], number>('SELECT "offset" FROM consumer_offsets WHERE consumer = ?')
      .pluck();
    this.offsetsStatement = db.prepare('SELECT consumer, "offset" FROM consumer_offsets ORDER BY consumer');
    this.deadLetters = new SqliteDeadLetterStore(db, (id, outcome) => this.markReplayed(id, outcome));
  }

  async read(after: number, limit: number, partition?: number): Promise<LogRecord[]> {
    return this.rows(after, limit, partition, (offset, body) => ({
      offset,
      event: JSON.parse(body) as StoredEvent,
    }));
  }

  async readRaw(after: number, limit: number, partition?: number): Promise<RawLogRecord[]> {
    return this.rows(after, limit, partition, (offset, body) => ({ offset, body }));
  }

  /** The stored events after `after`, each made into a record by `record`. */
  private rows<R>(
    after: number,
    limit: number,
    partition: number | undefined,
    record: (offset: number, body: string) => R,
  ): R[] {
    checkPartition(partition, this.partitions);
    const rows = this.readStatement.all(after, limit);
    const records: R[] = new Array(rows.length);
    let n = 0;
    for (let i = 0; i < rows.length; i++) {
      const [offset, body] = rows[i]!;
      // An empty body is an erased subject's event kept only to hold the newest offset (sqlite-subject-erasure.ts).
      if (body !== '') records[n++] = record(offset, body);
    }
    records.length = n;
    return records;
  }

  findSubject(ids: readonly string[]): Promise<SubjectRecords> {
    return findSubjectRows(this.db, ids, toDeadLetter);
  }

  async expire(expiry: LogExpiry): Promise<{ events: number; deadLetters: number }> {
    if (this.db.readonly) throw readOnly('expire old events');
    return expireLogRows(this.db, expiry);
  }

  async eraseSubject(ids: readonly string[]): Promise<{ events: number; deadLetters: number }> {
    if (this.db.readonly) throw readOnly('erase a subject');
    return eraseSubjectRows(this.db, ids);
  }

  async head(): Promise<number> {
    return this.headStatement.get() ?? 0;
  }

  async commitOffset(consumer: string, offset: number): Promise<void> {
    if (this.db.readonly) throw readOnly('commit a consumer offset');
    this.db
      .prepare(
        `INSERT INTO consumer_offsets (consumer, "offset", committed_at) VALUES (?, ?, ?)
         ON CONFLICT (consumer) DO UPDATE SET "offset" = excluded."offset", committed_at = excluded.committed_at`,
      )
      .run(consumer, offset, new Date().toISOString());
  }

  async committedOffset(consumer: string): Promise<number> {
    return this.committedStatement.get(consumer) ?? 0;
  }

  async consumerOffsets(): Promise<Record<string, number>> {
    const offsets: Record<string, number> = {};
    for (const { consumer, offset } of this.offsetsStatement.all()) offsets[consumer] = offset;
    return offsets;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  protected async markReplayed(id: number, outcome: string): Promise<void> {
    if (this.db.readonly) throw readOnly('mark a dead letter replayed');
    const { changes } = this.db
      .prepare('UPDATE dead_letters SET replayed_at = ?, replay_outcome = ? WHERE id = ?')
      .run(new Date().toISOString(), outcome, id);
    if (changes === 0) throw deadLetterNotFound(id);
  }
}

class SqliteDeadLetterStore implements DeadLetterStore {
  private readonly db: Database.Database;
  private readonly getStatement: Database.Statement<[number], DeadLetterRow>;
  private readonly countStatement: Database.Statement<[], { reason: string; count: number }>;
  readonly markReplayed: (id: number, outcome: string) => Promise<void>;

  constructor(db: Database.Database, markReplayed: (id: number, outcome: string) => Promise<void>) {
    this.db = db;
    this.markReplayed = markReplayed;
    this.getStatement = db.prepare('SELECT * FROM dead_letters WHERE id = ?');
    this.countStatement = db.prepare(
      'SELECT reason, count(*) AS count FROM dead_letters GROUP BY reason ORDER BY reason',
    );
  }

  async list(query: DeadLetterQuery = {}): Promise<DeadLetter[]> {
    const where: string[] = ['id > @afterId'];
    if (query.reason !== undefined) where.push('reason = @reason');
    if (query.pending) where.push('replayed_at IS NULL');
    const rows = this.db
      .prepare<Record<string, unknown>, DeadLetterRow>(
        `SELECT * FROM dead_letters WHERE ${where.join(' AND ')} ORDER BY id LIMIT @limit`,
      )
      .all({ afterId: query.afterId ?? 0, reason: query.reason ?? null, limit: query.limit ?? -1 });
    return rows.map(toDeadLetter);
  }

  async get(id: number): Promise<DeadLetter | undefined> {
    const row = this.getStatement.get(id);
    return row && toDeadLetter(row);
  }

  async countByReason(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const { reason, count } of this.countStatement.all()) counts[reason] = count;
    return counts;
  }
}

/** Something waiting for the next group commit. */
type Queued =
  | {
      kind: 'append';
      request: AppendRequest;
      events: readonly StoredEvent[];
      settle: Settle<AppendOutcome[]>;
    }
  | { kind: 'offset'; consumer: string; offset: number; settle: Settle<void> }
  | { kind: 'replay'; id: number; outcome: string; settle: Settle<void> };

/** A command sent to the writer thread: the items it settles, and what it holds (for `onGroupCommit`). */
interface SentCommand {
  items: Queued[];
  events: number;
  deadLetters: number;
  batches: number;
}

interface Settle<T> {
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

function settled<T>(): { promise: Promise<T>; settle: Settle<T> } {
  let settle!: Settle<T>;
  const promise = new Promise<T>((resolve, reject) => {
    settle = { resolve, reject };
  });
  return { promise, settle };
}

/** How the writer thread is started: through tsx while this file runs as TypeScript (no build step here). */
function startWriter(file: string, options: LogWriterOptions, maxGroupEvents: number): Worker {
  const entry = new URL(
    import.meta.url.endsWith('.ts') ? './sqlite-log-writer-thread.ts' : './sqlite-log-writer-thread.js',
    import.meta.url,
  ).href;
  const workerData = { file, options, maxGroupEvents };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL(entry), { workerData });
  const tsxPackage = createRequire(import.meta.url).resolve('tsx/package.json');
  const tsx = pathToFileURL(tsxPackage.replace(/package\.json$/, 'dist/esm/api/index.mjs')).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => tsx.register()).then(() => import(${JSON.stringify(entry)}))`;
  return new Worker(bootstrap, { eval: true, workerData });
}

export class SqliteEventLog extends SqliteLogReader implements EventLog {
  private readonly options: SqliteEventLogOptions;
  private readonly now: () => number;
  private readonly maxGroupEvents: number;
  private readonly writer: Worker;
  private readonly tail: RecentTail;
  /** Waiting to be sent to the writer thread (at the end of this turn of the event loop, or once it is ready). */
  private queue: Queued[] = [];
  /** Sent to the writer thread and not yet answered, in the order sent. */
  private sent: SentCommand[] = [];
  /** Events queued or sent and not yet answered. */
  private pendingEvents = 0;
  private ready = false;
  private flushTimer: NodeJS.Immediate | undefined;
  private lastOffset: number;
  private closing: Promise<void> | undefined;
  /** Set when the writer thread failed: every later write is refused with it. */
  private broken: Error | undefined;
  private closed: (() => void) | undefined;

  constructor(db: Database.Database, file: string, options: SqliteEventLogOptions) {
    super(db);
    this.options = options;
    this.now = options.now ?? Date.now;
    this.maxGroupEvents = options.maxGroupEvents ?? 10_000;
    this.tail = new RecentTail(options.recentTail ?? { bodies: 65_536, events: 16_384 });
    this.lastOffset = (db.prepare('SELECT max("offset") FROM events').pluck().get() as number | null) ?? 0;
    this.writer = startWriter(
      file,
      {
        dedupWindowDays: options.dedupWindowDays,
        synchronous: options.synchronous ?? 'FULL',
        recentIdsInMemory: options.recentIdsInMemory ?? 262_144,
      },
      this.maxGroupEvents,
    );
    this.writer.on('message', (message: WriterMessage) => this.onWriterMessage(message));
    this.writer.on('error', (error) =>
      this.fail(new Error(`The event log writer thread failed: ${error.message}`, { cause: error })),
    );
    this.writer.on('exit', () => {
      this.fail(new Error('The event log writer thread stopped.'));
      this.closed?.();
    });
    // A log with nothing to write does not keep the process alive.
    this.writer.unref();
  }

  append(batch: AppendBatch): Promise<AppendOutcome[]> {
    if (this.closing) {
      return Promise.reject(new DeeprefError('DEEPREF_SHUTTING_DOWN', {}, { retryAfter: 1 }));
    }
    if (this.broken) return Promise.reject(this.broken);
    const { events, deadLetters } = batch;
    const count = events.length;
    if (count === 0 && deadLetters.length === 0) return Promise.resolve([]);
    // A batch larger than the whole buffer is still taken when the buffer is empty, or it could never be stored.
    if (this.pendingEvents > 0 && this.pendingEvents + count > this.options.maxPendingEvents) {
      return Promise.reject(new DeeprefError('DEEPREF_OVERLOADED', {}, { retryAfter: 1 }));
    }
    const eventIds: string[] = new Array(count);
    const bodies: string[] = new Array(count);
    try {
      // Encoded and checked here, so that a batch that cannot be stored fails alone, before it joins a group.
      for (let i = 0; i < count; i++) {
        const event = events[i]!;
        if (typeof event.eventId !== 'string') throw new TypeError(`Event ${i} of the batch has no eventId.`);
        eventIds[i] = event.eventId;
        bodies[i] = JSON.stringify(event);
      }
      for (const letter of deadLetters) checkDeadLetter(letter);
    } catch (error) {
      return Promise.reject(error);
    }
    const { promise, settle } = settled<AppendOutcome[]>();
    this.pendingEvents += count;
    this.enqueue({ kind: 'append', request: { eventIds, bodies, deadLetters }, events, settle });
    return promise;
  }

  override async head(): Promise<number> {
    return this.lastOffset;
  }

  override async read(after: number, limit: number, partition?: number): Promise<LogRecord[]> {
    checkPartition(partition, this.partitions);
    return this.tail.read(after, limit) ?? super.read(after, limit);
  }

  override async readRaw(after: number, limit: number, partition?: number): Promise<RawLogRecord[]> {
    checkPartition(partition, this.partitions);
    return this.tail.readRaw(after, limit) ?? super.readRaw(after, limit);
  }

  /** Erased rows must not be served from memory either: the tail is dropped before and after the rows change. */
  override async eraseSubject(ids: readonly string[]): Promise<{ events: number; deadLetters: number }> {
    this.tail.clear();
    try {
      return await super.eraseSubject(ids);
    } finally {
      this.tail.clear();
    }
  }

  override async expire(expiry: LogExpiry): Promise<{ events: number; deadLetters: number }> {
    this.tail.clear();
    try {
      return await super.expire(expiry);
    } finally {
      this.tail.clear();
    }
  }

  /** Durable once resolved; committed with the next group, so that it shares its fsync. */
  override commitOffset(consumer: string, offset: number): Promise<void> {
    if (this.closing) return Promise.reject(new DeeprefError('DEEPREF_SHUTTING_DOWN', {}, { retryAfter: 1 }));
    if (this.broken) return Promise.reject(this.broken);
    const { promise, settle } = settled<void>();
    this.enqueue({ kind: 'offset', consumer, offset, settle });
    return promise;
  }

  protected override markReplayed(id: number, outcome: string): Promise<void> {
    if (this.closing) return Promise.reject(new DeeprefError('DEEPREF_SHUTTING_DOWN', {}, { retryAfter: 1 }));
    if (this.broken) return Promise.reject(this.broken);
    const { promise, settle } = settled<void>();
    this.enqueue({ kind: 'replay', id, outcome, settle });
    return promise;
  }

  /** Commits everything queued, stops the writer thread and closes the file. */
  override close(): Promise<void> {
    this.closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => {
        this.closed = resolve;
      });
      if (!this.broken) {
        this.writer.ref();
        this.flush();
        await this.drained();
        this.send({ type: 'close' });
        await stopped;
      }
      await this.writer.terminate();
      await super.close();
    })();
    return this.closing;
  }

  private enqueue(item: Queued): void {
    this.queue.push(item);
    this.writer.ref();
    if (this.ready) this.flushTimer ??= setImmediate(() => this.flush());
  }

  /** Sends what is queued to the writer, in commands of at most `maxGroupEvents` events, once it is ready. */
  private flush(): void {
    if (this.flushTimer) {
      clearImmediate(this.flushTimer);
      this.flushTimer = undefined;
    }
    while (this.ready && this.queue.length > 0) this.sendCommand();
  }

  private sendCommand(): void {
    let take = 0;
    let events = 0;
    let deadLetters = 0;
    let batches = 0;
    const request: GroupRequest = { now: this.now(), appends: [], offsets: [], replays: [] };
    while (take < this.queue.length && (events < this.maxGroupEvents || take === 0)) {
      const item = this.queue[take++]!;
      if (item.kind === 'append') {
        request.appends.push(item.request);
        events += item.request.eventIds.length;
        deadLetters += item.request.deadLetters.length;
        batches++;
      } else if (item.kind === 'offset') {
        request.offsets.push({ consumer: item.consumer, offset: item.offset });
      } else {
        request.replays.push({ id: item.id, outcome: item.outcome });
      }
    }
    const items = this.queue.slice(0, take);
    this.queue = this.queue.slice(take);
    this.sent.push({ items, events, deadLetters, batches });
    this.send({ type: 'commit', request });
  }

  private send(command: WriterCommand): void {
    this.writer.postMessage(command);
  }

  private onWriterMessage(message: WriterMessage): void {
    if (message.type === 'ready') {
      this.ready = true;
      this.flush();
    } else if (message.type === 'committed') {
      this.onCommitted(message.commands, message.response);
    } else if (message.type === 'failed') {
      const { name, message: text, code } = message.error;
      const error = Object.assign(new Error(text), { name, ...(code === undefined ? {} : { code }) });
      // Another process held the write lock past the busy timeout: a moment's overload, worth a retry.
      const reason = code?.startsWith('SQLITE_BUSY')
        ? new DeeprefError('DEEPREF_OVERLOADED', {}, { retryAfter: 1, cause: error })
        : error;
      this.settleCommands(message.commands, (item) => item.settle.reject(reason));
    } else {
      this.closed?.();
    }
  }

  private onCommitted(commands: number, response: GroupResponse): void {
    this.lastOffset = response.lastOffset;
    let n = 0;
    let replay = 0;
    const group = this.settleCommands(commands, (item) => {
      if (item.kind === 'append') {
        const outcomes: AppendOutcome[] = new Array(item.request.eventIds.length);
        for (let i = 0; i < outcomes.length; i++, n++) {
          const offset = response.offsets[n]!;
          if (offset > 0) {
            outcomes[i] = { status: 'accepted', offset };
            this.tail.add(offset, item.request.bodies[i]!, item.events[i]!);
          } else outcomes[i] = { status: 'duplicate' };
        }
        item.settle.resolve(outcomes);
      } else if (item.kind === 'offset') {
        item.settle.resolve();
      } else if (response.replayed[replay++]) {
        item.settle.resolve();
      } else {
        item.settle.reject(deadLetterNotFound(item.id));
      }
    });
    this.options.onGroupCommit?.({
      batches: group.batches,
      events: group.events,
      deadLetters: group.deadLetters,
      durationMs: response.durationMs,
    });
  }

  /** Settles every item of the oldest `count` commands sent, in order; returns what they held. */
  private settleCommands(count: number, settle: (item: Queued) => void): Omit<SentCommand, 'items'> {
    const commands = this.sent.splice(0, count);
    const group = { events: 0, deadLetters: 0, batches: 0 };
    for (const command of commands) {
      group.events += command.events;
      group.deadLetters += command.deadLetters;
      group.batches += command.batches;
      this.pendingEvents -= command.events;
      for (const item of command.items) settle(item);
    }
    if (this.sent.length === 0 && this.queue.length === 0) {
      if (!this.closing) this.writer.unref();
      this.whenDrained?.();
    }
    return group;
  }

  private whenDrained: (() => void) | undefined;

  private drained(): Promise<void> {
    if (this.sent.length === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.whenDrained = resolve;
    });
  }

  /** The writer thread is gone: whatever waits for it is refused, and so is every later write. */
  private fail(error: Error): void {
    if (this.broken) return;
    this.broken = error;
    this.ready = false;
    const waiting = [...this.sent.flatMap((command) => command.items), ...this.queue];
    this.sent = [];
    this.queue = [];
    this.pendingEvents = 0;
    for (const item of waiting) item.settle.reject(error);
    this.whenDrained?.();
  }
}
