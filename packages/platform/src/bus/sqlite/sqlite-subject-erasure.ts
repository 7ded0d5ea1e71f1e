/**
 * A subject's rows in the embedded event log, found and erased for privacy requests. The log is append-only for
 * everyone else; this is its one deletion, and it leaves no copy of the rows in the files:
 *
 * - `secure_delete` on the erasing connection overwrites the deleted cells and the freed pages with zeros;
 * - a `VACUUM` (temp store in memory, so no temp file holds the rows) then rebuilds the file from live rows only,
 *   so that no stale cell copy, left by page splits of earlier inserts, survives in unallocated space;
 * - a `wal_checkpoint(TRUNCATE)` finally writes the new pages home and truncates the write-ahead log, which held the
 *   old page images.
 *
 * The newest row is never deleted (the next append would reuse its offset, and a consumer past it would skip the
 * new event): if it is the subject's, its body is emptied instead, and readers skip empty bodies.
 */
import type { StoredEvent } from '@deepref/schema';
import type Database from 'better-sqlite3';
import type { DeadLetter, LogRecord, SubjectRecords } from '../event-log.ts';

/** Rows scanned between two yields to the event loop while looking for a subject's events. */
const scanChunk = 20_000;

const eventMatch = `(json_extract(body, '$.userId') IN (SELECT value FROM json_each(@ids))
  OR json_extract(body, '$.anonymousId') IN (SELECT value FROM json_each(@ids)))`;
// A dead letter's raw text may not parse (that is often why it is one): any mention of an id as a JSON string.
const deadLetterMatch = `EXISTS (SELECT 1 FROM json_each(@ids) WHERE instr(raw, json_quote(value)) > 0)`;

/** Truncates the write-ahead log; a reader holding an old snapshot makes it wait (a few seconds at most). */
async function truncateWal(db: Database.Database): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    if (result?.busy === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(
    'The event log write-ahead log could not be truncated: a reader kept an old snapshot open.',
  );
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

async function subjectOffsets(db: Database.Database, ids: string): Promise<number[]> {
  const top = (db.prepare('SELECT max("offset") FROM events').pluck().get() as number | null) ?? 0;
  const statement = db
    .prepare(
      `SELECT "offset" FROM events WHERE "offset" > @from AND "offset" <= @to AND body <> '' AND ${eventMatch}`,
    )
    .pluck();
  const offsets: number[] = [];
  for (let from = 0; from < top; from += scanChunk) {
    if (from > 0) await yieldToLoop();
    offsets.push(...(statement.all({ from, to: from + scanChunk, ids }) as number[]));
  }
  return offsets;
}

export async function findSubjectRows<Row>(
  db: Database.Database,
  ids: readonly string[],
  toDeadLetter: (row: Row) => DeadLetter,
): Promise<SubjectRecords> {
  const json = JSON.stringify(ids);
  const offsets = await subjectOffsets(db, json);
  const body = db.prepare('SELECT body FROM events WHERE "offset" = ?').pluck();
  const events: LogRecord[] = offsets.map((offset) => ({
    offset,
    event: JSON.parse(body.get(offset) as string) as StoredEvent,
  }));
  const deadLetters = (
    db.prepare(`SELECT * FROM dead_letters WHERE ${deadLetterMatch} ORDER BY id`).all({ ids: json }) as Row[]
  ).map(toDeadLetter);
  return { events, deadLetters };
}

export async function eraseSubjectRows(
  db: Database.Database,
  ids: readonly string[],
): Promise<{ events: number; deadLetters: number }> {
  const json = JSON.stringify(ids);
  const offsets = await subjectOffsets(db, json);
  db.pragma('secure_delete = ON');
  const erase = db.transaction(() => {
    const newest = db.prepare('SELECT max("offset") FROM events').pluck().get() as number | null;
    const remove = db.prepare('DELETE FROM events WHERE "offset" = ?');
    const empty = db.prepare(`UPDATE events SET body = '' WHERE "offset" = ?`);
    for (const offset of offsets) (offset === newest ? empty : remove).run(offset);
    return db.prepare(`DELETE FROM dead_letters WHERE ${deadLetterMatch}`).run({ ids: json }).changes;
  });
  // IMMEDIATE: wait for the writer thread's group commit rather than fail half way.
  const deadLetters = erase.immediate();
  db.pragma('temp_store = MEMORY');
  db.exec('VACUUM');
  await truncateWal(db);
  return { events: offsets.length, deadLetters };
}
