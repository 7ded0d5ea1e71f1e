/**
 * DuckDB result values as JSON-friendly JS, for the query API: big integers become numbers when exact (else
 * strings), timestamps ISO 8601 strings in UTC, dates `YYYY-MM-DD`, JSON columns parsed values.
 */
import {
  arrayFromArrayValue,
  arrayFromListValue,
  createDuckDBValueConverter,
  DuckDBDecimalType,
  DuckDBDecimalValue,
  type DuckDBResultReader,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTypeId,
  type DuckDBValue,
  type DuckDBValueConverter,
  fromVariantValue,
  objectArrayFromMapValue,
  objectFromStructValue,
  objectFromUnionValue,
} from '@duckdb/node-api';
import type { QueryResult } from '../warehouse.ts';
// Text read back whole: a leading U+FEFF included.
import './duckdb-text.ts';

const maxDateMs = 8_640_000_000_000_000n;

function integer(value: DuckDBValue): number | string {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : String(value);
}

function float(value: DuckDBValue): number | string {
  const n = Number(value);
  return Number.isFinite(n) ? n : String(n);
}

/** Microseconds since the epoch as ISO 8601, keeping sub-millisecond digits when there are any. */
export function isoFromMicros(micros: bigint): string {
  let ms = micros / 1000n;
  let rest = micros % 1000n;
  if (rest < 0n) {
    ms -= 1n;
    rest += 1000n;
  }
  const iso = new Date(Number(ms)).toISOString();
  return rest === 0n ? iso : `${iso.slice(0, -1)}${String(rest).padStart(3, '0')}Z`;
}

function timestamp(value: DuckDBValue): string {
  let micros: bigint | undefined;
  if (value instanceof DuckDBTimestampTZValue || value instanceof DuckDBTimestampValue) {
    micros = value.isFinite ? value.micros : undefined;
  } else if (value instanceof DuckDBTimestampMillisecondsValue) {
    micros = value.isFinite ? value.millis * 1000n : undefined;
  } else if (value instanceof DuckDBTimestampSecondsValue) {
    micros = value.isFinite ? value.seconds * 1_000_000n : undefined;
  } else if (value instanceof DuckDBTimestampNanosecondsValue) {
    micros = value.isFinite ? value.nanos / 1000n : undefined;
  }
  // Infinities and years beyond what a JS Date holds keep DuckDB's own spelling.
  if (micros === undefined || micros / 1000n > maxDateMs || micros / 1000n < -maxDateMs) return String(value);
  return isoFromMicros(micros);
}

function parsedJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export const jsonFriendlyConverter: DuckDBValueConverter<unknown> = createDuckDBValueConverter<unknown>({
  [DuckDBTypeId.BOOLEAN]: (value) => Boolean(value),
  [DuckDBTypeId.TINYINT]: (value) => Number(value),
  [DuckDBTypeId.SMALLINT]: (value) => Number(value),
  [DuckDBTypeId.INTEGER]: (value) => Number(value),
  [DuckDBTypeId.UTINYINT]: (value) => Number(value),
  [DuckDBTypeId.USMALLINT]: (value) => Number(value),
  [DuckDBTypeId.UINTEGER]: (value) => Number(value),
  [DuckDBTypeId.BIGINT]: integer,
  [DuckDBTypeId.UBIGINT]: integer,
  [DuckDBTypeId.HUGEINT]: integer,
  [DuckDBTypeId.UHUGEINT]: integer,
  [DuckDBTypeId.BIGNUM]: integer,
  [DuckDBTypeId.FLOAT]: float,
  [DuckDBTypeId.DOUBLE]: float,
  [DuckDBTypeId.DECIMAL]: (value, type) =>
    // Up to 15 significant digits a double is exact; wider decimals keep their digits as text.
    value instanceof DuckDBDecimalValue && type instanceof DuckDBDecimalType && type.width <= 15
      ? value.toDouble()
      : String(value),
  [DuckDBTypeId.TIMESTAMP]: timestamp,
  [DuckDBTypeId.TIMESTAMP_TZ]: timestamp,
  [DuckDBTypeId.TIMESTAMP_S]: timestamp,
  [DuckDBTypeId.TIMESTAMP_MS]: timestamp,
  [DuckDBTypeId.TIMESTAMP_NS]: timestamp,
  [DuckDBTypeId.VARCHAR]: (value, type) =>
    type.alias === 'JSON' ? parsedJson(String(value)) : String(value),
  [DuckDBTypeId.LIST]: arrayFromListValue,
  [DuckDBTypeId.ARRAY]: arrayFromArrayValue,
  [DuckDBTypeId.STRUCT]: objectFromStructValue,
  [DuckDBTypeId.MAP]: objectArrayFromMapValue,
  [DuckDBTypeId.UNION]: objectFromUnionValue,
  [DuckDBTypeId.VARIANT]: fromVariantValue,
  [DuckDBTypeId.SQLNULL]: () => null,
  [DuckDBTypeId.INVALID]: undefined,
  [DuckDBTypeId.ANY]: undefined,
  [DuckDBTypeId.STRING_LITERAL]: undefined,
  [DuckDBTypeId.INTEGER_LITERAL]: undefined,
  // DATE, TIME, INTERVAL, UUID, ENUM, BLOB, BIT, GEOMETRY: DuckDB's own text.
  [DuckDBTypeId.DATE]: String,
  [DuckDBTypeId.TIME]: String,
  [DuckDBTypeId.TIME_TZ]: String,
  [DuckDBTypeId.TIME_NS]: String,
  [DuckDBTypeId.INTERVAL]: String,
  [DuckDBTypeId.UUID]: String,
  [DuckDBTypeId.ENUM]: String,
  [DuckDBTypeId.BLOB]: String,
  [DuckDBTypeId.BIT]: String,
  [DuckDBTypeId.GEOMETRY]: String,
});

/** The reader's rows (already read) as a `QueryResult`. */
export function queryResult(reader: DuckDBResultReader, maxRows = Number.POSITIVE_INFINITY): QueryResult {
  const rows = reader.convertRows(jsonFriendlyConverter) as unknown[][];
  // Values reach the converter with their vector's type, which has lost the JSON alias; the result's column
  // types keep it, so top-level JSON columns are parsed here (JSON nested in a list or struct stays text).
  const jsonColumns = reader
    .columnTypes()
    .flatMap((type, i) => (type.typeId === DuckDBTypeId.VARCHAR && type.alias === 'JSON' ? [i] : []));
  for (const row of rows) {
    for (const i of jsonColumns) {
      const value = row[i];
      if (typeof value === 'string') row[i] = parsedJson(value);
    }
  }
  const result: QueryResult = { columns: reader.columnNames(), rows };
  if (rows.length > maxRows) {
    result.rows = rows.slice(0, maxRows);
    result.truncated = true;
  }
  return result;
}
