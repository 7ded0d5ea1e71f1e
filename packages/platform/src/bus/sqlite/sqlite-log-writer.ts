/**
 * The writing side of the embedded event log: the schema, and `LogWriter`, which commits one group (every batch,
 * offset and replay mark queued while the previous group was being written) in one transaction. It runs on its own
 * thread (`sqlite-log-writer-thread.ts`), so that inserts, fsyncs and checkpoints never block the event loop.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { DeadLetterInput } from '../event-log.ts';
import { BatchedInsert } from './batched-insert.ts';
import { type AddedId, type IdKey, SeenEventIds, seenEventIdsSchema } from './seen-event-ids.ts';

export const schemaVersion = 1;
export const busyTimeoutMs = 5_000;
const pruneIntervalMs = 60_000;
const minPruneChunk = 1_000;
const maxRecentAgeMs = 60_000;
const dayMs = 86_400_000;

/**
 * 16 KiB pages: the WAL is written a frame (a page and its header) per write call, so with 4 KiB pages a group of
 * realistic events (about 700 bytes each) cost the writer thread a system call every few events. 64 KiB pages
 * write still less for large groups but cost more for the small ones of moderate load, where each commit rewrites
 * the last, partly filled page of each table it touched (docs/benchmarks.md). The page size only takes effect when
 * the file is created: older logs keep theirs.
 */
const logPageSize = 16_384;
/** WAL bytes after which a commit checkpoints (SQLite counts in pages): 16 MiB, whatever the file's page size. */
const walCheckpointBytes = 16 * 1024 * 1024;

const schema = `
  PRAGMA page_size = ${logPageSize};
  PRAGMA journal_mode = WAL;
  -- The offset is the rowid, one more than the largest: monotonic as long as the newest row is never deleted
  -- (a retention job must keep it, or this table must move to AUTOINCREMENT).
  CREATE TABLE IF NOT EXISTS events (
    "offset" INTEGER PRIMARY KEY,
    event_id BLOB NOT NULL,
    -- When the log took it (the group's clock, ms): its first-seen time for dedup, whatever the event says.
    appended_at INTEGER NOT NULL,
    body TEXT NOT NULL
  );
  ${seenEventIdsSchema}
  CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY,
    reason TEXT NOT NULL,
    message TEXT NOT NULL,
    raw TEXT NOT NULL,
    source_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    event_id TEXT,
    event_name TEXT,
    replayed_at TEXT,
    replay_outcome TEXT
  );
  CREATE INDEX IF NOT EXISTS dead_letters_by_reason ON dead_letters (reason, id);
  CREATE INDEX IF NOT EXISTS dead_letters_pending ON dead_letters (id) WHERE replayed_at IS NULL;
  CREATE TABLE IF NOT EXISTS consumer_offsets (
    consumer TEXT PRIMARY KEY,
    "offset" INTEGER NOT NULL,
    committed_at TEXT NOT NULL
  ) WITHOUT ROWID;
  PRAGMA user_version = ${schemaVersion};
`;

/** Opens the file for the server (creating folder, file and tables) or, `readonly`, for another process. */
export function openLogDatabase(file: string, mode: 'create' | 'readonly' | 'readwrite'): Database.Database {
  if (mode === 'create') fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file, {
    readonly: mode === 'readonly',
    fileMustExist: mode !== 'create',
    timeout: busyTimeoutMs,
  });
  try {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    const version = db.pragma('user_version', { simple: true });
    if (version === 0 && mode === 'create') db.exec(schema);
    else if (version !== schemaVersion) {
      throw new Error(
        `${file} is not a DeepRef event log of schema version ${schemaVersion} (found ${version}).`,
      );
    }
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

export interface LogWriterOptions {
  dedupWindowDays: number;
  synchronous: 'FULL' | 'NORMAL';
  recentIdsInMemory: number;
  /** Size of the dedup Bloom filter (two of them while it is rebuilt). Default 16 MiB: accurate to ~16M ids. */
  dedupFilterBytes?: number;
  /** Ids read per step of the scan that fills the filter. Default 20,000 (a few milliseconds). */
  dedupScanChunk?: number;
}

/** One batch of a group, encoded by the caller's thread. */
export interface AppendRequest {
  eventIds: string[];
  /** Each event as JSON. */
  bodies: string[];
  deadLetters: DeadLetterInput[];
}

const hexValues = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  hexValues['0123456789abcdef'.charCodeAt(i)] = i;
  hexValues['0123456789ABCDEF'.charCodeAt(i)] = i;
}

/**
 * Writes the 16 bytes of a uuid (8-4-4-4-12 hex digits, either case) at `at`; false for any other id. The same
 * test as `/^[0-9a-f]{8}-…-[0-9a-f]{12}$/i`, without the regex and the copies of the string (lowercased, without
 * hyphens, decoded from hex) that the key and the stored bytes used to cost.
 */
export function writeUuidBytes(id: string, bytes: Uint8Array, at: number): boolean {
  if (id.length !== 36) return false;
  let high = -1;
  for (let i = 0; i < 36; i++) {
    const code = id.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (code !== 45 /* - */) return false;
      continue;
    }
    const value = code < 128 ? hexValues[code]! : -1;
    if (value < 0) return false;
    if (high < 0) high = value;
    else {
      bytes[at++] = (high << 4) | value;
      high = -1;
    }
  }
  return true;
}

export interface GroupRequest {
  /** Milliseconds since the epoch: first-seen time of the group's new ids, and the clock of the dedup window. */
  now: number;
  appends: AppendRequest[];
  offsets: { consumer: string; offset: number }[];
  replays: { id: number; outcome: string }[];
}

export interface GroupResponse {
  /** Per event of the group's batches, in order: its offset, or 0 for a duplicate. */
  offsets: Float64Array;
  lastOffset: number;
  /** Per replay mark: whether its dead letter exists. */
  replayed: boolean[];
  /** The transaction, commit and fsync included. */
  durationMs: number;
}

/** What the writer thread says to the main thread. */
export type WriterMessage =
  | { type: 'ready' }
  | { type: 'committed'; commands: number; response: GroupResponse }
  | { type: 'failed'; commands: number; error: { name: string; message: string; code?: string } }
  | { type: 'closed' };

/**
 * What the main thread asks of the writer thread. Commits are sent without waiting for the last one's answer; the
 * writer commits those that arrived meanwhile as one group and answers how many commands it covered.
 */
export type WriterCommand = { type: 'commit'; request: GroupRequest } | { type: 'close' };

export class LogWriter {
  private readonly db: Database.Database;
  private readonly options: LogWriterOptions;
  private readonly seen: SeenEventIds;
  private readonly inserts: BatchedInsert;
  private readonly deadLetterStatement: Database.Statement<unknown[]>;
  private readonly offsetStatement: Database.Statement<[string, number, string]>;
  private readonly replayStatement: Database.Statement<[string, string, number]>;
  private readonly transaction: (request: GroupRequest) => GroupResult;
  private lastOffset: number;
  private nextPruneAt = 0;

  constructor(file: string, options: LogWriterOptions) {
    this.options = options;
    const db = openLogDatabase(file, 'readwrite');
    this.db = db;
    try {
      db.pragma(`synchronous = ${options.synchronous}`);
      // 64 MiB of page cache keeps the upper levels of the dedup index and the tails of the tables in memory.
      db.pragma('cache_size = -65536');
      const pageSize = db.pragma('page_size', { simple: true }) as number;
      db.pragma(`wal_autocheckpoint = ${Math.max(1, Math.round(walCheckpointBytes / pageSize))}`);
      db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
      this.lastOffset = (db.prepare('SELECT max("offset") FROM events').pluck().get() as number | null) ?? 0;
      this.seen = new SeenEventIds(db, {
        recentIds: options.recentIdsInMemory,
        maxRecentAgeMs,
        filterBytes: options.dedupFilterBytes ?? 16 * 1024 * 1024,
        scanChunk: options.dedupScanChunk ?? 20_000,
      });
      this.inserts = new BatchedInsert(db, 'INSERT INTO events ("offset", event_id, appended_at, body)', 4);
      this.deadLetterStatement = db.prepare(
        `INSERT INTO dead_letters (reason, message, raw, source_id, received_at, event_id, event_name)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      );
      this.offsetStatement = db.prepare(
        `INSERT INTO consumer_offsets (consumer, "offset", committed_at) VALUES (?, ?, ?)
         ON CONFLICT (consumer) DO UPDATE SET "offset" = excluded."offset", committed_at = excluded.committed_at`,
      );
      this.replayStatement = db.prepare(
        'UPDATE dead_letters SET replayed_at = ?, replay_outcome = ? WHERE id = ?',
      );
      // IMMEDIATE takes the write lock up front: another process writing makes us wait, never fail midway.
      this.transaction = db.transaction((request: GroupRequest) => this.write(request)).immediate;
    } catch (error) {
      db.close();
      throw error;
    }
  }

  get head(): number {
    return this.lastOffset;
  }

  /** Work to do between commits (filling the dedup filter from the table); call `backgroundStep` until false. */
  get hasBackgroundWork(): boolean {
    return this.seen.scanning;
  }

  /** One short step of background work, outside any transaction. */
  backgroundStep(): void {
    this.seen.scanStep();
  }

  /**
   * Starts refilling the dedup filter from the table, in background steps, to drop the pruned ids from it. Runs by
   * itself once they are more than half of it.
   */
  rebuildDedupFilter(): void {
    this.seen.rebuildFilter();
  }

  /** Writes the whole group in one transaction, or nothing of it (and then throws). */
  commit(request: GroupRequest): GroupResponse {
    const started = performance.now();
    const result = this.transaction(request);
    // Memory moves only once the commit succeeded: a failed group leaves no trace, in the file or here.
    this.lastOffset = result.lastOffset;
    if (result.pruned !== undefined) {
      this.nextPruneAt = result.pruned === 'more' ? request.now : request.now + pruneIntervalMs;
    }
    this.seen.apply(result.moved, result.added, request.now);
    return {
      offsets: result.offsets,
      lastOffset: result.lastOffset,
      replayed: result.replayed,
      durationMs: performance.now() - started,
    };
  }

  close(): void {
    this.db.close();
  }

  private write({ now, appends, offsets: commits, replays }: GroupRequest): GroupResult {
    const headBefore = this.lastOffset;
    let offset = headBefore;
    let count = 0;
    for (const append of appends) count += append.eventIds.length;
    const keys: IdKey[] = new Array(count);
    const stored: (Buffer | string)[] = new Array(count);
    // A uuid is read into its 16 bytes, which are both how it is stored and (in hex) its key.
    const uuids = Buffer.allocUnsafe(16 * count);
    let n = 0;
    for (const append of appends) {
      for (const eventId of append.eventIds) {
        const at = 16 * n;
        if (writeUuidBytes(eventId, uuids, at)) {
          keys[n] = uuids.toString('hex', at, at + 16);
          stored[n] = uuids.subarray(at, at + 16);
        } else {
          keys[n] = `~${eventId}`;
          stored[n] = eventId;
        }
        n++;
      }
    }
    const seenBefore = this.seen.findSeen(keys, stored);
    const added: AddedId[] = [];
    const addedKeys = new Set<IdKey>();
    const offsets = new Float64Array(count);
    // Rows left by a group that failed midway are no part of this one.
    this.inserts.clear();
    n = 0;
    for (const { bodies, deadLetters } of appends) {
      for (let i = 0; i < bodies.length; i++, n++) {
        const key = keys[n]!;
        if (seenBefore.has(key) || addedKeys.has(key)) continue;
        // The offset is the rowid SQLite would give (one more than the largest), written out so that rows can be
        // inserted many to a statement.
        offset++;
        this.inserts.add(offset, stored[n]!, now, bodies[i]!);
        addedKeys.add(key);
        added.push({ key, offset });
        offsets[n] = offset;
      }
      for (const letter of deadLetters) {
        this.deadLetterStatement.run(
          letter.reason,
          letter.message,
          letter.raw,
          letter.sourceId,
          letter.receivedAt,
          letter.eventId ?? null,
          letter.eventName ?? null,
        );
      }
    }
    this.inserts.flush();
    const at = new Date(now).toISOString();
    for (const { consumer, offset: committed } of commits) this.offsetStatement.run(consumer, committed, at);
    const replayed = replays.map(({ id, outcome }) => this.replayStatement.run(at, outcome, id).changes > 0);

    const moved = this.seen.moveDueBuckets(added.length, now, headBefore);
    let pruned: GroupResult['pruned'];
    if (now >= this.nextPruneAt) {
      // Once a minute; while a backlog remains, on every commit, in chunks twice what the commit added, so that
      // pruning outpaces ingest without ever making one commit long.
      const chunk = Math.max(minPruneChunk, 2 * added.length);
      pruned = this.seen.prune(now - this.options.dedupWindowDays * dayMs, chunk) ? 'more' : 'done';
    }
    return { offsets, lastOffset: offset, replayed, pruned, added, moved };
  }
}

interface GroupResult {
  offsets: Float64Array;
  lastOffset: number;
  replayed: boolean[];
  /** Whether this commit pruned old ids, and whether more remain. */
  pruned: 'done' | 'more' | undefined;
  added: AddedId[];
  moved: number[];
}
