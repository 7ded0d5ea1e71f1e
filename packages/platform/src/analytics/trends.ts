/**
 * Trends: how many times an event happened and how many people did it, per hour, day, week or month, optionally
 * split by one property, optionally beside the previous period of the same length.
 */
import { DeeprefError } from '../errors.ts';
import type { Warehouse } from '../storage/warehouse.ts';
import { inRangeSql, queryRows, type RangeScope, rangeScope } from './range-query.ts';
import {
  checkEventName,
  checkPropertyName,
  numberOf,
  personSql,
  type SqlDialect,
  type SqlParams,
  type TimeRange,
  type TimeUnit,
  timeUnits,
} from './sql.ts';

export interface TrendsQuery extends TimeRange {
  event: string;
  interval: TimeUnit;
  /** A property of the event to split by; events without it fall in the `null` series. */
  breakdown?: string;
  /** Also compute the period of the same length just before `from`. */
  compare?: boolean;
}

export interface TrendPoint {
  /** Start of the bucket, ISO 8601 UTC. */
  bucket: string;
  count: number;
  /** Distinct people (user id, else anonymous id) in the bucket. */
  users: number;
}

export interface TrendSeries {
  /** The breakdown property's value (as text), or null: no breakdown, or events without the property. */
  breakdownValue: string | null;
  /** One point per bucket of the range, empty buckets included (zeros). */
  points: TrendPoint[];
  /** Events and distinct people over the whole range (people are not the sum of the buckets). */
  total: { count: number; users: number };
}

export interface TrendsPeriod {
  from: string;
  to: string;
  series: TrendSeries[];
}

export interface TrendsResult extends TrendsPeriod {
  interval: TimeUnit;
  previous?: TrendsPeriod;
}

/** The most buckets one trend returns (a year of hours is too many; a year of days is fine). */
export const maxTrendBuckets = 2000;

/** `time` cut down to the start of its UTC hour, day, ISO week (Monday) or month, as DuckDB's date_trunc does. */
export function truncateUtc(time: Date, unit: TimeUnit): Date {
  const t = new Date(time.getTime());
  if (unit === 'month') return new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), 1));
  t.setUTCMinutes(0, 0, 0);
  if (unit === 'hour') return t;
  t.setUTCHours(0);
  if (unit === 'day') return t;
  const sinceMonday = (t.getUTCDay() + 6) % 7;
  t.setUTCDate(t.getUTCDate() - sinceMonday);
  return t;
}

function nextBucket(time: Date, unit: TimeUnit): Date {
  const t = new Date(time.getTime());
  if (unit === 'hour') t.setUTCHours(t.getUTCHours() + 1);
  else if (unit === 'day') t.setUTCDate(t.getUTCDate() + 1);
  else if (unit === 'week') t.setUTCDate(t.getUTCDate() + 7);
  else t.setUTCMonth(t.getUTCMonth() + 1);
  return t;
}

/** Bucket starts covering [from, to): the first is `from` truncated. */
export function bucketStarts(from: Date, to: Date, unit: TimeUnit): string[] {
  const starts: string[] = [];
  for (let t = truncateUtc(from, unit); t < to; t = nextBucket(t, unit)) {
    starts.push(t.toISOString());
    if (starts.length > maxTrendBuckets) {
      throw new DeeprefError('DEEPREF_BAD_REQUEST', {
        detail: `The range holds more than ${maxTrendBuckets} ${unit}s; choose a shorter range or a longer interval`,
      });
    }
  }
  return starts;
}

/** Per bucket, and (bucket NULL) over the whole range: distinct people do not add up across buckets. */
function periodSql(scope: RangeScope, query: TrendsQuery, params: SqlParams): string {
  const { dialect } = scope;
  const breakdown =
    query.breakdown === undefined
      ? 'CAST(NULL AS VARCHAR)'
      : dialect.property('properties', query.breakdown, params);
  return `
    WITH matched AS (
      SELECT ${dialect.truncate(query.interval, 'timestamp')} AS bucket, ${breakdown} AS breakdown_value,
             ${personSql} AS person
      FROM events
      WHERE event_name = ${params.add(query.event)} AND ${inRangeSql(scope, params)}
    )
    SELECT bucket, breakdown_value, count(*) AS n, count(DISTINCT person) AS users
    FROM matched GROUP BY bucket, breakdown_value
    UNION ALL
    SELECT NULL, breakdown_value, count(*), count(DISTINCT person)
    FROM matched GROUP BY breakdown_value`;
}

async function period(scope: RangeScope, query: TrendsQuery): Promise<TrendsPeriod> {
  const { from, to } = scope;
  const buckets = bucketStarts(from, to, query.interval);
  const rows = await queryRows(scope, (params) => periodSql(scope, query, params));
  const series = new Map<string | null, TrendSeries>();
  const seriesOf = (value: string | null): TrendSeries => {
    let found = series.get(value);
    if (found === undefined) {
      found = {
        breakdownValue: value,
        points: buckets.map((bucket) => ({ bucket, count: 0, users: 0 })),
        total: { count: 0, users: 0 },
      };
      series.set(value, found);
    }
    return found;
  };
  const index = new Map(buckets.map((bucket, i) => [bucket, i]));
  for (const row of rows) {
    const s = seriesOf(row.breakdown_value === null ? null : String(row.breakdown_value));
    const counts = { count: numberOf(row.n), users: numberOf(row.users) };
    if (row.bucket === null) {
      s.total = counts;
    } else {
      const point = s.points[index.get(String(row.bucket)) ?? -1];
      if (point !== undefined) Object.assign(point, counts);
    }
  }
  if (series.size === 0) seriesOf(null);
  const ordered = [...series.values()].sort(
    (a, b) =>
      b.total.count - a.total.count || String(a.breakdownValue).localeCompare(String(b.breakdownValue)),
  );
  return { from: from.toISOString(), to: to.toISOString(), series: ordered };
}

/** Runs a trend query; throws DEEPREF_BAD_REQUEST for a bad range, interval, event or property name. */
export async function trends(
  warehouse: Warehouse,
  query: TrendsQuery,
  dialect: SqlDialect,
): Promise<TrendsResult> {
  const scope = rangeScope(warehouse, query, dialect);
  checkEventName(query.event);
  if (!timeUnits.includes(query.interval)) {
    throw new DeeprefError('DEEPREF_BAD_REQUEST', {
      detail: `The interval must be one of ${timeUnits.join(', ')}`,
    });
  }
  if (query.breakdown !== undefined) checkPropertyName(query.breakdown, 'breakdown');
  const current = await period(scope, query);
  const result: TrendsResult = { interval: query.interval, ...current };
  if (query.compare === true) {
    const { from, to } = scope;
    const span = to.getTime() - from.getTime();
    result.previous = await period({ ...scope, from: new Date(from.getTime() - span), to: from }, query);
  }
  return result;
}
