/**
 * The analytics REST API, GET /api/v1/analytics/...: the analytics library over HTTP for the dashboard and for
 * programs. Every route needs a reader, declares its query and answer as TypeBox schemas (hence validation and
 * the OpenAPI page), and turns a bad parameter into a 400 with a DEEPREF_* code. The list is in docs/api.md.
 */
import { daysInMonth, isRegisteredEvent } from '@deepref/schema';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type, { type TSchema } from 'typebox';
import { aiMetrics } from '../analytics/ai-metrics.ts';
import { behaviourCohorts } from '../analytics/behaviour-cohorts.ts';
import { analyzeExperiment } from '../analytics/experiments.ts';
import { featureAdoption } from '../analytics/feature-adoption.ts';
import { funnel, onboardingFunnel, trialToPaidFunnel } from '../analytics/funnels.ts';
import { paths } from '../analytics/paths.ts';
import { performanceReport } from '../analytics/performance.ts';
import { realtimeCards } from '../analytics/realtime.ts';
import { retention } from '../analytics/retention.ts';
import { revenue } from '../analytics/revenue.ts';
import {
  compareText,
  numberOf,
  rowObjects,
  type SqlDialect,
  SqlParams,
  type TimeUnit,
} from '../analytics/sql.ts';
import { trends } from '../analytics/trends.ts';
import { userProfile } from '../analytics/user-profile.ts';
import { DeeprefError } from '../errors.ts';
import type { Warehouse } from '../storage/warehouse.ts';
import type { RealtimeStore } from '../stream/realtime/realtime-store.ts';
import type { ReaderHook } from './auth/auth.ts';
import { experimentCounts, listExperiments } from './experiment-exposures.ts';

export interface AnalyticsDeps {
  warehouse: Warehouse;
  /** The warehouse's SQL dialect (adapters.ts `warehouseDialect`): every query here is written in it. */
  dialect: SqlDialect;
  /** The stream jobs' live rows, for the real-time cards (else they read the warehouse). */
  realtime?: RealtimeStore;
  requireReader: ReaderHook;
  /** The platform runs `--strict`: event names outside the taxonomy are refused here too. */
  strict: boolean;
  now?: () => Date;
}

const defaultDays = 30;
const maxDays = 3660;
const maxEventNames = 1000;
/** Bounds the rows read when a great many names tie at the cut (each seen equally often). */
const maxTiedEventNames = 20 * maxEventNames;
const prefix = '/api/v1/analytics';

// ---- parameters ----

const isoTime = (description: string) => Type.Optional(Type.String({ maxLength: 40, description }));
const Range = {
  from: isoTime('Start, inclusive, ISO 8601 (default: `to` − 30 days)'),
  to: isoTime('End, exclusive, ISO 8601 (default: now)'),
};
const Interval = {
  interval: Type.Optional(
    Type.Enum(['hour', 'day', 'week', 'month'], { description: 'Bucket size (default day)' }),
  ),
};
const EventName = (description: string) => Type.String({ minLength: 1, maxLength: 256, description });
const PropertyName = (description: string) => Type.Optional(Type.String({ maxLength: 64, description }));
const EventList = (description: string) =>
  Type.String({ minLength: 1, maxLength: 20 * 257, pattern: '^[^,]+(,[^,]+)*$', description });
const WindowHours = Type.Optional(
  Type.Number({
    exclusiveMinimum: 0,
    maximum: 365 * 24,
    description: 'Conversion window from step 1, in hours (default 336 = 14 days)',
  }),
);

/** ISO 8601 as the routes take it: a date, or a date and time with an optional fraction and zone. */
const isoForm =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})?)?$/;

/**
 * The instant `text` names; undefined when it is not in `isoForm` or names a day or time no calendar has (which
 * `Date.parse` would roll over: 30 February is 2 March).
 */
function isoInstant(text: string): Date | undefined {
  const match = isoForm.exec(text);
  if (!match) return undefined;
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = match
    .slice(1, 7)
    .map((field) => (field === undefined ? 0 : Number(field)));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const time = Date.parse(text);
  return Number.isNaN(time) ? undefined : new Date(time);
}

/**
 * The times a query may reach, buckets included: PostgreSQL has no year 0, and a week or a month bucket after a
 * time late in 9999 starts in year 10000, which neither warehouse reads back.
 */
const earliestTime = new Date('0001-01-01T00:00:00Z');
const latestTime = new Date('9999-01-01T00:00:00Z');

/** A time parameter read by `isoInstant`, or DEEPREF_BAD_DATE_RANGE naming it. */
function timeParameter(name: string, text: string): Date {
  const time = isoInstant(text);
  if (!time) {
    throw new DeeprefError('DEEPREF_BAD_DATE_RANGE', {
      detail: `\`${name}\` (${text}) is not an ISO 8601 date or time, e.g. 2026-11-01 or 2026-11-01T00:00:00Z`,
    });
  }
  return time;
}

/** Refuses a time outside the queryable ones (`earliestTime`, `latestTime`). */
function checkQueryable(name: string, time: Date): void {
  if (time < earliestTime || time > latestTime) {
    throw new DeeprefError('DEEPREF_BAD_DATE_RANGE', {
      detail: `\`${name}\` (${time.toISOString()}) is outside ${earliestTime.toISOString()} to ${latestTime.toISOString()}`,
    });
  }
}

// ---- answers ----

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const ErrorAnswer = Type.Object({ error: Type.Object({ code: Type.String(), message: Type.String() }) });
const errors = { 400: ErrorAnswer, 401: ErrorAnswer, 403: ErrorAnswer };

const TrendsPeriod = {
  from: Type.String(),
  to: Type.String(),
  series: Type.Array(
    Type.Object({
      breakdownValue: Nullable(Type.String()),
      points: Type.Array(Type.Object({ bucket: Type.String(), count: Type.Number(), users: Type.Number() })),
      total: Type.Object({ count: Type.Number(), users: Type.Number() }),
    }),
  ),
};
const TrendsAnswer = Type.Object({
  interval: Type.String(),
  ...TrendsPeriod,
  previous: Type.Optional(Type.Object(TrendsPeriod)),
});
const FunnelAnswer = Type.Object({
  from: Type.String(),
  to: Type.String(),
  windowSeconds: Type.Number(),
  breakdowns: Type.Array(
    Type.Object({
      breakdownValue: Nullable(Type.String()),
      steps: Type.Array(
        Type.Object({
          event: Type.String(),
          count: Type.Number(),
          conversionFromStart: Type.Number(),
          conversionFromPrevious: Type.Number(),
          dropOff: Type.Number(),
          medianSecondsFromPrevious: Nullable(Type.Number()),
        }),
      ),
    }),
  ),
});
const RetentionAnswer = Type.Object({
  from: Type.String(),
  to: Type.String(),
  weeks: Type.Array(Type.Number()),
  cohorts: Type.Array(
    Type.Object({
      week: Type.String(),
      segment: Nullable(Type.String()),
      size: Type.Number(),
      retained: Type.Array(
        Type.Object({ week: Type.Number(), people: Nullable(Type.Number()), rate: Nullable(Type.Number()) }),
      ),
    }),
  ),
});
const EventsAnswer = Type.Object({
  from: Type.String(),
  to: Type.String(),
  events: Type.Array(Type.Object({ name: Type.String(), count: Type.Number(), registered: Type.Boolean() })),
});
const ExperimentsAnswer = Type.Object({
  from: Type.String(),
  to: Type.String(),
  experiments: Type.Array(
    Type.Object({
      name: Type.String(),
      variants: Type.Array(Type.Object({ name: Type.String(), users: Type.Number() })),
      users: Type.Number(),
      firstSeen: Type.String(),
      lastSeen: Type.String(),
    }),
  ),
});
const ExperimentAnswer = Type.Object({
  name: Type.String(),
  from: Type.String(),
  to: Type.String(),
  conversionEvent: Type.String(),
  control: Type.String(),
  variants: Type.Array(
    Type.Object({
      name: Type.String(),
      users: Type.Number(),
      conversions: Type.Number(),
      rate: Type.Number(),
      vsControl: Type.Optional(
        Type.Object({
          absoluteLift: Type.Number(),
          relativeLift: Nullable(Type.Number()),
          z: Type.Number(),
          pValue: Type.Number(),
          ci95: Type.Array(Type.Number(), { minItems: 2, maxItems: 2 }),
          significant: Type.Boolean(),
        }),
      ),
    }),
  ),
  sampleRatio: Type.Object({
    chiSquare: Type.Number(),
    degreesOfFreedom: Type.Number(),
    pValue: Type.Number(),
    mismatch: Type.Boolean(),
  }),
});

/** Read routes take a session cookie or a read API key. */
export const readerSecurity: { [scheme: string]: string[] }[] = [{ session: [] }, { apiKey: [] }];

/** The answer of an analytics module, documented by its result type (named in the description). */
const ModuleAnswer = (type: string) =>
  Type.Object({}, { additionalProperties: true, description: `${type} of packages/platform/src/analytics/` });

const docs = (summary: string) => ({ tags: ['analytics'], summary, security: readerSecurity });

export async function analyticsRoutes(parent: FastifyInstance, deps: AnalyticsDeps): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const now = deps.now ?? (() => new Date());
  const { warehouse, dialect } = deps;
  app.addHook('onRequest', deps.requireReader);
  app.setSchemaErrorFormatter(
    (issues, dataVar) =>
      new DeeprefError('DEEPREF_INVALID_QUERY', {
        detail: [
          ...new Set(
            issues.map((issue) => {
              const allowed = (issue.params as { allowedValues?: unknown[] }).allowedValues;
              return `${dataVar}${issue.instancePath} ${issue.message}${allowed ? ` (${allowed.join(', ')})` : ''}`;
            }),
          ),
        ].join('; '),
      }),
  );

  /** The range of `from`/`to` (default: the last 30 days up to now), checked. */
  const rangeOf = (query: { from?: string; to?: string }): { from: Date; to: Date } => {
    const to = query.to === undefined ? now() : timeParameter('to', query.to);
    const from =
      query.from === undefined
        ? new Date(to.getTime() - defaultDays * 86_400_000)
        : timeParameter('from', query.from);
    checkQueryable('from', from);
    checkQueryable('to', to);
    if (from >= to) {
      throw new DeeprefError('DEEPREF_BAD_DATE_RANGE', {
        detail: `\`from\` (${from.toISOString()}) must be before \`to\` (${to.toISOString()})`,
      });
    }
    if (to.getTime() - from.getTime() > maxDays * 86_400_000) {
      throw new DeeprefError('DEEPREF_BAD_DATE_RANGE', {
        detail: `it is longer than ${maxDays} days; choose a shorter one`,
      });
    }
    return { from, to };
  };
  const iso = (range: { from: Date; to: Date }) => ({
    from: range.from.toISOString(),
    to: range.to.toISOString(),
  });
  /** An event name, refused in strict mode when it is not registered. */
  const eventName = (name: string): string => {
    if (deps.strict && !isRegisteredEvent(name))
      throw new DeeprefError('DEEPREF_UNKNOWN_EVENT', { event: name });
    return name;
  };
  const eventList = (list: string) => list.split(',').map((name) => eventName(name.trim()));
  const windowSeconds = (hours: number | undefined) => (hours === undefined ? undefined : hours * 3600);

  app.get(
    `${prefix}/events`,
    {
      schema: {
        ...docs('Event names seen in the range with their counts, most frequent first (for pickers)'),
        querystring: Type.Object(Range),
        response: { 200: EventsAnswer, ...errors },
      },
    },
    async (request) => {
      const range = rangeOf(request.query);
      const params = new SqlParams();
      // Names tied at the cut all come back (rank, not row number) and are ordered here: the engines' text
      // collations differ, so a SQL tie-break by name would pick different names on each.
      const sql = `WITH counted AS (
          SELECT event_name, count(*) AS n FROM events
          WHERE timestamp >= ${dialect.timestamp(params.add(range.from.toISOString()))}
            AND timestamp < ${dialect.timestamp(params.add(range.to.toISOString()))}
          GROUP BY event_name
        ), ranked AS (SELECT event_name, n, rank() OVER (ORDER BY n DESC) AS place FROM counted)
        SELECT event_name, n FROM ranked WHERE place <= ${maxEventNames}
        ORDER BY n DESC LIMIT ${maxTiedEventNames}`;
      const events = rowObjects(await warehouse.query(sql, params.values))
        .map((row) => ({ name: String(row.event_name), count: numberOf(row.n) }))
        .sort((a, b) => b.count - a.count || compareText(a.name, b.name))
        .slice(0, maxEventNames);
      return {
        ...iso(range),
        events: events.map((e) => ({ ...e, registered: isRegisteredEvent(e.name) })),
      };
    },
  );

  app.get(
    `${prefix}/trends`,
    {
      schema: {
        ...docs('Counts and distinct people of one event per bucket, optionally split and compared'),
        querystring: Type.Object({
          event: EventName('The event to count'),
          ...Range,
          ...Interval,
          breakdown: PropertyName('A property of the event to split by'),
          compare: Type.Optional(Type.Boolean({ description: 'Also return the period just before' })),
        }),
        response: { 200: TrendsAnswer, ...errors },
      },
    },
    async (request) => {
      const { event, interval = 'day', breakdown, compare } = request.query;
      return trends(
        warehouse,
        {
          ...iso(rangeOf(request.query)),
          event: eventName(event),
          interval: interval as TimeUnit,
          breakdown,
          compare,
        },
        dialect,
      );
    },
  );

  app.get(
    `${prefix}/funnels`,
    {
      schema: {
        ...docs('A funnel over the given steps'),
        querystring: Type.Object({
          steps: EventList('Event names in order, comma-separated, 2 to 20'),
          windowHours: WindowHours,
          ...Range,
          breakdown: PropertyName('A property of the step-1 event to split by'),
        }),
        response: { 200: FunnelAnswer, ...errors },
      },
    },
    async (request) => {
      const { steps, windowHours = 14 * 24, breakdown } = request.query;
      return funnel(
        warehouse,
        {
          ...iso(rangeOf(request.query)),
          steps: eventList(steps),
          windowSeconds: windowHours * 3600,
          breakdown,
        },
        dialect,
      );
    },
  );

  const builtInFunnel = {
    querystring: Type.Object({
      windowHours: WindowHours,
      ...Range,
      breakdown: PropertyName('A property of the step-1 event to split by'),
    }),
    response: { 200: FunnelAnswer, ...errors },
  };
  for (const [path, summary, builtIn] of [
    ['trial-to-paid', 'The trial-to-paid funnel (reference §6.2)', trialToPaidFunnel],
    ['onboarding', 'The onboarding funnel (reference §6.4)', onboardingFunnel],
  ] as const) {
    app.get(
      `${prefix}/funnels/${path}`,
      { schema: { ...docs(summary), ...builtInFunnel } },
      async (request) =>
        builtIn(
          warehouse,
          {
            ...iso(rangeOf(request.query)),
            windowSeconds: windowSeconds(request.query.windowHours),
            breakdown: request.query.breakdown,
          },
          dialect,
        ),
    );
  }

  app.get(
    `${prefix}/retention`,
    {
      schema: {
        ...docs('Weekly retention cohorts by first cohort event'),
        querystring: Type.Object({
          ...Range,
          cohortEvent: Type.Optional(EventName('The event that starts a cohort (default signup)')),
          returnEvent: Type.Optional(EventName('The event that counts as coming back (default: any)')),
          weeks: Type.Optional(
            Type.String({
              pattern: '^[0-9]{1,3}(,[0-9]{1,3}){0,52}$',
              description: 'Weeks after the signup week, comma-separated (default 1,2,4,8,12)',
            }),
          ),
          segmentBy: PropertyName('A property of the cohort event to split cohorts by'),
        }),
        response: { 200: RetentionAnswer, ...errors },
      },
    },
    async (request) => {
      const { cohortEvent, returnEvent, weeks, segmentBy } = request.query;
      return retention(
        warehouse,
        {
          ...iso(rangeOf(request.query)),
          cohortEvent: cohortEvent === undefined ? undefined : eventName(cohortEvent),
          returnEvent: returnEvent === undefined ? undefined : eventName(returnEvent),
          weeks: weeks?.split(',').map(Number),
          segmentBy,
          observedUntil: now().toISOString(),
        },
        dialect,
      );
    },
  );

  app.get(
    `${prefix}/experiments`,
    {
      schema: {
        ...docs('Experiments with exposures (experiment_exposure events) in the range'),
        querystring: Type.Object(Range),
        response: { 200: ExperimentsAnswer, ...errors },
      },
    },
    async (request) => {
      const range = rangeOf(request.query);
      return { ...iso(range), experiments: await listExperiments(warehouse, range, dialect) };
    },
  );

  app.get(
    `${prefix}/experiments/:name`,
    {
      schema: {
        ...docs('An experiment read-out: conversion per variant, lift, z-test, 95% interval, sample ratio'),
        params: Type.Object({ name: Type.String({ minLength: 1, maxLength: 256 }) }),
        querystring: Type.Object({
          ...Range,
          conversionEvent: Type.Optional(EventName('The conversion (default subscription_complete)')),
          control: Type.Optional(
            Type.String({ minLength: 1, maxLength: 256, description: 'The control variant' }),
          ),
        }),
        response: { 200: ExperimentAnswer, 404: ErrorAnswer, ...errors },
      },
    },
    async (request) => {
      const range = rangeOf(request.query);
      const { name } = request.params;
      const conversionEvent = eventName(request.query.conversionEvent ?? 'subscription_complete');
      const variants = await experimentCounts(
        warehouse,
        { ...range, experiment: name, conversionEvent },
        dialect,
      );
      if (variants.length === 0) {
        throw new DeeprefError('DEEPREF_NOT_FOUND', {
          what: `Exposures of the experiment "${name}" between ${range.from.toISOString()} and ${range.to.toISOString()}`,
        });
      }
      return {
        name,
        ...iso(range),
        conversionEvent,
        ...analyzeExperiment(variants, request.query.control),
      };
    },
  );

  app.get(
    `${prefix}/realtime`,
    {
      schema: {
        ...docs('The live cards: active users (5 min), API latency per endpoint (1 min), error rate (1 h)'),
        response: { 200: ModuleAnswer('RealtimeCards in realtime.ts'), ...errors },
      },
    },
    async () => realtimeCards({ warehouse, realtime: deps.realtime, now: now() }, dialect),
  );

  /** A report of a date range only: `GET path?from&to`, answered by `run` on the checked range. */
  const rangeReport = (
    path: string,
    summary: string,
    answer: string,
    run: (range: { from: string; to: string }) => Promise<unknown>,
  ) =>
    app.get(
      `${prefix}${path}`,
      {
        schema: {
          ...docs(summary),
          querystring: Type.Object(Range),
          response: { 200: ModuleAnswer(answer), ...errors },
        },
      },
      async (request) => run(iso(rangeOf(request.query))),
    );

  rangeReport(
    '/cohorts/behaviour',
    'Weekly power / casual / dormant users by AI interactions',
    'BehaviourCohortsResult in behaviour-cohorts.ts',
    (range) => behaviourCohorts(warehouse, range, dialect),
  );

  app.get(
    `${prefix}/paths`,
    {
      schema: {
        ...docs('The events just after (or before) an event within sessions, as Sankey nodes and links'),
        querystring: Type.Object({
          event: EventName('The anchor event'),
          direction: Type.Optional(Type.Enum(['after', 'before'], { description: 'Default after' })),
          depth: Type.Optional(Type.Integer({ minimum: 1, maximum: 10, description: 'Steps, default 3' })),
          ...Range,
        }),
        response: { 200: ModuleAnswer('PathsResult in paths.ts'), ...errors },
      },
    },
    async (request) => {
      const { event, direction = 'after', depth = 3 } = request.query;
      return paths(
        warehouse,
        {
          ...iso(rangeOf(request.query)),
          event: eventName(event),
          direction: direction as 'after' | 'before',
          depth,
        },
        dialect,
      );
    },
  );

  rangeReport(
    '/adoption',
    'Feature adoption and time to first use, with the onboarding drop-off',
    'FeatureAdoptionResult in feature-adoption.ts',
    (range) => featureAdoption(warehouse, range, dialect),
  );
  rangeReport(
    '/revenue',
    'MRR, ARR and their movements per month, from the subscription events',
    'RevenueResult in revenue.ts',
    (range) => revenue(warehouse, range, dialect),
  );
  rangeReport(
    '/performance/api',
    'Per API endpoint: requests, average / p95 / p99 latency, error rate, requests per second',
    '{ from, to, endpoints } of PerformanceResult in performance.ts',
    async (range) => {
      const { from, to, endpoints } = await performanceReport(warehouse, range, dialect);
      return { from, to, endpoints };
    },
  );
  rangeReport(
    '/performance/web-vitals',
    'Per page: the 75th percentile of FCP, LCP, INP, CLS and TTFB',
    '{ from, to, webVitals } of PerformanceResult in performance.ts',
    async (range) => {
      const { from, to, webVitals } = await performanceReport(warehouse, range, dialect);
      return { from, to, webVitals };
    },
  );
  rangeReport(
    '/ai',
    'AI metrics per model: prompts per day, success rate, latency, tokens/s, regenerations, ratings',
    'AiMetricsResult in ai-metrics.ts',
    (range) => aiMetrics(warehouse, range, dialect),
  );

  app.get(
    `${prefix}/users/:userId/profile`,
    {
      schema: {
        ...docs('One person’s profile, engagement and churn risk'),
        params: Type.Object({ userId: Type.String({ minLength: 1, maxLength: 256 }) }),
        querystring: Type.Object({
          now: isoTime('The profile’s “now”: later events are ignored (default: now)'),
        }),
        response: { 200: ModuleAnswer('UserProfile in user-profile.ts'), 404: ErrorAnswer, ...errors },
      },
    },
    async (request) => {
      const at = request.query.now === undefined ? now() : timeParameter('now', request.query.now);
      checkQueryable('now', at);
      return userProfile(warehouse, { person: request.params.userId, now: at.toISOString() }, dialect);
    },
  );
}
