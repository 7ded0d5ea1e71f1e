/**
 * The real-time cards of the reference §6.1: active users in the last 5 minutes, API latency per endpoint in the
 * last minute, and the API error rate in the last hour. The first two come from the stream jobs' rows in the
 * `RealtimeStore` when one is given (`active_users`, `api_metrics`: see docs/stream-jobs.md), else from the
 * warehouse. The error rate always comes from the warehouse: the store keeps only each key's latest minute.
 */

import type { Warehouse } from '../storage/warehouse.ts';
import type { RealtimeStore } from '../stream/realtime/realtime-store.ts';
import { realtimeIndexKey, realtimeRowKey, rowFromFields } from '../stream/sinks/realtime-sink.ts';
import {
  numberOf,
  numericProperty,
  percentileSql,
  personSql,
  rowObjects,
  type SqlDialect,
  SqlParams,
} from './sql.ts';

export interface RealtimeSources {
  warehouse: Pick<Warehouse, 'query'>;
  /** The stream jobs' live rows; absent, every card reads the warehouse. */
  realtime?: RealtimeStore;
  /** The cards' "now" (default the current time). */
  now?: Date;
}

export type CardSource = 'stream' | 'warehouse';

export interface ActiveUsersCard {
  /** Distinct people (user id, else anonymous id) with an event in (windowEnd − 5 min, windowEnd]. */
  activeUsers: number;
  windowEnd: string | null;
  source: CardSource;
}

export interface EndpointLatency {
  endpoint: string;
  method: string;
  requests: number;
  avgLatencyMs: number | null;
  p95LatencyMs: number | null;
  /** End of the minute the figures cover, ISO 8601. */
  windowEnd: string;
}

export interface ApiLatencyCard {
  /** One row per endpoint and method, most requests first. */
  endpoints: EndpointLatency[];
  source: CardSource;
}

export interface ErrorRateCard {
  /** `api_latency` events in (now − 1 h, now]. */
  requests: number;
  /** Of them, status ≥ 500 (server errors, as the `api_metrics` stream job counts them). */
  serverErrors: number;
  /** Of them, status 400–499 (the reference's card counts these as errors too; shown apart here). */
  clientErrors: number;
  /** serverErrors / requests (0 when there were none). */
  errorRate: number;
  from: string;
  to: string;
  source: CardSource;
}

export interface RealtimeCards {
  activeUsers: ActiveUsersCard;
  apiLatency: ApiLatencyCard;
  errorRate: ErrorRateCard;
}

export const activeUsersWindowMs = 5 * 60_000;
export const apiLatencyWindowMs = 60_000;
export const errorRateWindowMs = 3_600_000;
/**
 * A stream row is shown while its window ended at most this long ago: a minute window closes only once the
 * watermark passes its end (plus the late-arrival tolerance), so the newest row is usually 1–2 minutes old.
 */
export const streamRowFreshMs = 3 * 60_000;

/** The three cards, each from its source; see the module comment. */
export async function realtimeCards(sources: RealtimeSources, dialect: SqlDialect): Promise<RealtimeCards> {
  const now = sources.now ?? new Date();
  const [activeUsers, apiLatency, errorRate] = await Promise.all([
    activeUsersCard(sources, now, dialect),
    apiLatencyCard(sources, now, dialect),
    errorRateCard(sources.warehouse, now, dialect),
  ]);
  return { activeUsers, apiLatency, errorRate };
}

/** Window (end − span, end] as bound parameters over `timestamp`. */
function windowSql(dialect: SqlDialect, params: SqlParams, end: Date, spanMs: number): string {
  const from = new Date(end.getTime() - spanMs).toISOString();
  return `timestamp > ${dialect.timestamp(params.add(from))} AND timestamp <= ${dialect.timestamp(params.add(end.toISOString()))}`;
}

async function activeUsersCard(
  sources: RealtimeSources,
  now: Date,
  dialect: SqlDialect,
): Promise<ActiveUsersCard> {
  if (sources.realtime !== undefined) {
    const row = rowFromFields(
      'active_users',
      '',
      await sources.realtime.hgetall(realtimeRowKey('active_users', '')),
    );
    if (row !== undefined && row.windowEnd > now.getTime() - streamRowFreshMs) {
      return {
        activeUsers: numberOf(row.values.activeUsers),
        windowEnd: new Date(row.windowEnd).toISOString(),
        source: 'stream',
      };
    }
    return { activeUsers: 0, windowEnd: null, source: 'stream' };
  }
  const params = new SqlParams();
  const sql = `SELECT count(DISTINCT ${personSql}) AS people FROM events
    WHERE ${windowSql(dialect, params, now, activeUsersWindowMs)}`;
  const [row] = rowObjects(await sources.warehouse.query(sql, params.values));
  return { activeUsers: numberOf(row?.people), windowEnd: now.toISOString(), source: 'warehouse' };
}

function byRequests(a: EndpointLatency, b: EndpointLatency): number {
  return b.requests - a.requests || a.endpoint.localeCompare(b.endpoint) || a.method.localeCompare(b.method);
}

function numberOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

async function apiLatencyCard(
  sources: RealtimeSources,
  now: Date,
  dialect: SqlDialect,
): Promise<ApiLatencyCard> {
  if (sources.realtime !== undefined) {
    const store = sources.realtime;
    const since = now.getTime() - streamRowFreshMs;
    const keys = await store.zrangeByScore(realtimeIndexKey('api_metrics'), since, Number.POSITIVE_INFINITY);
    const endpoints: EndpointLatency[] = [];
    for (const key of keys) {
      const row = rowFromFields('api_metrics', key, await store.hgetall(realtimeRowKey('api_metrics', key)));
      // A key whose row expired can linger in the index until the next trim.
      if (row === undefined) continue;
      endpoints.push({
        endpoint: String(row.group.endpoint),
        method: String(row.group.method),
        requests: numberOf(row.values.requests),
        avgLatencyMs: numberOrNull(row.values.avgLatencyMs),
        p95LatencyMs: numberOrNull(row.values.p95LatencyMs),
        windowEnd: new Date(row.windowEnd).toISOString(),
      });
    }
    return { endpoints: endpoints.sort(byRequests), source: 'stream' };
  }
  const params = new SqlParams();
  const endpoint = dialect.property('properties', 'endpoint', params);
  const method = dialect.property('properties', 'method', params);
  const latency = numericProperty(dialect, 'properties', 'duration_ms', params);
  const sql = `SELECT ${endpoint} AS endpoint, ${method} AS method, count(*) AS requests,
      avg(${latency}) AS avg_ms, ${percentileSql(dialect, latency, 0.95)} AS p95_ms
    FROM events
    WHERE event_name = ${params.add('api_latency')} AND ${windowSql(dialect, params, now, apiLatencyWindowMs)}
    GROUP BY 1, 2`;
  const rows = rowObjects(await sources.warehouse.query(sql, params.values));
  const endpoints = rows.map((row) => ({
    endpoint: String(row.endpoint),
    method: String(row.method),
    requests: numberOf(row.requests),
    avgLatencyMs: numberOrNull(row.avg_ms),
    p95LatencyMs: numberOrNull(row.p95_ms),
    windowEnd: now.toISOString(),
  }));
  return { endpoints: endpoints.sort(byRequests), source: 'warehouse' };
}

async function errorRateCard(
  warehouse: Pick<Warehouse, 'query'>,
  now: Date,
  dialect: SqlDialect,
): Promise<ErrorRateCard> {
  const params = new SqlParams();
  const status = numericProperty(dialect, 'properties', 'status_code', params);
  const sql = `SELECT count(*) AS requests,
      count(CASE WHEN ${status} >= 500 THEN 1 END) AS server_errors,
      count(CASE WHEN ${status} >= 400 AND ${status} < 500 THEN 1 END) AS client_errors
    FROM events
    WHERE event_name = ${params.add('api_latency')} AND ${windowSql(dialect, params, now, errorRateWindowMs)}`;
  const [row] = rowObjects(await warehouse.query(sql, params.values));
  const requests = numberOf(row?.requests);
  const serverErrors = numberOf(row?.server_errors);
  return {
    requests,
    serverErrors,
    clientErrors: numberOf(row?.client_errors),
    errorRate: requests === 0 ? 0 : serverErrors / requests,
    from: new Date(now.getTime() - errorRateWindowMs).toISOString(),
    to: now.toISOString(),
    source: 'warehouse',
  };
}
