/**
 * Performance (reference §2.2): per API endpoint and method, from the servers' `api_latency` events, requests,
 * average / p95 / p99 latency, error rate and requests per second; per page, from the browsers' `web_vital`
 * events, the 75th percentile of FCP, LCP, INP, CLS and TTFB (the threshold Core Web Vitals are judged at).
 * Percentiles are continuous (linear interpolation between the two nearest ranks: `quantile_cont` in DuckDB,
 * `percentile_cont` in PostgreSQL), so both engines give the same number; the stream job's live p95/p99 is a
 * DDSketch estimate within 1% of it.
 */
import type { Warehouse } from '../storage/warehouse.ts';
import { inRangeSql, queryRows, type RangeScope, rangeScope } from './range-query.ts';
import {
  compareText,
  numberOf,
  numericProperty,
  percentileSql,
  type SqlDialect,
  type TimeRange,
} from './sql.ts';

export interface EndpointPerformance {
  endpoint: string;
  method: string;
  requests: number;
  avgLatencyMs: number;
  p95LatencyMs: number;
  p99LatencyMs: number;
  /** Share of requests answered with status ≥ 500 (as the `api_metrics` stream job counts errors). */
  errorRate: number;
  /** requests / seconds of the range. */
  requestsPerSecond: number;
}

export type WebVitalName = 'FCP' | 'LCP' | 'INP' | 'CLS' | 'TTFB';

export const webVitalNames: readonly WebVitalName[] = ['FCP', 'LCP', 'INP', 'CLS', 'TTFB'];

export interface PageVitals {
  /** The page path (`path` of the event), or null when the event did not say. */
  path: string | null;
  /** Per metric: the 75th percentile (ms; CLS unitless) and the number of reports, null p75 when none. */
  metrics: Record<WebVitalName, { p75: number | null; samples: number }>;
}

export interface PerformanceResult {
  from: string;
  to: string;
  /** Most requests first. */
  endpoints: EndpointPerformance[];
  /** Every page together first (`path` null in `all`), then each page, most reports first. */
  webVitals: { all: PageVitals; pages: PageVitals[] };
}

/** Endpoint and page performance over a range; throws DEEPREF_BAD_REQUEST for a bad range. */
export async function performanceReport(
  warehouse: Pick<Warehouse, 'query'>,
  range: TimeRange,
  dialect: SqlDialect,
): Promise<PerformanceResult> {
  const scope = rangeScope(warehouse, range, dialect);
  const [endpoints, webVitals] = await Promise.all([apiPerformance(scope), pageVitals(scope)]);
  return { from: scope.from.toISOString(), to: scope.to.toISOString(), endpoints, webVitals };
}

async function apiPerformance(scope: RangeScope): Promise<EndpointPerformance[]> {
  const { dialect, from, to } = scope;
  const rows = await queryRows(scope, (params) => {
    const endpoint = dialect.property('properties', 'endpoint', params);
    const method = dialect.property('properties', 'method', params);
    const latency = numericProperty(dialect, 'properties', 'duration_ms', params);
    const status = numericProperty(dialect, 'properties', 'status_code', params);
    return `SELECT ${endpoint} AS endpoint, ${method} AS method, count(*) AS requests,
      avg(${latency}) AS avg_ms, ${percentileSql(dialect, latency, 0.95)} AS p95_ms,
      ${percentileSql(dialect, latency, 0.99)} AS p99_ms,
      count(CASE WHEN ${status} >= 500 THEN 1 END) AS errors
    FROM events
    WHERE event_name = ${params.add('api_latency')} AND ${inRangeSql(scope, params)}
    GROUP BY 1, 2`;
  });
  const seconds = (to.getTime() - from.getTime()) / 1000;
  return rows
    .map((row) => {
      const requests = numberOf(row.requests);
      return {
        endpoint: String(row.endpoint),
        method: String(row.method),
        requests,
        avgLatencyMs: numberOf(row.avg_ms),
        p95LatencyMs: numberOf(row.p95_ms),
        p99LatencyMs: numberOf(row.p99_ms),
        errorRate: numberOf(row.errors) / requests,
        requestsPerSecond: requests / seconds,
      };
    })
    .sort((a, b) => b.requests - a.requests || compareText(a.endpoint + a.method, b.endpoint + b.method));
}

function emptyVitals(path: string | null): PageVitals {
  const metrics = {} as PageVitals['metrics'];
  for (const name of webVitalNames) metrics[name] = { p75: null, samples: 0 };
  return { path, metrics };
}

async function pageVitals(scope: RangeScope): Promise<{ all: PageVitals; pages: PageVitals[] }> {
  const { dialect } = scope;
  const rows = await queryRows(scope, (params) => {
    const path = dialect.property('properties', 'path', params);
    const name = dialect.property('properties', 'name', params);
    const value = numericProperty(dialect, 'properties', 'value', params);
    return `WITH vitals AS (
      SELECT ${path} AS path, ${name} AS name, ${value} AS value FROM events
      WHERE event_name = ${params.add('web_vital')} AND ${inRangeSql(scope, params)}
    )
    SELECT 'page' AS kind, path, name, count(*) AS samples, ${percentileSql(dialect, 'value', 0.75)} AS p75
    FROM vitals GROUP BY path, name
    UNION ALL
    SELECT 'all', NULL, name, count(*), ${percentileSql(dialect, 'value', 0.75)} FROM vitals GROUP BY name`;
  });
  const all = emptyVitals(null);
  const pages = new Map<string | null, PageVitals & { samples: number }>();
  for (const row of rows) {
    const metric = String(row.name) as WebVitalName;
    if (!webVitalNames.includes(metric)) continue;
    const figures = { p75: row.p75 === null ? null : Number(row.p75), samples: numberOf(row.samples) };
    if (row.kind === 'all') {
      all.metrics[metric] = figures;
      continue;
    }
    const key = row.path === null ? null : String(row.path);
    const page = pages.get(key) ?? { ...emptyVitals(key), samples: 0 };
    page.metrics[metric] = figures;
    page.samples += figures.samples;
    pages.set(key, page);
  }
  return {
    all,
    pages: [...pages.values()]
      .sort((a, b) => b.samples - a.samples || compareText(String(a.path), String(b.path)))
      .map(({ path: pagePath, metrics }) => ({ path: pagePath, metrics })),
  };
}
