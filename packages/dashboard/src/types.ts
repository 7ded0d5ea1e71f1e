/** The answers of the platform's analytics API that the pages read (docs/api.md). */

// The platform's own result types, where the API answers them as they are (JSON of plain values): one definition.
import type { RevenueMonth } from '../../platform/src/analytics/revenue.ts';
/** `GET /users/:userId/profile`. */
import type { UserProfile } from '../../platform/src/analytics/user-profile.ts';
import type { Interval } from './range.ts';

export type { RevenueMonth, UserProfile };

export interface EventNames {
  from: string;
  to: string;
  events: { name: string; count: number; registered: boolean }[];
}

export interface TrendPoint {
  bucket: string;
  count: number;
  users: number;
}

export interface TrendSeries {
  breakdownValue: string | null;
  points: TrendPoint[];
  total: { count: number; users: number };
}

export interface Trends {
  interval: Interval;
  from: string;
  to: string;
  series: TrendSeries[];
  previous?: { from: string; to: string; series: TrendSeries[] };
}

export interface FunnelStep {
  event: string;
  count: number;
  conversionFromStart: number;
  conversionFromPrevious: number;
  dropOff: number;
  medianSecondsFromPrevious: number | null;
}

export interface Funnel {
  from: string;
  to: string;
  windowSeconds: number;
  breakdowns: { breakdownValue: string | null; steps: FunnelStep[] }[];
}

export interface Retention {
  from: string;
  to: string;
  weeks: number[];
  cohorts: {
    week: string;
    segment: string | null;
    size: number;
    retained: { week: number; people: number | null; rate: number | null }[];
  }[];
}

export interface ExperimentList {
  from: string;
  to: string;
  experiments: {
    name: string;
    variants: { name: string; users: number }[];
    users: number;
    firstSeen: string;
    lastSeen: string;
  }[];
}

export interface Experiment {
  name: string;
  from: string;
  to: string;
  conversionEvent: string;
  control: string;
  variants: {
    name: string;
    users: number;
    conversions: number;
    rate: number;
    vsControl?: {
      absoluteLift: number;
      relativeLift: number | null;
      z: number;
      pValue: number;
      ci95: [number, number];
      significant: boolean;
    };
  }[];
  sampleRatio: { chiSquare: number; degreesOfFreedom: number; pValue: number; mismatch: boolean };
}

/** The live cards (`GET /realtime`); each says whether it came from the stream jobs or the warehouse. */
export interface Realtime {
  activeUsers: { activeUsers: number; windowEnd: string | null; source: string };
  apiLatency: {
    endpoints: {
      endpoint: string;
      method: string;
      requests: number;
      avgLatencyMs: number | null;
      p95LatencyMs: number | null;
      windowEnd: string;
    }[];
    source: string;
  };
  errorRate: {
    requests: number;
    serverErrors: number;
    clientErrors: number;
    errorRate: number;
    from: string;
    to: string;
    source: string;
  };
}

/** `GET /paths`: the sessions' steps from (or to) an anchor event, as Sankey nodes and links. */
export interface Paths {
  from: string;
  to: string;
  event: string;
  direction: 'after' | 'before';
  depth: number;
  sessions: number;
  steps: { step: number; sessions: number; dropOff: number }[];
  nodes: { id: string; step: number; event: string; sessions: number }[];
  links: { source: string; target: string; sessions: number }[];
  paths: { events: string[]; sessions: number }[];
}

/** `GET /revenue`: per calendar month, lifetime value per plan, and trial-to-paid. */
export interface Revenue {
  from: string;
  to: string;
  months: RevenueMonth[];
  lifetimeValue: {
    segment: string;
    customers: number;
    avgLifetimeValue: number;
    avgLifetimeMonths: number;
  }[];
  trialToPaid: { trials: number; converted: number; rate: number; windowSeconds: number };
}

export type WebVitalName = 'FCP' | 'LCP' | 'INP' | 'CLS' | 'TTFB';

export interface PageVitals {
  path: string | null;
  metrics: Record<WebVitalName, { p75: number | null; samples: number }>;
}

/** `GET /performance/api`: per endpoint and method, most requests first. */
export interface ApiPerformance {
  from: string;
  to: string;
  endpoints: {
    endpoint: string;
    method: string;
    requests: number;
    avgLatencyMs: number;
    p95LatencyMs: number;
    p99LatencyMs: number;
    errorRate: number;
    requestsPerSecond: number;
  }[];
}

/** `GET /performance/web-vitals`: every page together, then each page, most reports first. */
export interface WebVitals {
  from: string;
  to: string;
  webVitals: { all: PageVitals; pages: PageVitals[] };
}

/** `GET /ai`: prompts per day, and per model the answers' quality and speed, most responses first. */
export interface AiMetrics {
  from: string;
  to: string;
  promptsPerDay: { day: string; prompts: number; byModel: Record<string, number> }[];
  models: {
    model: string;
    prompts: number;
    responses: number;
    successRate: number;
    avgLatencyMs: number | null;
    p95LatencyMs: number | null;
    tokensPerSecond: number | null;
    regenerationRate: number;
    editRate: number;
    ratings: number;
    avgRating: number | null;
    ratingCounts: [number, number, number, number, number];
  }[];
}
