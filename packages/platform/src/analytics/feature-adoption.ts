/**
 * Feature adoption and time to first use (reference §6.4 "feature_usage"), per feature (the `feature` property):
 * a use is a `feature_used` event; a person's first use of a feature is their earliest `feature_used` or
 * `feature_exploration` (opening it for the first time) of it. Beside it, the onboarding funnel's drop-off
 * (`onboardingFunnel` of funnels.ts, reused as it is).
 */
import type { Warehouse } from '../storage/warehouse.ts';
import { type FunnelResult, onboardingFunnel } from './funnels.ts';
import {
  checkRange,
  compareText,
  eventsNamedSql,
  numberOf,
  personSql,
  rowObjects,
  type SqlDialect,
  SqlParams,
  type TimeRange,
} from './sql.ts';

export interface FeatureAdoption {
  feature: string;
  /** People with a `feature_used` of the feature in the range. */
  users: number;
  /** `feature_used` events of the feature in the range. */
  uses: number;
  /** users / active people (anyone with an event in the range); 0 when nobody was active. */
  adoptionRate: number;
  /** uses / users (0 without users): the usage frequency. */
  usesPerUser: number;
  /** People whose first use of the feature ever falls in the range. */
  newUsers: number;
  /** Of the people whose first `signup` ever is in the range, those whose first use followed it before `to`. */
  signupsAdopted: number;
  /** Median seconds from that signup to that first use; null when none adopted. */
  medianSecondsToFirstUse: number | null;
}

export interface FeatureAdoptionResult {
  from: string;
  to: string;
  /** People with any event in the range (the denominator of `adoptionRate`). */
  activePeople: number;
  /** People whose first signup is in the range. */
  signups: number;
  /** Most users first, then most new users, then by name. */
  features: FeatureAdoption[];
  /** The onboarding journey's steps and drop-off (signup → … → first_action) for the same range. */
  onboarding: FunnelResult;
}

/** Adoption of every feature seen up to `to`; throws DEEPREF_BAD_REQUEST for a bad range. */
export async function featureAdoption(
  warehouse: Warehouse,
  range: TimeRange,
  dialect: SqlDialect,
): Promise<FeatureAdoptionResult> {
  const { from, to } = checkRange(range);
  const params = new SqlParams();
  const fromAt = dialect.timestamp(params.add(from.toISOString()));
  const toAt = dialect.timestamp(params.add(to.toISOString()));
  const used = params.add('feature_used');
  const feature = dialect.property('properties', 'feature', params);
  // No WHERE on `feature`: DuckDB would push it into the scan and extract the JSON of every event (2 s of CPU on
  // 10M events). People without a feature land in a NULL group, which the rows below skip.
  const sql = `
    WITH feature_events AS (
      SELECT person, feature, event_name, timestamp FROM (
        ${eventsNamedSql(
          ['feature_used', 'feature_exploration'],
          `${personSql} AS person, ${feature} AS feature, event_name, timestamp`,
          `timestamp < ${toAt}`,
          params,
        )}
      ) named
      WHERE person IS NOT NULL
    ),
    firsts AS (
      SELECT person, feature, min(timestamp) AS first_at FROM feature_events GROUP BY person, feature
    ),
    signups AS (
      SELECT ${personSql} AS person, min(timestamp) AS signup_at FROM events
      WHERE event_name = ${params.add('signup')} AND ${personSql} IS NOT NULL
      GROUP BY ${personSql}
    )
    SELECT 'usage' AS kind, feature, count(*) AS n, CAST(count(DISTINCT person) AS DOUBLE PRECISION) AS x
    FROM feature_events
    WHERE event_name = ${used} AND timestamp >= ${fromAt}
    GROUP BY feature
    UNION ALL
    SELECT 'new', feature, count(*), NULL FROM firsts WHERE first_at >= ${fromAt} GROUP BY feature
    UNION ALL
    SELECT 'adopted', f.feature, count(*),
      ${dialect.median(`${dialect.epochSeconds('f.first_at')} - ${dialect.epochSeconds('s.signup_at')}`)}
    FROM firsts f JOIN signups s ON s.person = f.person
    WHERE s.signup_at >= ${fromAt} AND s.signup_at < ${toAt} AND f.first_at >= s.signup_at
    GROUP BY f.feature
    UNION ALL
    SELECT 'signups', NULL, count(*), NULL FROM signups WHERE signup_at >= ${fromAt} AND signup_at < ${toAt}
    UNION ALL
    SELECT 'active', NULL, count(DISTINCT ${personSql}), NULL FROM events
    WHERE timestamp >= ${fromAt} AND timestamp < ${toAt}`;
  const [rows, onboarding] = await Promise.all([
    warehouse.query(sql, params.values).then(rowObjects),
    onboardingFunnel(warehouse, range, dialect),
  ]);
  const total = (kind: string) => numberOf(rows.find((row) => row.kind === kind)?.n);
  const activePeople = total('active');
  const features = new Map<string, FeatureAdoption>();
  const entry = (name: string): FeatureAdoption => {
    let found = features.get(name);
    if (found === undefined) {
      found = {
        feature: name,
        users: 0,
        uses: 0,
        adoptionRate: 0,
        usesPerUser: 0,
        newUsers: 0,
        signupsAdopted: 0,
        medianSecondsToFirstUse: null,
      };
      features.set(name, found);
    }
    return found;
  };
  for (const row of rows) {
    if (row.feature === null || row.feature === undefined) continue;
    const f = entry(String(row.feature));
    if (row.kind === 'usage') {
      f.uses = numberOf(row.n);
      f.users = numberOf(row.x);
      f.adoptionRate = activePeople === 0 ? 0 : f.users / activePeople;
      f.usesPerUser = f.users === 0 ? 0 : f.uses / f.users;
    } else if (row.kind === 'new') {
      f.newUsers = numberOf(row.n);
    } else if (row.kind === 'adopted') {
      f.signupsAdopted = numberOf(row.n);
      f.medianSecondsToFirstUse = row.x === null ? null : Number(row.x);
    }
  }
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    activePeople,
    signups: total('signups'),
    features: [...features.values()].sort(
      (a, b) => b.users - a.users || b.newUsers - a.newUsers || compareText(a.feature, b.feature),
    ),
    onboarding,
  };
}
