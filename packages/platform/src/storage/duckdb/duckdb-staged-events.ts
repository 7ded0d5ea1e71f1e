/**
 * Event rows into DuckDB from the log's JSON text: the records' bodies go to DuckDB as one bound value (their UTF-8
 * joined by newlines, which JSON.stringify never writes raw) and their offsets as another, and an `INSERT … SELECT`
 * splits them into (offset, body) pairs and makes the typed rows with DuckDB's JSON functions, on DuckDB's threads.
 * Nothing is parsed in JavaScript, and the event loop pays for a few bound values a statement rather than two
 * appended values and a row a record: about a third of the main thread's time (see `insertEventsFromJson`). A
 * body holding a raw newline (never one JSON.stringify wrote) sends the records from its pack on through a staging
 * table filled by an appender, as before.
 *
 * The rows are those `eventRow` makes, to the byte, or none: strings come from DuckDB's JSON reader; a JSON column
 * is DuckDB's serialisation of the member, taken only when that text is found in the body as it is, so that it is
 * what `JSON.stringify` wrote (DuckDB writes `1e21` where JavaScript wrote `1e+21`, `\u001F` for `\u001f`); times
 * are taken only in the form the collector writes them, in UTC. Anything else (such a number, another offset, an
 * out-of-range date, text DuckDB's JSON reader refuses such as an escaped lone surrogate) fails the insert, and the
 * caller loads the batch through `appendEventRows` instead.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { RawLogRecord } from '../../bus/event-log.ts';
import { eventColumns } from '../event-columns.ts';
import { yieldToLoop } from '../event-loop.ts';
import { appendChunkRows, discardAppender, quoteIdentifier } from './duckdb-event-rows.ts';

/** The staging table, temporary so that it lives on the connection only and never reaches a database file. */
export const stagedEventsTable = 'staged_events';

/** The top-level members whose JSON text becomes a JSON column. */
const jsonMembers = ['properties', 'traits', 'context'];

const stagedEventsTableSql = `CREATE TEMPORARY TABLE IF NOT EXISTS ${stagedEventsTable} (log_offset BIGINT, body VARCHAR)`;

/** The VARCHAR fields read from the body, by column, and the JSON path each comes from. */
const stringMembers: Record<string, string> = {
  event_id: '$.eventId',
  type: '$.type',
  event_name: '$.eventName',
  timestamp: '$.timestamp',
  original_timestamp: '$.originalTimestamp',
  sent_at: '$.sentAt',
  received_at: '$.receivedAt',
  session_id: '$.sessionId',
  user_id: '$.userId',
  anonymous_id: '$.anonymousId',
  group_id: '$.groupId',
  previous_id: '$.previousId',
  source_id: '$.sourceId',
  browser: '$.device.browser',
  browser_version: '$.device.browserVersion',
  os: '$.device.os',
  os_version: '$.device.osVersion',
  device_type: '$.device.deviceType',
  ip: '$.ip',
};
const stringPaths = Object.values(stringMembers);
const stringAt = (column: string) => `s[${stringPaths.indexOf(stringMembers[column]!) + 1}]`;

/** The times read from the body, checked together (`timesChecked`). */
const timeColumns = ['timestamp', 'original_timestamp', 'sent_at', 'received_at'];

/**
 * Whether the times are all absent or in the one form `utcTimestamp` keeps unchanged:
 * `YYYY-MM-DDTHH:MM:SS[.1 to 9 digits]Z` with every field in range. The day in its month is left to DuckDB's cast of
 * each time to TIMESTAMPTZ in the row, which fails the statement for a February 30th just as it would have failed
 * this check. Year 0000 is left to the row path, so that the two never need to agree on year zero (which has no place
 * in every calendar a database uses).
 *
 * One condition for the four times, with no CASE or cast apiece: those cost DuckDB more than the matching.
 */
function timesChecked(): string {
  const form = String.raw`\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?Z`;
  return timeColumns
    .map(stringAt)
    .map(
      (time) =>
        `(${time} IS NULL OR (regexp_full_match(${time}, '${form}') AND NOT starts_with(${time}, '0000')))`,
    )
    .join(' AND ');
}

function columnSql(name: string): string {
  if (name === 'log_offset') return 'log_offset';
  if (name === 'timestamp') return 'event_time';
  if (name === 'event_date') return 'left(event_time, 10)';
  const member = jsonMembers.indexOf(name);
  if (member >= 0) {
    // Only an object's text is sure to be the body's own when found in it: it holds quotes, which a string escapes.
    // The member stays JSON: a cast from text would parse it once more.
    const json = `j[${member + 1}]`;
    const text = `CAST(${json} AS VARCHAR)`;
    return `CASE WHEN ${json} IS NULL THEN NULL
      WHEN starts_with(${text}, '{') AND contains(body, ${text}) THEN ${json}
      ELSE error('DEEPREF_STAGED_JSON: a member DuckDB writes otherwise than JSON.stringify') END`;
  }
  return stringAt(name);
}

/**
 * The (offset, body) pairs of a packed batch (`packBodies`): $1 the offsets, or '' for the $4 offsets from $3 on, and
 * $2 the bodies. None at all should the counts differ, for a newline in a body: no error, which would abort the
 * caller's transaction, so that the batch can still go through the staging table.
 */
const packedRecords = `(
    SELECT unnest(o) AS log_offset, unnest(b) AS body
    FROM (
      SELECT CASE WHEN $1 = '' THEN range($3, $3 + $4) ELSE CAST(string_split($1, ',') AS BIGINT[]) END AS o,
        string_split(decode($2), chr(10)) AS b
    )
    WHERE len(o) = len(b)
  )`;

/**
 * The statement that turns the records of `source` (a table or a subquery of offset and body) into rows of `table`
 * (made by `eventsTableSql`), in their order (DuckDB keeps insertion order by default, `preserve_insertion_order`).
 */
function insertSql(table: string, source: string): string {
  const columns = eventColumns.map((c) => `CAST(${columnSql(c.name)} AS ${c.type})`).join(',\n  ');
  const paths = stringPaths.map((p) => `'${p}'`).join(', ');
  const members = jsonMembers.map((name) => `'$.${name}'`).join(', ');
  // The corrected time decides the partition; the receive time stands in should it be absent (as in `eventRow`).
  // Every row has an event_time, so that the times of every row are checked.
  return `INSERT INTO ${quoteIdentifier(table)}
SELECT ${columns}
FROM (
  SELECT *, CASE WHEN ${timesChecked()} THEN coalesce(${stringAt('timestamp')}, ${stringAt('received_at')})
    ELSE error('DEEPREF_STAGED_TIME: a time not in the UTC form') END AS event_time
  FROM (
    SELECT log_offset, body, json_extract_string(body, [${paths}]) AS s, json_extract(body, [${members}]) AS j
    FROM ${source}
  )
)`;
}

/** The statements by table, from packed bodies and from the staging table. */
const insertStatements = new Map<string, { packed: string; staged: string }>();

function insertStatementsFor(table: string): { packed: string; staged: string } {
  let statements = insertStatements.get(table);
  if (statements === undefined) {
    statements = { packed: insertSql(table, packedRecords), staged: insertSql(table, stagedEventsTable) };
    insertStatements.set(table, statements);
  }
  return statements;
}

/**
 * Most UTF-16 units of bodies packed into one statement (about 16,000 events of 1 kB). A statement costs DuckDB
 * about 4 ms of CPU whatever its size (measured with one record; preparing it is 0.6 ms of that), so packs are
 * large; the bound is on how long packing and binding hold up the event loop (about 10 ms) and on the memory, and
 * keeps a batch of 50,000 to a few statements.
 */
export const packChars = 16_000_000;

/** Records from `start` on, packed for the `packedRecords` statement: as many as `packChars` allows, one at least. */
interface PackedBodies {
  /** The offsets in decimal, joined by commas; '' when they run on one by one from the first. */
  offsets: string;
  /** The first offset. */
  first: number;
  /** The bodies in UTF-8, joined by newlines. */
  bodies: Buffer;
  /** The index after the last record packed. */
  end: number;
}

/**
 * The buffer bodies are packed into, kept from one statement to the next (DuckDB copies a bound value): a new buffer
 * of megabytes a statement makes V8 collect garbage far more often, external memory counting towards its limits.
 * It grows to the largest pack so far.
 */
let packBuffer = Buffer.alloc(0);

/** `packBuffer` with room for `size` bytes, keeping its first `kept`. */
function packBufferOf(size: number, kept: number): Buffer {
  if (packBuffer.length < size) {
    const larger = Buffer.allocUnsafeSlow(Math.max(size, Math.ceil(packBuffer.length * 1.5)));
    packBuffer.copy(larger, 0, 0, kept);
    packBuffer = larger;
  }
  return packBuffer;
}

function packBodies(records: readonly RawLogRecord[], start: number, maxChars: number): PackedBodies {
  let end = start;
  let chars = 0;
  while (end < records.length && (end === start || chars + records[end]!.body.length <= maxChars)) {
    chars += records[end]!.body.length;
    end++;
  }
  // Room for ASCII to start with; a body that might not fit gets room for the most its UTF-8 could take.
  let bodies = packBufferOf(chars + (end - start), 0);
  // Written body by body: joining first would make one string, two bytes a character should any body hold one
  // beyond Latin-1, which costs several times as much to encode.
  const first = records[start]!.offset;
  let consecutive = true;
  let at = 0;
  for (let r = start; r < end; r++) {
    const record = records[r]!;
    if (r > start) bodies[at++] = 0x0a;
    if (record.offset !== first + (r - start)) consecutive = false;
    const room = record.body.length * 3;
    if (bodies.length - at < room) bodies = packBufferOf(at + room + (end - r), at);
    at += bodies.write(record.body, at, 'utf8');
  }
  let offsets = '';
  if (!consecutive) {
    offsets = String(first);
    for (let r = start + 1; r < end; r++) offsets += `,${records[r]!.offset}`;
  }
  return { offsets, first, bodies: bodies.subarray(0, at), end };
}

/**
 * Inserts one row per record into `table` (made by `eventsTableSql`) on `connection`: records packed (`packBodies`)
 * `packChars` at a time into `INSERT … SELECT` statements, or, from a pack with a raw newline in a body on,
 * appended to the staging table `appendChunkRows` at a time with the event loop let through between chunks, then one
 * `INSERT … SELECT`. Joins the connection's open transaction, if any. Rejects, leaving `table` as it was only within
 * a transaction, for a record whose row it cannot make exactly as `eventRow` does (see the module comment): load
 * those through `appendEventRows`.
 *
 * Measured (CPU time per event, batches of 10,000 and 50,000 bench events of about 1 kB, each way in turn in one
 * process): 0.6 to 0.7 µs on the main thread, against 1.8 to 2.1 µs through the staging table; 9 to 14 µs in all
 * either way. Of DuckDB's share with one thread (about 8 µs for packs of 15,000 events of 1 kB), binding and splitting
 * the pack take about 2.5 µs, the two JSON readings about 3, the checks of times and members about 0.5 and writing
 * the row the rest. With two threads the same statement cost DuckDB 9 to 17 µs an event (on a busy machine).
 */
export async function insertEventsFromJson(
  connection: DuckDBConnection,
  table: string,
  records: readonly RawLogRecord[],
  maxChars = packChars,
): Promise<void> {
  const sql = insertStatementsFor(table).packed;
  for (let start = 0; start < records.length; ) {
    const statement = await connection.prepare(sql);
    let inserted: number;
    try {
      // Packed and bound with no await between: the buffer is shared.
      const packed = packBodies(records, start, maxChars);
      statement.bindVarchar(1, packed.offsets);
      statement.bindBlob(2, packed.bodies);
      statement.bindBigInt(3, BigInt(packed.first));
      statement.bindBigInt(4, BigInt(packed.end - start));
      inserted = (await statement.run()).rowsChanged;
      if (inserted > 0) start = packed.end;
    } finally {
      statement.destroySync();
    }
    if (inserted === 0) {
      // A body held a newline (never one JSON.stringify wrote): this and the remaining records one by one.
      await insertThroughStagingTable(connection, insertStatementsFor(table).staged, records.slice(start));
      return;
    }
  }
}

/** The records through the staging table, appended a record at a time: for bodies that cannot be joined by newlines. */
async function insertThroughStagingTable(
  connection: DuckDBConnection,
  insert: string,
  records: readonly RawLogRecord[],
): Promise<void> {
  await connection.run(stagedEventsTableSql);
  await connection.run(`DELETE FROM ${stagedEventsTable}`);
  try {
    const appender = await connection.createAppender(stagedEventsTable);
    try {
      for (let start = 0; start < records.length; start += appendChunkRows) {
        if (start > 0) await yieldToLoop();
        const end = Math.min(start + appendChunkRows, records.length);
        for (let r = start; r < end; r++) {
          const record = records[r]!;
          appender.appendBigInt(BigInt(record.offset));
          appender.appendVarchar(record.body);
          appender.endRow();
        }
      }
      appender.flushSync();
    } catch (error) {
      discardAppender(appender);
      throw error;
    }
    appender.closeSync();
    await connection.run(insert);
  } finally {
    await connection.run(`DELETE FROM ${stagedEventsTable}`).catch(() => undefined);
  }
}
