/**
 * Event rows into PostgreSQL: the `events` table (the columns of `eventColumns`, JSON as jsonb), range-partitioned
 * by UTC day on `timestamp`, the partitions a batch needs, and the bulk insert that skips event ids already stored.
 *
 * The partition key is `timestamp` cut at UTC day boundaries, so each partition holds exactly one `event_date`;
 * partitioning on `timestamp` rather than on the `event_date` column lets PostgreSQL prune partitions for the
 * analytics queries, which all filter on `timestamp`. The primary key (event_id, timestamp) holds the partition key
 * as PostgreSQL requires, and an event id always comes with the same time, so it still stores each event once.
 */
import type pg from 'pg';
import type { LogRecord } from '../../bus/event-log.ts';
import { type EventColumnType, type EventRowValue, eventColumns, eventRow } from '../event-columns.ts';
import { dateFromPostgres } from './postgres-results.ts';

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

const postgresTypes: Record<EventColumnType, string> = {
  BIGINT: 'bigint',
  VARCHAR: 'text',
  TIMESTAMPTZ: 'timestamptz',
  DATE: 'date',
  JSON: 'jsonb',
};

/** Never null in a stored row: the key's columns (`eventRow` falls back to the receive time for the time). */
const requiredColumns = new Set(['log_offset', 'event_id', 'timestamp', 'event_date']);

export const eventsTableSql = `CREATE TABLE IF NOT EXISTS events (${eventColumns
  .map(
    (c) =>
      `${quoteIdentifier(c.name)} ${postgresTypes[c.type]}${requiredColumns.has(c.name) ? ' NOT NULL' : ''}`,
  )
  .join(', ')}, PRIMARY KEY (event_id, "timestamp")) PARTITION BY RANGE ("timestamp")`;

/** The analytics queries select by event name and time; created on the parent, every partition gets one. */
export const eventsIndexSql =
  'CREATE INDEX IF NOT EXISTS events_name_time ON events (event_name, "timestamp")';

const isoDay = /^\d{4}-\d{2}-\d{2}$/;

/** The partition holding UTC day `day` (`YYYY-MM-DD`). */
export function partitionName(day: string): string {
  return `events_${day.replaceAll('-', '')}`;
}

/** The day a partition name stands for, or undefined for a table not made by `partitionName`. */
export function partitionDay(name: string): string | undefined {
  const match = /^events_(\d{4})(\d{2})(\d{2})$/.exec(name);
  return match === null ? undefined : `${match[1]}-${match[2]}-${match[3]}`;
}

/**
 * An ISO 8601 date or time (as `toISOString` writes it, extended years included) in PostgreSQL's input spelling,
 * the same instant: PostgreSQL has no year 0 and reads no sign, so year 0 (1 BC in the proleptic Gregorian calendar
 * both use) becomes `0001… BC`, year -1 `0002… BC`, and `+010000` is `10000`. Other text is unchanged.
 */
export function postgresTimeText(iso: string): string {
  const first = iso.charCodeAt(0);
  // Nearly every time: a four-digit year from 0001 on, read by PostgreSQL as it is.
  if (first !== 43 /* + */ && first !== 45 /* - */ && !iso.startsWith('0000-')) return iso;
  const yearEnd = iso.indexOf('-', 1);
  const year = yearEnd < 0 ? Number.NaN : Number(iso.slice(0, yearEnd));
  if (!Number.isInteger(year)) return iso;
  const rest = iso.slice(yearEnd);
  return year > 0 ? `${year}${rest}` : `${String(1 - year).padStart(4, '0')}${rest} BC`;
}

/** The midnight ending UTC day `day`, as `toISOString` writes it. */
function endOfDay(day: string): string {
  const next = new Date(`${day}T00:00:00Z`);
  next.setUTCDate(next.getUTCDate() + 1);
  return next.toISOString();
}

/** The DDL for the partition of `day`; idempotent. */
export function partitionSql(day: string): string {
  if (!isoDay.test(day)) throw new Error(`No events partition for the day "${day}"`);
  // The bounds of year 0 are BC, and the day after 9999-12-31 is in year 10000 (`+010000` to `toISOString`).
  const from = postgresTimeText(`${day}T00:00:00Z`);
  const to = postgresTimeText(endOfDay(day));
  return `CREATE TABLE IF NOT EXISTS ${partitionName(day)} PARTITION OF events
    FOR VALUES FROM ('${from}') TO ('${to}')`;
}

/** The days of the partitions `events` has in the connection's schema. */
export async function existingPartitionDays(client: pg.ClientBase): Promise<string[]> {
  const result = await client.query<{ name: string }>(
    `SELECT child.relname AS name FROM pg_inherits
       JOIN pg_class child ON child.oid = pg_inherits.inhrelid
       JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
       JOIN pg_namespace ns ON ns.oid = parent.relnamespace
     WHERE parent.relname = 'events' AND ns.nspname = current_schema()`,
  );
  return result.rows.flatMap((row) => {
    const day = partitionDay(row.name);
    return day === undefined ? [] : [day];
  });
}

/**
 * Creates the partitions for `days` in a transaction of its own, under a lock every process of this schema
 * takes, so two loaders reaching a new day at once both succeed. Kept out of the load transaction because
 * creating a partition locks the whole `events` table until commit.
 */
export async function createPartitions(client: pg.ClientBase, days: readonly string[]): Promise<void> {
  if (days.length === 0) return;
  await client.query('BEGIN');
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.events partitions'))");
    for (const day of days) await client.query(partitionSql(day));
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * An escaped NUL in JSON text (after an even run of backslashes, so not an escaped backslash followed by `u0000`):
 * JSON.stringify writes it, and jsonb refuses it.
 */
const nulJsonEscape = /(?<!\\)((?:\\\\)*)\\u0000/g;

/**
 * Text PostgreSQL can store: it has no NUL character in text and no NUL in jsonb (a lone surrogate is U+FFFD in
 * every store's JSON already, `eventRow`), and refusing the row would stop the loader at that record for good;
 * each becomes U+FFFD (the replacement character). A time or date is spelled as PostgreSQL reads it
 * (`postgresTimeText`), for the same reason.
 */
function storable(value: EventRowValue, type: EventColumnType): EventRowValue {
  if (typeof value !== 'string') return value;
  if (type === 'TIMESTAMPTZ' || type === 'DATE') return postgresTimeText(value);
  let text = value.includes('\u0000') ? value.replaceAll('\u0000', '\ufffd') : value;
  if (type === 'JSON' && text.includes('\\u0000')) text = text.replace(nulJsonEscape, '$1\\ufffd');
  return text;
}

const columnTypes = eventColumns.map((c) => c.type);

const insertSql = `INSERT INTO events (${eventColumns.map((c) => quoteIdentifier(c.name)).join(', ')})
  SELECT * FROM unnest(${eventColumns.map((c, i) => `$${i + 1}::${postgresTypes[c.type]}[]`).join(', ')})
  ON CONFLICT (event_id, "timestamp") DO NOTHING`;

/** Rows per INSERT: one statement carries each column as one array parameter. */
export const insertChunkRows = 5_000;

/** The UTC days (`YYYY-MM-DD`) of rows made by `postgresEventRows` (their `event_date`), each once. */
export function eventDays(rows: readonly EventRowValue[][]): Set<string> {
  const dateAt = eventColumns.findIndex((c) => c.name === 'event_date');
  const days = new Set<string>();
  for (const row of rows) {
    const day = row[dateAt];
    if (typeof day === 'string') days.add(dateFromPostgres(day));
  }
  return days;
}

/** The rows for `records`, in `eventColumns` order, with text PostgreSQL can store. */
export function postgresEventRows(records: readonly LogRecord[]): EventRowValue[][] {
  return records.map((record) => eventRow(record).map((value, i) => storable(value, columnTypes[i]!)));
}

/**
 * Inserts `rows` (all of whose partitions exist) on `client`, in its open transaction, `insertChunkRows` per
 * statement; a row whose event id is already stored is skipped. Returns the number of rows inserted.
 */
export async function insertEventRows(
  client: pg.ClientBase,
  rows: readonly EventRowValue[][],
): Promise<number> {
  let inserted = 0;
  for (let start = 0; start < rows.length; start += insertChunkRows) {
    const chunk = rows.slice(start, start + insertChunkRows);
    const columns = eventColumns.map((_, i) => chunk.map((row) => row[i]));
    const result = await client.query(insertSql, columns);
    inserted += result.rowCount ?? 0;
  }
  return inserted;
}
