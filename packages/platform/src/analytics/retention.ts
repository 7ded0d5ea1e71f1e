/**
 * Retention cohorts (reference §6.2): people grouped by the week of their first signup; for each cohort, the
 * share who came back (did the return event) in week 1, 2, 4, 8 and 12 after it. Weeks are calendar weeks
 * (ISO, Monday 00:00 UTC): week N of a cohort is the Nth week after its signup week.
 */
import { DeeprefError } from '../errors.ts';
import type { Warehouse } from '../storage/warehouse.ts';
import {
  checkEventName,
  checkPropertyName,
  checkRange,
  numberOf,
  personSql,
  rowObjects,
  type SqlDialect,
  SqlParams,
  type TimeRange,
} from './sql.ts';
import { truncateUtc } from './trends.ts';

export interface RetentionQuery extends TimeRange {
  /** The event that puts a person in a cohort, at its first occurrence (default `signup`). */
  cohortEvent?: string;
  /** The event that counts as coming back; any event when absent. */
  returnEvent?: string;
  /** Weeks after the signup week to report (default 1, 2, 4, 8, 12). */
  weeks?: number[];
  /** A property of the cohort event to split cohorts by, e.g. `plan` for free/paid/enterprise segments. */
  segmentBy?: string;
  /** Data is complete up to this time (default now): a week starting at or after it is reported as null. */
  observedUntil?: string;
}

export interface RetentionCohort {
  /** Monday 00:00 UTC of the signup week. */
  week: string;
  segment: string | null;
  /** People whose first cohort event falls in the week (and the range). */
  size: number;
  /** Per requested week: people who came back that week, and their share of `size`; null if not yet observed. */
  retained: { week: number; people: number | null; rate: number | null }[];
}

export interface RetentionResult {
  from: string;
  to: string;
  weeks: number[];
  cohorts: RetentionCohort[];
}

export const defaultRetentionWeeks: readonly number[] = [1, 2, 4, 8, 12];

const weekSeconds = 7 * 86_400;
const weekMs = weekSeconds * 1000;

function checkWeeks(weeks: number[]): number[] {
  if (
    weeks.length === 0 ||
    weeks.length > 53 ||
    weeks.some((w) => !Number.isInteger(w) || w < 0 || w > 520)
  ) {
    throw new DeeprefError('DEEPREF_BAD_REQUEST', {
      detail: 'Retention weeks must be 1 to 53 whole numbers from 0 to 520',
    });
  }
  return [...new Set(weeks)].sort((a, b) => a - b);
}

/** Runs a retention query; throws DEEPREF_BAD_REQUEST for a bad range, event, weeks or property name. */
export async function retention(
  warehouse: Warehouse,
  query: RetentionQuery,
  dialect: SqlDialect,
): Promise<RetentionResult> {
  const { from, to } = checkRange(query);
  const cohortEvent = checkEventName(query.cohortEvent ?? 'signup');
  if (query.returnEvent !== undefined) checkEventName(query.returnEvent);
  const weeks = checkWeeks(query.weeks ?? [...defaultRetentionWeeks]);
  if (query.segmentBy !== undefined) checkPropertyName(query.segmentBy, 'segment');
  const observedUntil = query.observedUntil === undefined ? new Date() : new Date(query.observedUntil);
  if (Number.isNaN(observedUntil.getTime())) {
    throw new DeeprefError('DEEPREF_BAD_REQUEST', { detail: '`observedUntil` must be an ISO 8601 time' });
  }
  const lastWeek = weeks.at(-1) ?? 0;

  const params = new SqlParams();
  const segment =
    query.segmentBy === undefined
      ? 'CAST(NULL AS VARCHAR)'
      : dialect.property('properties', query.segmentBy, params);
  const cohortName = params.add(cohortEvent);
  // People whose first cohort event ever is in the range: a second signup does not move anybody to a new cohort.
  const firsts = `firsts AS (
      SELECT ${personSql} AS person, min(timestamp) AS first_at, ${dialect.firstBy(segment, 'timestamp')} AS segment
      FROM events
      WHERE event_name = ${cohortName} AND ${personSql} IS NOT NULL
      GROUP BY ${personSql}
    )`;
  const fromAt = dialect.timestamp(params.add(from.toISOString()));
  const toAt = dialect.timestamp(params.add(to.toISOString()));
  const cohorts = `cohorts AS (
      SELECT person, segment, ${dialect.truncate('week', 'first_at')} AS cohort_week
      FROM firsts
      WHERE first_at >= ${fromAt} AND first_at < ${toAt}
    )`;
  const returnFilter =
    query.returnEvent === undefined ? '' : `AND event_name = ${params.add(query.returnEvent)}`;
  const horizon = params.add((lastWeek + 1) * weekSeconds);
  const weekList = weeks.map((w) => params.add(w)).join(', ');
  // The weeks each person was active in, reduced before the join: far fewer rows than the events themselves.
  const activeWeeks = `active_weeks AS (
      SELECT DISTINCT ${personSql} AS person, ${dialect.truncate('week', 'timestamp')} AS active_week
      FROM events
      WHERE timestamp >= ${dialect.truncate('week', fromAt)}
        AND timestamp < ${dialect.addSeconds(toAt, horizon)}
        AND ${personSql} IS NOT NULL
        ${returnFilter}
    )`;
  // Week number: whole weeks between the cohort's Monday and the active week's Monday.
  const activity = `activity AS (
      SELECT c.person,
        CAST(round((${dialect.epochSeconds('a.active_week')} - ${dialect.epochSeconds('c.cohort_week')}) / ${weekSeconds}) AS INTEGER) AS week_number
      FROM cohorts c
      JOIN active_weeks a ON a.person = c.person AND a.active_week >= c.cohort_week
    )`;
  const sql = `WITH ${firsts}, ${cohorts}, ${activeWeeks}, ${activity}
    SELECT c.cohort_week, c.segment, NULL AS week_number, count(*) AS people
    FROM cohorts c GROUP BY c.cohort_week, c.segment
    UNION ALL
    SELECT c.cohort_week, c.segment, a.week_number, count(*)
    FROM cohorts c JOIN activity a ON a.person = c.person
    WHERE a.week_number IN (${weekList})
    GROUP BY c.cohort_week, c.segment, a.week_number`;
  const rows = rowObjects(await warehouse.query(sql, params.values));

  const byKey = new Map<string, RetentionCohort & { counts: Map<number, number> }>();
  const keyOf = (row: Record<string, unknown>) => `${String(row.cohort_week)}\u0000${String(row.segment)}`;
  for (const row of rows) {
    if (row.week_number !== null) continue;
    byKey.set(keyOf(row), {
      week: String(row.cohort_week),
      segment: row.segment === null ? null : String(row.segment),
      size: numberOf(row.people),
      retained: [],
      counts: new Map(),
    });
  }
  for (const row of rows) {
    if (row.week_number === null) continue;
    byKey.get(keyOf(row))?.counts.set(numberOf(row.week_number), numberOf(row.people));
  }
  const result: RetentionCohort[] = [];
  for (const { counts, ...cohort } of byKey.values()) {
    const start = new Date(cohort.week).getTime();
    cohort.retained = weeks.map((week) => {
      if (start + week * weekMs >= observedUntil.getTime()) return { week, people: null, rate: null };
      const people = counts.get(week) ?? 0;
      return { week, people, rate: cohort.size === 0 ? 0 : people / cohort.size };
    });
    result.push(cohort);
  }
  result.sort((a, b) => a.week.localeCompare(b.week) || String(a.segment).localeCompare(String(b.segment)));
  return { from: from.toISOString(), to: to.toISOString(), weeks, cohorts: result };
}

/** Monday 00:00 UTC of the week holding `time` (the cohort a signup at `time` belongs to). */
export function cohortWeek(time: Date): string {
  return truncateUtc(time, 'week').toISOString();
}
