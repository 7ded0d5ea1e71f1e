/**
 * Event rows into DuckDB from the log's JSON text: each record goes into a staging table as its offset and its body
 * (two appended values instead of the 24 of `appendEventRows`, duckdb-event-rows.ts), and one `INSERT … SELECT` with
 * DuckDB's JSON functions makes the typed rows on DuckDB's threads. Nothing is parsed in JavaScript.
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

/**
 * A time as `utcTimestamp` keeps it, for the one form it keeps unchanged: `YYYY-MM-DDTHH:MM:SS[.1 to 9 digits]Z`
 * with every field in range (the day in its month by DuckDB's own cast). Year 0000 is left out: `utcTimestamp`
 * judges February by `Date.UTC`, which reads year 0 as 1900. Anything else fails the statement.
 */
function utcTime(text: string): string {
  const form = String.raw`\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?Z`;
  return `CASE WHEN ${text} IS NULL THEN NULL
    WHEN regexp_full_match(${text}, '${form}') AND NOT starts_with(${text}, '0000')
      AND try_cast(${text} AS TIMESTAMPTZ) IS NOT NULL THEN ${text}
    ELSE error('DEEPREF_STAGED_TIME: a time not in the UTC form') END`;
}

function columnSql(name: string): string {
  if (name === 'log_offset') return 'log_offset';
  if (name === 'timestamp') return 'event_time';
  if (name === 'event_date') return 'left(event_time, 10)';
  const member = jsonMembers.indexOf(name);
  if (member >= 0) {
    // Only an object's text is sure to be the body's own when found in it: it holds quotes, which a string escapes.
    const text = `CAST(j[${member + 1}] AS VARCHAR)`;
    return `CASE WHEN ${text} IS NULL THEN NULL
      WHEN starts_with(${text}, '{') AND contains(body, ${text}) THEN ${text}
      ELSE error('DEEPREF_STAGED_JSON: a member DuckDB writes otherwise than JSON.stringify') END`;
  }
  if (name === 'original_timestamp' || name === 'sent_at' || name === 'received_at')
    return utcTime(stringAt(name));
  return stringAt(name);
}

/**
 * The statement that turns the staged records into rows of `table` (made by `eventsTableSql`), in the order they were
 * staged (DuckDB keeps insertion order by default, `preserve_insertion_order`).
 */
function insertSql(table: string): string {
  const columns = eventColumns.map((c) => `CAST(${columnSql(c.name)} AS ${c.type})`).join(',\n  ');
  const paths = stringPaths.map((p) => `'${p}'`).join(', ');
  const members = jsonMembers.map((name) => `'$.${name}'`).join(', ');
  // The corrected time decides the partition; the receive time stands in should it be absent (as in `eventRow`).
  return `INSERT INTO ${quoteIdentifier(table)}
SELECT ${columns}
FROM (
  SELECT *, coalesce(${utcTime(stringAt('timestamp'))}, ${utcTime(stringAt('received_at'))}) AS event_time
  FROM (
    SELECT log_offset, body, json_extract_string(body, [${paths}]) AS s, json_extract(body, [${members}]) AS j
    FROM ${stagedEventsTable}
  )
)`;
}

const insertStatements = new Map<string, string>();

/**
 * Inserts one row per record into `table` (made by `eventsTableSql`) on `connection`, through the staging table:
 * appended `appendChunkRows` at a time with the event loop let through between chunks, then one `INSERT … SELECT`.
 * Joins the connection's open transaction, if any. Rejects, leaving `table` as it was only within a transaction, for
 * a record whose row it cannot make exactly as `eventRow` does (see the module comment): load those through
 * `appendEventRows`.
 */
export async function insertEventsFromJson(
  connection: DuckDBConnection,
  table: string,
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
    let sql = insertStatements.get(table);
    if (sql === undefined) {
      sql = insertSql(table);
      insertStatements.set(table, sql);
    }
    await connection.run(sql);
  } finally {
    await connection.run(`DELETE FROM ${stagedEventsTable}`).catch(() => undefined);
  }
}
