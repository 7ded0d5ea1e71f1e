/**
 * The one table shape every event sink shares (warehouse `events`, lake Parquet files): the column list with its
 * types, and the mapping of a log record onto one row of plain values. A sink only decides how to move the rows.
 */
import {
  dateTimeForm,
  decimalDigits,
  firstStorableMillis,
  lastStorableMillis,
  type StoredEvent,
} from '@deepref/schema';
import type { LogRecord } from '../bus/event-log.ts';

/** Column types in DuckDB's spelling; another engine maps them onto its own (PostgreSQL: jsonb for JSON). */
export type EventColumnType = 'BIGINT' | 'VARCHAR' | 'TIMESTAMPTZ' | 'DATE' | 'JSON';

export interface EventColumn {
  name: string;
  type: EventColumnType;
}

/**
 * Row values: BIGINT as a number, TIMESTAMPTZ as an ISO 8601 string in UTC (`…Z`), DATE as `YYYY-MM-DD`,
 * JSON as its text, VARCHAR as a string; null for an absent value.
 */
export type EventRowValue = number | string | null;

/**
 * In row order. `log_offset` is the event log's offset (`offset` is a reserved word in SQL); `timestamp` is the
 * skew-corrected event time and `event_date` its UTC date, the lake's partition key.
 */
export const eventColumns: readonly EventColumn[] = [
  { name: 'log_offset', type: 'BIGINT' },
  { name: 'event_id', type: 'VARCHAR' },
  { name: 'type', type: 'VARCHAR' },
  { name: 'event_name', type: 'VARCHAR' },
  { name: 'timestamp', type: 'TIMESTAMPTZ' },
  { name: 'original_timestamp', type: 'TIMESTAMPTZ' },
  { name: 'sent_at', type: 'TIMESTAMPTZ' },
  { name: 'received_at', type: 'TIMESTAMPTZ' },
  { name: 'event_date', type: 'DATE' },
  { name: 'session_id', type: 'VARCHAR' },
  { name: 'user_id', type: 'VARCHAR' },
  { name: 'anonymous_id', type: 'VARCHAR' },
  { name: 'group_id', type: 'VARCHAR' },
  { name: 'previous_id', type: 'VARCHAR' },
  { name: 'source_id', type: 'VARCHAR' },
  { name: 'properties', type: 'JSON' },
  { name: 'traits', type: 'JSON' },
  { name: 'context', type: 'JSON' },
  { name: 'browser', type: 'VARCHAR' },
  { name: 'browser_version', type: 'VARCHAR' },
  { name: 'os', type: 'VARCHAR' },
  { name: 'os_version', type: 'VARCHAR' },
  { name: 'device_type', type: 'VARCHAR' },
  { name: 'ip', type: 'VARCHAR' },
];

/** The lake's partition column. */
export const partitionColumn = 'event_date';

/**
 * Whether `time` is written `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (what the server writes, `Date#toISOString`):
 * 'valid', 'out-of-range' (a February 30th or a leap second: both pass a date-time format check, and a database
 * refuses them), or 'other' (another offset or no time at all). Hand-written rather than a regular expression
 * because it runs four times per event on the load path.
 */
function utcForm(time: string): 'valid' | 'out-of-range' | 'other' {
  const length = time.length;
  if (length < 20 || length > 30 || time.charCodeAt(length - 1) !== 90 /* Z */) return 'other';
  if (
    length > 20 &&
    (time.charCodeAt(19) !== 46 /* . */ || length === 21 || decimalDigits(time, 20, length - 21) < 0)
  )
    return 'other';
  return dateTimeForm(time);
}

/**
 * An RFC 3339 time as ISO 8601 in UTC. A time already in UTC is kept as it is (sub-millisecond digits included);
 * one with another offset is converted through `Date` (to millisecond precision). Unreadable or out-of-range
 * input gives null, so a malformed time can never stop a load.
 */
export function utcTimestamp(time: string | undefined): string | null {
  if (time === undefined) return null;
  const form = utcForm(time);
  if (form !== 'other') return form === 'valid' ? time : null;
  const ms = Date.parse(time);
  // NaN, or past the years 0000 to 9999 (`-000001-…`, `+010000-…`), which no warehouse loads.
  return ms >= firstStorableMillis && ms <= lastStorableMillis ? new Date(ms).toISOString() : null;
}

/**
 * An escaped surrogate in JSON text (after an even run of backslashes, so not an escaped backslash followed by
 * `ud800`): JSON.stringify writes a surrogate as an escape only when it is alone, and writes pairs as they are.
 */
const loneSurrogateEscape = /(?<!\\)((?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/g;

/**
 * A JSON column's text. A lone surrogate (which the collector keeps in properties, context and traits) becomes
 * U+FFFD: it has no UTF-8 form, PostgreSQL's jsonb refuses it, and DuckDB's JSON reader refuses it when reading, so
 * that one such event failed every query reading a property over its rows and every read of its lake file
 * (compaction, erasure, retention). The log keeps the event as it came.
 */
function json(value: object | undefined): string | null {
  if (value === undefined) return null;
  const text = JSON.stringify(value);
  return text.includes('\\ud') ? text.replace(loneSurrogateEscape, '$1\\ufffd') : text;
}

/** The row for one log record, in `eventColumns` order. */
export function eventRow(record: LogRecord): EventRowValue[] {
  const e: StoredEvent = record.event;
  // The corrected time decides the partition; the receive time stands in should it ever be unreadable.
  const timestamp = utcTimestamp(e.timestamp) ?? utcTimestamp(e.receivedAt);
  return [
    record.offset,
    e.eventId,
    e.type,
    e.eventName,
    timestamp,
    utcTimestamp(e.originalTimestamp),
    utcTimestamp(e.sentAt),
    utcTimestamp(e.receivedAt),
    timestamp === null ? null : timestamp.slice(0, 10),
    e.sessionId ?? null,
    e.userId ?? null,
    e.anonymousId ?? null,
    e.groupId ?? null,
    e.previousId ?? null,
    e.sourceId,
    json(e.properties),
    json(e.traits),
    json(e.context),
    e.device.browser ?? null,
    e.device.browserVersion ?? null,
    e.device.os ?? null,
    e.device.osVersion ?? null,
    e.device.deviceType ?? null,
    e.ip ?? null,
  ];
}
