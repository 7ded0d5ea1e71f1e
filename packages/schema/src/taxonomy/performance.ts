/**
 * Performance events (reference §1.1 "System Performance Data", §2.2): what the browser measures of the
 * user's experience, and what the servers measure of themselves. Server telemetry and error reports are
 * needed to run the service (`data_collection`); client measurements follow the user around the app
 * (`analytics`).
 */
import Type from 'typebox';
import { defineEvent } from './definition.ts';
import { Bytes, Code, Count, DurationMs, EntityId, HttpMethod, Percent, UrlString } from './fields.ts';

/** A route template such as `/api/documents/:id`: never a concrete path, which would carry ids. */
const RouteTemplate = Type.String({ minLength: 1, maxLength: 512 });
/** The service or process that measured, e.g. `api`, `worker-2`. */
const Service = Type.String({ maxLength: 128 });

export const performanceEvents = {
  page_load_time: defineEvent({
    category: 'performance',
    group: 'client',
    description: 'A full page load finished (navigation start to load event end).',
    properties: Type.Object({
      duration_ms: DurationMs,
      path: Type.Optional(UrlString),
      navigation_type: Type.Optional(Type.Enum(['navigate', 'reload', 'back_forward', 'prerender'])),
      dom_content_loaded_ms: Type.Optional(DurationMs),
      ttfb_ms: Type.Optional(DurationMs),
    }),
    purposes: ['analytics'],
  }),
  time_to_interactive: defineEvent({
    category: 'performance',
    group: 'client',
    description: 'The page became reliably interactive.',
    properties: Type.Object({
      duration_ms: DurationMs,
      path: Type.Optional(UrlString),
    }),
    purposes: ['analytics'],
  }),
  web_vital: defineEvent({
    category: 'performance',
    group: 'client',
    description:
      'One Core Web Vital as the web-vitals library reports it. `value` is in milliseconds, except CLS (unitless).',
    properties: Type.Object({
      name: Type.Enum(['FCP', 'LCP', 'INP', 'CLS', 'TTFB']),
      value: Type.Number({ minimum: 0 }),
      rating: Type.Optional(Type.Enum(['good', 'needs-improvement', 'poor'])),
      delta: Type.Optional(Type.Number()),
      /** The library's id of this metric instance, to de-duplicate reports of one page view. */
      id: Type.Optional(Type.String({ maxLength: 128 })),
      navigation_type: Type.Optional(Type.String({ maxLength: 32 })),
      path: Type.Optional(UrlString),
    }),
    purposes: ['analytics'],
  }),
  javascript_error: defineEvent({
    category: 'performance',
    group: 'client',
    description: 'An uncaught error or unhandled rejection in the browser (or one reported by the app).',
    properties: Type.Object({
      message: Type.String({ maxLength: 4096 }),
      /** e.g. `TypeError`. */
      error_type: Type.Optional(Type.String({ maxLength: 128 })),
      stack: Type.Optional(Type.String({ maxLength: 32_768 })),
      /** Script URL, line and column where it was thrown. */
      source: Type.Optional(UrlString),
      line: Type.Optional(Count),
      column: Type.Optional(Count),
      user_agent: Type.Optional(Type.String({ maxLength: 1024 })),
      handled: Type.Optional(Type.Boolean()),
    }),
    purposes: ['data_collection'],
  }),
  network_request: defineEvent({
    category: 'performance',
    group: 'client',
    description:
      'A request the browser made to the API, as the client saw it; the server side of the same call is `api_latency`. `status_code` 0 means no response (network error, CORS, abort).',
    properties: Type.Object({
      endpoint: UrlString,
      method: Type.Optional(HttpMethod),
      duration_ms: DurationMs,
      status_code: Type.Integer({ minimum: 0, maximum: 599 }),
      request_bytes: Type.Optional(Bytes),
      /** The reference's `payload_size`: bytes of the response body as transferred. */
      response_bytes: Type.Optional(Bytes),
    }),
    purposes: ['analytics'],
  }),

  api_latency: defineEvent({
    category: 'performance',
    group: 'server',
    description: 'One API request handled by a server, timed from request received to response sent.',
    properties: Type.Object({
      endpoint: RouteTemplate,
      method: HttpMethod,
      status_code: Type.Integer({ minimum: 100, maximum: 599 }),
      duration_ms: DurationMs,
      request_bytes: Type.Optional(Bytes),
      response_bytes: Type.Optional(Bytes),
      service: Type.Optional(Service),
      request_id: Type.Optional(EntityId),
      /** The exception's class on failure, e.g. `TimeoutError`; never its message. */
      error_type: Type.Optional(Type.String({ maxLength: 128 })),
    }),
    purposes: ['data_collection'],
  }),
  database_query: defineEvent({
    category: 'performance',
    group: 'server',
    description: 'One database query, by operation and table; never the SQL text or its parameters.',
    properties: Type.Object({
      operation: Type.Enum(['select', 'insert', 'update', 'delete', 'upsert', 'ddl', 'other']),
      duration_ms: DurationMs,
      table: Type.Optional(Type.String({ maxLength: 128 })),
      /** A stable name for the query in code, e.g. `documents.by_owner`. */
      query_name: Type.Optional(Type.String({ maxLength: 256 })),
      rows: Type.Optional(Count),
      success: Type.Optional(Type.Boolean()),
      service: Type.Optional(Service),
    }),
    purposes: ['data_collection'],
  }),
  cache_access: defineEvent({
    category: 'performance',
    group: 'server',
    description: 'One cache lookup; `cache_hit_rate` is the same measure summarised over an interval.',
    properties: Type.Object({
      cache: Code,
      hit: Type.Boolean(),
      operation: Type.Optional(Type.Enum(['get', 'set', 'delete'])),
      duration_ms: Type.Optional(DurationMs),
      service: Type.Optional(Service),
    }),
    purposes: ['data_collection'],
  }),
  cache_hit_rate: defineEvent({
    category: 'performance',
    group: 'server',
    description: "A cache's hits and misses over an interval, reported periodically.",
    properties: Type.Object({
      cache: Code,
      hit_rate_percent: Percent,
      hits: Count,
      misses: Count,
      interval_ms: Type.Optional(DurationMs),
      service: Type.Optional(Service),
    }),
    purposes: ['data_collection'],
  }),
  resource_usage: defineEvent({
    category: 'performance',
    group: 'server',
    description: "A periodic sample of a server process's resources.",
    properties: Type.Object({
      /** Of all cores of the host, 0 to 100. */
      cpu_percent: Percent,
      /** Resident set size in megabytes. */
      memory_mb: Type.Number({ minimum: 0 }),
      concurrent_requests: Count,
      concurrent_users: Type.Optional(Count),
      heap_used_mb: Type.Optional(Type.Number({ minimum: 0 })),
      event_loop_lag_ms: Type.Optional(DurationMs),
      db_connections: Type.Optional(Count),
      service: Type.Optional(Service),
      instance: Type.Optional(Type.String({ maxLength: 256 })),
    }),
    purposes: ['data_collection'],
  }),
};
