/**
 * Backfill: events that arrive more than the backfill horizon after their own time (a historical import,
 * `deepref demo --days 30`, a replay of old dead letters) are not re-stamped into the live windows. The engine
 * notes the UTC days they fell on; once the warehouse holds them, each such day's windows are computed again from
 * every event the warehouse has for it, by the same jobs on a fresh engine, and written over the old rows
 * (the result sinks are idempotent by job, key and window end). DESIGN.md, "Event time".
 */
import { lastStorableMillis, type StoredEvent } from '@deepref/schema';
import type { LogRecord } from '../bus/event-log.ts';
import type { Warehouse } from '../storage/warehouse.ts';
import { StreamEngine } from './stream-engine.ts';
import type { AnyStreamJob, WindowResult } from './stream-job.ts';
import type { WindowSpec } from './windows.ts';

export const DAY_MS = 86_400_000;

/** How far before its end a window (with the windows it reads, for derived jobs) can reach back for input. */
function reach(window: WindowSpec): number {
  switch (window.kind) {
    case 'tumbling':
    case 'hopping':
    case 'sliding':
      return window.sizeMs;
    case 'session':
      return window.maxDurationMs + window.timeoutMs;
  }
}

/**
 * The margin read on each side of a day: the sum of every job's reach bounds any chain of derived jobs, so a
 * window ending inside the day sees all its input, and a session ending inside it cannot be extended by an event
 * outside what was read.
 */
export function backfillMargin(jobs: readonly AnyStreamJob[]): number {
  return jobs.reduce((sum, job) => sum + reach(job.window), 0);
}

const columns =
  'event_id, type, event_name, timestamp, received_at, session_id, user_id, anonymous_id, properties, context';

/**
 * The rows of every window of `jobs` that ends within the UTC day starting at `day`, from the warehouse's events.
 * Each row is final: computed from all the events its window (and the windows it reads) covers.
 */
export async function recomputeDay(
  jobs: readonly AnyStreamJob[],
  warehouse: Pick<Warehouse, 'query'>,
  day: number,
): Promise<WindowResult[]> {
  const margin = backfillMargin(jobs);
  // Dates, which each warehouse binds in its own spelling (PostgreSQL reads years 0000 and before only as BC). The
  // end stays within year 9999, the last any stored time is in: DuckDB reads no year 10000.
  const from = new Date(day - margin);
  const to = new Date(Math.min(day + DAY_MS + margin, lastStorableMillis));
  const result = await warehouse.query(
    `SELECT ${columns} FROM events
     WHERE timestamp > CAST($1 AS TIMESTAMPTZ) AND timestamp <= CAST($2 AS TIMESTAMPTZ)
     ORDER BY timestamp, log_offset`,
    [from, to],
  );
  // Every event is on time to this engine: stamped at its own time, taken in time order, never backfill.
  const engine = new StreamEngine(jobs, {
    backfillHorizonMs: Number.POSITIVE_INFINITY,
    lateArrivalToleranceMs: 0,
    outOfOrderToleranceMs: 0,
  });
  const records: LogRecord[] = result.rows.map((row, i) => ({ offset: i + 1, event: eventOf(row) }));
  const rows = [...engine.process(records), ...engine.finish()];
  return rows.filter((row) => row.windowEnd > day && row.windowEnd <= day + DAY_MS);
}

/** A warehouse row as the event the jobs read (the fields they use; arrival is the event's own time). */
function eventOf(row: unknown[]): StoredEvent {
  const [eventId, type, eventName, timestamp, , sessionId, userId, anonymousId, properties, context] = row;
  const event: Record<string, unknown> = {
    eventId,
    type,
    eventName,
    timestamp,
    receivedAt: timestamp,
    properties: properties ?? {},
    context: context ?? {},
  };
  if (sessionId != null) event.sessionId = sessionId;
  if (userId != null) event.userId = userId;
  if (anonymousId != null) event.anonymousId = anonymousId;
  return event as unknown as StoredEvent;
}
