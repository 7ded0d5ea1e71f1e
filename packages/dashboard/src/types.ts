/** The answers of the platform's analytics API that the pages read (docs/api.md). */

// The platform's own result types, where the API answers them as they are (JSON of plain values, times as ISO 8601
// strings): one definition. Where a route picks or adds fields, the answer is derived from them here.
import type { AiMetricsResult } from '../../platform/src/analytics/ai-metrics.ts';
import type { ExperimentResult } from '../../platform/src/analytics/experiments.ts';
import type { FunnelResult } from '../../platform/src/analytics/funnels.ts';
import type { PathsResult } from '../../platform/src/analytics/paths.ts';
import type {
  PageVitals,
  PerformanceResult,
  WebVitalName,
} from '../../platform/src/analytics/performance.ts';
import type { RealtimeCards } from '../../platform/src/analytics/realtime.ts';
import type { RetentionResult } from '../../platform/src/analytics/retention.ts';
import type { RevenueResult } from '../../platform/src/analytics/revenue.ts';
import type { TrendSeries, TrendsResult } from '../../platform/src/analytics/trends.ts';
import type { UserProfile } from '../../platform/src/analytics/user-profile.ts';
import type { ExperimentListing } from '../../platform/src/api/experiment-exposures.ts';

/** `GET /users/:userId/profile` is `UserProfile`; the rest are pieces the pages draw. */
export type { PageVitals, TrendSeries, UserProfile, WebVitalName };

/** The range a route answered for, as ISO 8601 strings. */
interface AnsweredRange {
  from: string;
  to: string;
}

/** `GET /trends`. */
export type Trends = TrendsResult;
/** `GET /funnels` and the built-in funnels. */
export type Funnel = FunnelResult;
/** `GET /retention`. */
export type Retention = RetentionResult;
/** `GET /experiments`: the experiments with exposures in the range. */
export type ExperimentList = AnsweredRange & { experiments: ExperimentListing[] };
/** `GET /experiments/:name`: the read-out, with the experiment, range and conversion it was computed for. */
export type Experiment = AnsweredRange & { name: string; conversionEvent: string } & ExperimentResult;
/** The live cards (`GET /realtime`); each says whether it came from the stream jobs or the warehouse. */
export type Realtime = RealtimeCards;
/** `GET /paths`: the sessions' steps from (or to) an anchor event, as Sankey nodes and links. */
export type Paths = PathsResult;
/** `GET /revenue`: per calendar month, lifetime value per plan, and trial-to-paid. */
export type Revenue = RevenueResult;
/** `GET /performance/api`: per endpoint and method, most requests first. */
export type ApiPerformance = Pick<PerformanceResult, 'from' | 'to' | 'endpoints'>;
/** `GET /performance/web-vitals`: every page together, then each page, most reports first. */
export type WebVitals = Pick<PerformanceResult, 'from' | 'to' | 'webVitals'>;
/** `GET /ai`: prompts per day, and per model the answers' quality and speed, most responses first. */
export type AiMetrics = AiMetricsResult;

/** `GET /events`: the event names seen in the range, most frequent first, and whether each is registered. */
export interface EventNames extends AnsweredRange {
  events: { name: string; count: number; registered: boolean }[];
}
