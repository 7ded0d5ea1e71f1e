/**
 * PostgreSQL result values as the same JSON-friendly JS the DuckDB adapter gives: integers as numbers when exact
 * (else strings), numerics as numbers (integral ones beyond 2^53 as strings), timestamps ISO 8601 in UTC with the
 * DuckDB adapter's precision (milliseconds, plus microseconds when there are any), dates `YYYY-MM-DD`, JSON parsed.
 * The parsers belong to the adapter's pool alone; pg's global parsers stay as they are for everyone else.
 */
import pg from 'pg';
import type { QueryResult } from '../warehouse.ts';

/** PostgreSQL type oids (pg_type.oid), fixed for built-in types. */
const oid = {
  int8: 20,
  numeric: 1700,
  float4: 700,
  float8: 701,
  date: 1082,
  timestamp: 1114,
  timestamptz: 1184,
  int8Array: 1016,
  numericArray: 1231,
  float8Array: 1022,
  float4Array: 1021,
  timestampArray: 1115,
  timestamptzArray: 1185,
  dateArray: 1182,
} as const;

function integer(text: string): number | string {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
}

/** A numeric as a double, as DuckDB gives averages and ratios; an integral one beyond 2^53 keeps its digits. */
function numeric(text: string): number | string {
  const n = Number(text);
  if (!Number.isFinite(n)) return text;
  if (Number.isInteger(n) && !Number.isSafeInteger(n) && !text.includes('.')) return text;
  return n;
}

/** Infinity and NaN are not JSON: they keep their spelling, as in the DuckDB adapter. */
function float(text: string): number | string {
  const n = Number(text);
  return Number.isFinite(n) ? n : text;
}

const timestampText = /^(\d{4,6})(-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?(?:\+00(?::00)?)?( BC)?$/;

/** A proleptic Gregorian year as `toISOString` writes it: four digits from 0 to 9999, else signed six digits. */
function isoYear(year: number): string {
  if (year >= 0 && year <= 9999) return String(year).padStart(4, '0');
  return `${year < 0 ? '-' : '+'}${String(Math.abs(year)).padStart(6, '0')}`;
}

/**
 * PostgreSQL's text for a timestamp (the session is in UTC, so a timestamptz ends in `+00`) as ISO 8601, as the
 * DuckDB adapter gives it: `.000Z` when whole seconds, six fraction digits when below a millisecond; n BC is the
 * year 1 - n (1 BC is year 0000), and a year past 9999 is signed (`+010000`). Infinities keep PostgreSQL's text.
 */
export function isoFromPostgresTimestamp(text: string): string {
  const match = timestampText.exec(text);
  if (match === null) return text;
  const fraction = (match[4] ?? '').padEnd(6, '0');
  const micros = fraction.slice(3) === '000' ? fraction.slice(0, 3) : fraction;
  const year = Number(match[1]);
  return `${isoYear(match[5] === undefined ? year : 1 - year)}${match[2]}T${match[3]}.${micros}Z`;
}

/**
 * PostgreSQL's text for a date: a day of 1 BC as year 0000, which is how the row spelled it and how the DuckDB
 * adapter gives it back. Earlier BC days keep PostgreSQL's text; no stored event falls on them.
 */
export function dateFromPostgres(text: string): string {
  return text.startsWith('0001-') && text.endsWith(' BC') ? `0000${text.slice(4, -3)}` : text;
}

function arrayOf(transform: (text: string) => unknown): (text: string) => unknown[] {
  // pg-types' typings call arrayParser a function; at run time it is an object with create().
  const parser = pg.types.arrayParser as unknown as {
    create(source: string, transform: (entry: string | null) => unknown): { parse(): unknown[] };
  };
  return (text) => parser.create(text, (entry) => (entry === null ? null : transform(entry))).parse();
}

const parsers = new Map<number, (text: string) => unknown>([
  [oid.int8, integer],
  [oid.numeric, numeric],
  [oid.float4, float],
  [oid.float8, float],
  [oid.date, dateFromPostgres],
  [oid.timestamp, isoFromPostgresTimestamp],
  [oid.timestamptz, isoFromPostgresTimestamp],
  [oid.int8Array, arrayOf(integer)],
  [oid.numericArray, arrayOf(numeric)],
  [oid.float4Array, arrayOf(float)],
  [oid.float8Array, arrayOf(float)],
  [oid.dateArray, arrayOf(dateFromPostgres)],
  [oid.timestampArray, arrayOf(isoFromPostgresTimestamp)],
  [oid.timestamptzArray, arrayOf(isoFromPostgresTimestamp)],
]);

/** The pool's `types` option: the parsers above, pg's own (booleans, int4, JSON, …) for the rest. */
export const jsonFriendlyTypes: pg.CustomTypesConfig = {
  getTypeParser: ((typeId: number, format?: string) =>
    (format === undefined || format === 'text') && parsers.has(typeId)
      ? parsers.get(typeId)
      : pg.types.getTypeParser(typeId, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

/** A pg result (rows as arrays) as a `QueryResult`, cut at `maxRows` with `truncated` set when longer. */
export function queryResult(result: pg.QueryArrayResult, maxRows = Number.POSITIVE_INFINITY): QueryResult {
  const columns = (result.fields ?? []).map((field) => field.name);
  const rows = result.rows ?? [];
  const out: QueryResult = { columns, rows };
  if (rows.length > maxRows) {
    out.rows = rows.slice(0, maxRows);
    out.truncated = true;
  }
  return out;
}
