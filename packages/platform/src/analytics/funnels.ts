/**
 * Funnels: of the people who did step 1 in the range, how many then did step 2, then step 3, … in order and
 * within a conversion window counted from step 1; per step the conversion, the drop-off and the median time
 * from the step before. Written as one chain of joins (one per step) so it stays one pass per step in SQL.
 */
import { DeeprefError } from '../errors.ts';
import type { Warehouse } from '../storage/warehouse.ts';
import {
  checkEventName,
  checkPropertyName,
  checkRange,
  numberOf,
  personOf,
  personSql,
  rowObjects,
  type SqlDialect,
  SqlParams,
  type TimeRange,
} from './sql.ts';

export interface FunnelQuery extends TimeRange {
  /** Event names in order, 2 to 20 of them, all different. */
  steps: string[];
  /** Seconds from a person's step-1 event within which every later step must happen. */
  windowSeconds: number;
  /** A property of the step-1 event to split by. */
  breakdown?: string;
}

export interface FunnelStep {
  event: string;
  /** People who reached this step. */
  count: number;
  /** count / people at step 1 (1 for step 1; 0 when nobody entered). */
  conversionFromStart: number;
  /** count / people at the step before (1 for step 1; 0 when nobody reached the step before). */
  conversionFromPrevious: number;
  /** People at the step before who did not reach this one (0 for step 1). */
  dropOff: number;
  /** Median seconds from the step before to this one among the people who reached it; null for step 1 or none. */
  medianSecondsFromPrevious: number | null;
}

export interface FunnelBreakdown {
  /** The breakdown property's value on the step-1 event (as text), or null. */
  breakdownValue: string | null;
  steps: FunnelStep[];
}

export interface FunnelResult {
  from: string;
  to: string;
  windowSeconds: number;
  /** One entry without breakdown; otherwise one per value, most people at step 1 first. */
  breakdowns: FunnelBreakdown[];
}

/** The trial-to-paid funnel of the reference §6.2. */
export const trialToPaid: readonly string[] = [
  'trial_signup',
  'first_ai_interaction',
  'feature_exploration',
  'payment_page_view',
  'subscription_complete',
];

/** The onboarding journey of the reference §6.4. */
export const onboardingFlow: readonly string[] = [
  'signup',
  'email_verify',
  'first_login',
  'tutorial',
  'first_action',
];

/** Default window for the built-in funnels: 14 days (a usual trial). */
export const defaultFunnelWindowSeconds = 14 * 86_400;

const maxSteps = 20;
const maxWindowSeconds = 365 * 86_400;

function check(query: FunnelQuery): { from: Date; to: Date } {
  const range = checkRange(query);
  if (!Array.isArray(query.steps) || query.steps.length < 2 || query.steps.length > maxSteps) {
    throw new DeeprefError('DEEPREF_BAD_REQUEST', {
      detail: `A funnel needs 2 to ${maxSteps} steps`,
    });
  }
  for (const step of query.steps) checkEventName(step);
  if (new Set(query.steps).size !== query.steps.length) {
    throw new DeeprefError('DEEPREF_BAD_REQUEST', {
      detail: 'Each funnel step must be a different event',
    });
  }
  if (
    !Number.isFinite(query.windowSeconds) ||
    query.windowSeconds <= 0 ||
    query.windowSeconds > maxWindowSeconds
  ) {
    throw new DeeprefError('DEEPREF_BAD_REQUEST', {
      detail: `The conversion window must be more than 0 and at most ${maxWindowSeconds} seconds`,
    });
  }
  if (query.breakdown !== undefined) checkPropertyName(query.breakdown, 'breakdown');
  return range;
}

/** Runs a funnel query; throws DEEPREF_BAD_REQUEST for a bad range, steps, window or property name. */
export async function funnel(
  warehouse: Warehouse,
  query: FunnelQuery,
  dialect: SqlDialect,
): Promise<FunnelResult> {
  const { from, to } = check(query);
  const params = new SqlParams();
  const breakdown =
    query.breakdown === undefined
      ? 'CAST(NULL AS VARCHAR)'
      : dialect.property('properties', query.breakdown, params);
  const window = params.add(query.windowSeconds);
  // Step 1: each person's first step-1 event in the range (its property gives the breakdown).
  const ctes = [
    `s1 AS (
      SELECT ${personSql} AS person, min(timestamp) AS t1, ${dialect.firstBy(breakdown, 'timestamp')} AS breakdown_value
      FROM events
      WHERE event_name = ${params.add(query.steps[0])}
        AND timestamp >= ${dialect.timestamp(params.add(from.toISOString()))}
        AND timestamp < ${dialect.timestamp(params.add(to.toISOString()))}
        AND ${personSql} IS NOT NULL
      GROUP BY ${personSql}
    )`,
  ];
  // Step k: the earliest step-k event at or after step k-1 and within the window from step 1. The earliest is
  // the best choice: it leaves the most room for the steps after it.
  for (let k = 2; k <= query.steps.length; k++) {
    const carried = Array.from({ length: k - 1 }, (_, i) => `p.t${i + 1}`).join(', ');
    ctes.push(`s${k} AS (
      SELECT p.person, p.breakdown_value, ${carried}, min(e.timestamp) AS t${k}
      FROM s${k - 1} p
      LEFT JOIN events e
        ON ${personOf('e')} = p.person
        AND e.event_name = ${params.add(query.steps[k - 1])}
        AND e.timestamp >= p.t${k - 1}
        AND e.timestamp <= ${dialect.addSeconds('p.t1', window)}
      GROUP BY p.person, p.breakdown_value, ${carried}
    )`);
  }
  const n = query.steps.length;
  const columns = ['count(t1) AS c1'];
  for (let k = 2; k <= n; k++) {
    columns.push(`count(t${k}) AS c${k}`);
    columns.push(
      `${dialect.median(`${dialect.epochSeconds(`t${k}`)} - ${dialect.epochSeconds(`t${k - 1}`)}`)} AS m${k}`,
    );
  }
  const sql = `WITH ${ctes.join(',\n')}
    SELECT breakdown_value, ${columns.join(', ')}
    FROM s${n}
    GROUP BY breakdown_value
    ORDER BY c1 DESC, breakdown_value`;
  const rows = rowObjects(await warehouse.query(sql, params.values));
  const breakdowns = rows.map((row) => ({
    breakdownValue: row.breakdown_value === null ? null : String(row.breakdown_value),
    steps: funnelSteps(
      query.steps,
      query.steps.map((_, i) => numberOf(row[`c${i + 1}`])),
      query.steps.map((_, i) => (i === 0 || row[`m${i + 1}`] === null ? null : Number(row[`m${i + 1}`]))),
    ),
  }));
  if (breakdowns.length === 0 && query.breakdown === undefined) {
    breakdowns.push({
      breakdownValue: null,
      steps: funnelSteps(
        query.steps,
        query.steps.map(() => 0),
        query.steps.map(() => null),
      ),
    });
  }
  return { from: from.toISOString(), to: to.toISOString(), windowSeconds: query.windowSeconds, breakdowns };
}

function ratio(part: number, whole: number): number {
  return whole === 0 ? 0 : part / whole;
}

/** Per-step figures from the people reaching each step and the median seconds from the step before. */
export function funnelSteps(
  events: readonly string[],
  counts: number[],
  medians: (number | null)[],
): FunnelStep[] {
  const start = counts[0] ?? 0;
  return events.map((event, i) => {
    const count = counts[i] ?? 0;
    const previous = i === 0 ? count : (counts[i - 1] ?? 0);
    return {
      event,
      count,
      conversionFromStart: i === 0 ? 1 : ratio(count, start),
      conversionFromPrevious: i === 0 ? 1 : ratio(count, previous),
      dropOff: previous - count,
      medianSecondsFromPrevious: i === 0 ? null : (medians[i] ?? null),
    };
  });
}

/** The trial-to-paid funnel (§6.2) over a range. */
export function trialToPaidFunnel(
  warehouse: Warehouse,
  range: TimeRange & { windowSeconds?: number; breakdown?: string },
  dialect: SqlDialect,
): Promise<FunnelResult> {
  return funnel(
    warehouse,
    { ...range, steps: [...trialToPaid], windowSeconds: range.windowSeconds ?? defaultFunnelWindowSeconds },
    dialect,
  );
}

/** The onboarding flow (§6.4) over a range, with its drop-off per step. */
export function onboardingFunnel(
  warehouse: Warehouse,
  range: TimeRange & { windowSeconds?: number; breakdown?: string },
  dialect: SqlDialect,
): Promise<FunnelResult> {
  return funnel(
    warehouse,
    {
      ...range,
      steps: [...onboardingFlow],
      windowSeconds: range.windowSeconds ?? defaultFunnelWindowSeconds,
    },
    dialect,
  );
}
