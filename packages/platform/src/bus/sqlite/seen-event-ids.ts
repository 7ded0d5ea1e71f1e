/**
 * The dedup record of the embedded event log: which eventIds were appended within the dedup window.
 *
 * Ids are random (uuid v4), so inserting each one into an on-disk B-tree as it arrives dirties one leaf page per id
 * once the tree outgrows a commit, and every dirty page goes to the WAL whole: measured, that alone held the log to
 * about 20,000 events/s once 3 million ids were remembered. So an accepted id is first kept in memory ("recent"),
 * durable all the while through its row in `events` (which holds the id), and moved into `seen_event_ids` later,
 * one first-byte bucket at a time: a bucket is a contiguous key range, so moving the ~1/256 of the recent ids that
 * fall in it dirties only ~1/256 of the tree's leaves. `seen_event_ids_low_water` records the offset up to which
 * every accepted id is in the table; on open, the ids of later events are taken back into memory.
 *
 * Before any lookup, a Bloom filter over every remembered id (`id-filter.ts`) sorts out the ids never seen, which is
 * almost all of them; it is filled on open by a scan of the table that runs between commits, and rebuilt the same
 * way once pruned ids make up more than half of it.
 */
import type Database from 'better-sqlite3';
import { BatchedInsert } from './batched-insert.ts';
import { IdFilter } from './id-filter.ts';

/**
 * Ids in memory are keyed by text: a uuid as its 16 bytes in 32 lowercase hex digits, any other id as `~` and the
 * id (`LogWriter` reads a uuid's bytes with `writeUuidBytes`, sqlite-log-writer.ts).
 */
export type IdKey = string;

/** Ids that are not uuids are stored as text, which SQLite sorts before every blob: one range of their own. */
const textBucket = 256;
const lookupChunk = 100;

/** How an id is stored: a uuid as its 16 bytes (half the size, and case-insensitive), anything else as text. */
export function storedId(key: IdKey): Buffer | string {
  return key.charCodeAt(0) === 126 /* ~ */ ? key.slice(1) : Buffer.from(key, 'hex');
}

function keyOfStored(stored: Buffer | string): IdKey {
  return typeof stored === 'string' ? `~${stored}` : stored.toString('hex');
}

/** A lowercase hex digit's value (a key's hex is `toString('hex')`'s, lowercase). */
function hexDigit(code: number): number {
  return code <= 57 /* 9 */ ? code - 48 : code - 87;
}

/** The key's first byte, read from its first two hex digits (no substring and no parse: this runs per new id). */
function bucketOf(key: IdKey): number {
  const first = key.charCodeAt(0);
  return first === 126 ? textBucket : (hexDigit(first) << 4) | hexDigit(key.charCodeAt(1));
}

export const seenEventIdsSchema = `
  CREATE TABLE IF NOT EXISTS seen_event_ids (
    event_id BLOB PRIMARY KEY,
    first_seen INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS seen_event_ids_by_first_seen ON seen_event_ids (first_seen);
  CREATE TABLE IF NOT EXISTS seen_event_ids_low_water (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    "offset" INTEGER NOT NULL
  );
  INSERT OR IGNORE INTO seen_event_ids_low_water (id, "offset") VALUES (1, 0);
`;

interface Bucket {
  keys: IdKey[];
  /** When the oldest of them was first seen, and the offset of its event. */
  firstSeen: number;
  firstOffset: number;
  /** When the newest of them was first seen. */
  lastSeen: number;
}

export interface SeenEventIdsOptions {
  /** Recent ids kept in memory before they are moved to the table, bucket by bucket. */
  recentIds: number;
  /** A bucket is moved once its oldest id is this old, however few the recent ids. */
  maxRecentAgeMs: number;
  /** Size of the Bloom filter; it stays accurate up to about this many ids (8 bits each). */
  filterBytes: number;
  /** Ids read per step of the scan that fills the filter. */
  scanChunk: number;
}

/** A new id of a group, with the offset its event was appended at. */
export interface AddedId {
  key: IdKey;
  offset: number;
}

export class SeenEventIds {
  private readonly recent = new Set<IdKey>();
  private readonly buckets: Bucket[] = Array.from({ length: textBucket + 1 }, () => ({
    keys: [],
    firstSeen: 0,
    firstOffset: 0,
    lastSeen: 0,
  }));
  private nextBucket = 0;
  private readonly options: SeenEventIdsOptions;
  /** Holds every id in `recent` and in the table (and some pruned ones); trusted once `filterReady`. */
  private filter: IdFilter;
  private filterReady = false;
  /** The filter being filled by a scan of the table; the filter itself while it is not ready yet. */
  private rebuild: { filter: IdFilter; after: Buffer | string | undefined } | undefined;
  /** About how many ids the table holds, to tell when the filter is mostly pruned ids. */
  private tableCount = 0;
  private readonly scanFirstStatement: Database.Statement<[number], Buffer | string>;
  private readonly scanNextStatement: Database.Statement<[Buffer | string, number], Buffer | string>;
  private readonly lookupStatement: Database.Statement<unknown[], Buffer | string>;
  private readonly remember: BatchedInsert;
  private readonly lowWaterStatement: Database.Statement<[number]>;
  private readonly pruneStatement: Database.Statement<[number, number]>;

  constructor(db: Database.Database, options: SeenEventIdsOptions) {
    this.options = options;
    this.filter = new IdFilter(options.filterBytes);
    this.rebuild = { filter: this.filter, after: undefined };
    this.scanFirstStatement = db
      .prepare<[number], Buffer | string>('SELECT event_id FROM seen_event_ids ORDER BY event_id LIMIT ?')
      .pluck();
    this.scanNextStatement = db
      .prepare<[Buffer | string, number], Buffer | string>(
        'SELECT event_id FROM seen_event_ids WHERE event_id > ? ORDER BY event_id LIMIT ?',
      )
      .pluck();
    this.lookupStatement = db
      .prepare<unknown[], Buffer | string>(
        `SELECT event_id FROM seen_event_ids WHERE event_id IN (${new Array(lookupChunk).fill('?').join(', ')})`,
      )
      .pluck();
    this.remember = new BatchedInsert(db, 'INSERT OR IGNORE INTO seen_event_ids (event_id, first_seen)', 2);
    this.lowWaterStatement = db.prepare('UPDATE seen_event_ids_low_water SET "offset" = ? WHERE id = 1');
    // Walks the first_seen index from its oldest end, so each call costs only the rows it deletes.
    this.pruneStatement = db.prepare(
      `DELETE FROM seen_event_ids WHERE event_id IN
         (SELECT event_id FROM seen_event_ids WHERE first_seen < ? ORDER BY first_seen LIMIT ?)`,
    );
    const lowWater = db.prepare('SELECT "offset" FROM seen_event_ids_low_water').pluck().get() as number;
    const unmoved = db
      .prepare<[number], [number, Buffer | string, number]>(
        'SELECT "offset", event_id, appended_at FROM events WHERE "offset" > ? ORDER BY "offset"',
      )
      .raw();
    // Some of these may already be in the table (moved after the low-water mark was last raised): moving them
    // again is an INSERT OR IGNORE, harmless.
    for (const [offset, stored, appendedAt] of unmoved.iterate(lowWater)) {
      this.keep(keyOfStored(stored), appendedAt, offset);
    }
  }

  get recentCount(): number {
    return this.recent.size;
  }

  /** Whether a scan of the table for the filter is under way: `scanStep` has work to do. */
  get scanning(): boolean {
    return this.rebuild !== undefined;
  }

  /**
   * Adds the next chunk of the table's ids to the filter being built; between commits, outside any transaction.
   * Ids moved into the table meanwhile reach the new filter through `keep`, pruned ones may linger in it.
   */
  scanStep(): void {
    const rebuild = this.rebuild;
    if (!rebuild) return;
    const ids =
      rebuild.after === undefined
        ? this.scanFirstStatement.all(this.options.scanChunk)
        : this.scanNextStatement.all(rebuild.after, this.options.scanChunk);
    for (const stored of ids) rebuild.filter.add(keyOfStored(stored));
    if (ids.length === this.options.scanChunk) {
      rebuild.after = ids[ids.length - 1];
      return;
    }
    this.filter = rebuild.filter;
    this.filterReady = true;
    this.rebuild = undefined;
    this.tableCount = Math.max(0, rebuild.filter.added - this.recent.size);
  }

  /** Starts filling a fresh filter (the current one keeps answering until it is complete). */
  rebuildFilter(): void {
    if (this.rebuild) return;
    const filter = new IdFilter(this.options.filterBytes);
    for (const key of this.recent) filter.add(key);
    this.rebuild = { filter, after: undefined };
  }

  /** Which of `keys` (stored as `stored`) were seen before: recent ids from memory, older ones from the table. */
  findSeen(keys: IdKey[], stored: (Buffer | string)[]): Set<IdKey> {
    const seen = new Set<IdKey>();
    const unknown: (Buffer | string)[] = [];
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (this.filterReady && !this.filter.mightContain(key)) continue;
      if (this.recent.has(key)) seen.add(key);
      else unknown.push(stored[i]!);
    }
    for (let start = 0; start < unknown.length; start += lookupChunk) {
      const chunk = unknown.slice(start, start + lookupChunk);
      // The statement takes a fixed number of ids; repeating one changes nothing in an IN list.
      while (chunk.length < lookupChunk) chunk.push(chunk[0]!);
      for (const stored of this.lookupStatement.all(...chunk)) seen.add(keyOfStored(stored));
    }
    return seen;
  }

  /**
   * Inside the group's transaction: moves whole buckets of recent ids into the table, round-robin, about as many
   * ids as the group adds while memory is at its limit (so it stays there), and any bucket whose oldest id is
   * past the age limit. Returns the buckets moved; memory changes only in `apply`.
   */
  moveDueBuckets(added: number, now: number, headBefore: number): number[] {
    const moved: number[] = [];
    this.remember.clear();
    const full = this.recent.size >= this.options.recentIds;
    let budget = full ? added + (added >> 2) + 1 : 0;
    for (let visited = 0; visited <= textBucket; visited++) {
      const index = this.nextBucket;
      const bucket = this.buckets[index]!;
      if (bucket.keys.length > 0) {
        const old = bucket.firstSeen <= now - this.options.maxRecentAgeMs;
        if (budget <= 0 && !old) break;
        for (const key of bucket.keys) {
          // All recorded as first seen when the newest of the bucket was: a little later than some were (never
          // earlier: each is remembered a little longer), so that the ids of a move land together at the end of
          // the first_seen index instead of dirtying pages all over its recent part.
          this.remember.add(storedId(key), bucket.lastSeen);
        }
        budget -= bucket.keys.length;
        moved.push(index);
      }
      this.nextBucket = index === textBucket ? 0 : index + 1;
    }
    this.remember.flush();
    // Counted before the commit: if that fails, the count is off by a little, which only moves a rebuild.
    this.tableCount += this.remember.changes;
    let lowWater = headBefore;
    for (let index = 0; index <= textBucket; index++) {
      const bucket = this.buckets[index]!;
      if (bucket.keys.length > 0 && !moved.includes(index)) {
        lowWater = Math.min(lowWater, bucket.firstOffset - 1);
      }
    }
    if (moved.length > 0) this.lowWaterStatement.run(lowWater);
    return moved;
  }

  /** Inside the transaction: forgets ids first seen before `cutoff`, at most `limit`; true when more remain. */
  prune(cutoff: number, limit: number): boolean {
    const pruned = this.pruneStatement.run(cutoff, limit).changes;
    this.tableCount -= pruned;
    return pruned === limit;
  }

  /** After the commit: the moved buckets leave memory, the group's new ids enter it. */
  apply(moved: number[], added: AddedId[], firstSeen: number): void {
    for (const index of moved) {
      const bucket = this.buckets[index]!;
      for (const key of bucket.keys) this.recent.delete(key);
      bucket.keys = [];
    }
    for (const { key, offset } of added) this.keep(key, firstSeen, offset);
    // Once pruned ids are more than half of the filter (and it is past its size), a fresh one answers better.
    const live = this.tableCount + this.recent.size;
    if (this.filterReady && this.filter.added > 2 * live + this.options.filterBytes) this.rebuildFilter();
  }

  private keep(key: IdKey, firstSeen: number, offset: number): void {
    if (this.recent.has(key)) return;
    this.recent.add(key);
    this.filter.add(key);
    if (this.rebuild && this.rebuild.filter !== this.filter) this.rebuild.filter.add(key);
    const bucket = this.buckets[bucketOf(key)]!;
    if (bucket.keys.length === 0) {
      bucket.firstSeen = firstSeen;
      bucket.firstOffset = offset;
      bucket.lastSeen = firstSeen;
    }
    bucket.lastSeen = Math.max(bucket.lastSeen, firstSeen);
    bucket.keys.push(key);
  }
}
