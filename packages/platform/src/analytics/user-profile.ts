/**
 * One person's profile (reference §2.1 user_profile, interaction_patterns, engagement_metrics), from their events
 * up to `now`. The churn-risk score is a weighted sum of three signals, each from 0 to 1:
 *
 *   score = 0.5 · recency + 0.3 · decline + 0.2 · billing
 *   recency = min(1, days since the last event / 30)
 *   decline = (b − a) / b, floored at 0, with a = active days (UTC days with an event) in the last 14 days and
 *             b = active days in the 14 days before; when b = 0: 1 if a = 0, else 0
 *   billing = 1 if the person's latest subscription_complete / subscription_cancel is a cancel, or their latest
 *             payment in the last 30 days failed; else 0
 *
 * so a person active today, as often as a fortnight ago, with a live subscription scores 0, and one silent for a
 * month who cancelled scores 1.
 */
import { DeeprefError } from '../errors.ts';
import type { Warehouse } from '../storage/warehouse.ts';
import { compareText, numberOf, personIs, rowObjects, type SqlDialect, SqlParams } from './sql.ts';

export interface UserProfileQuery {
  /** A user id, or an anonymous id for a visitor never identified. */
  person: string;
  /** The profile's "now", ISO 8601 (default the current time); later events are ignored. */
  now?: string;
}

export interface ChurnRisk {
  score: number;
  recency: number;
  decline: number;
  billing: number;
}

export interface UserProfile {
  person: string;
  /** `account_type` of the person's latest `identify` that has one (free, trial, pro, enterprise), or null. */
  accountType: string | null;
  /** The first `signup`, else the first event. */
  created: string | null;
  lastActive: string | null;
  /** Distinct session ids. */
  totalSessions: number;
  /** Mean over sessions of last event − first event, in seconds; null without sessions. */
  avgSessionSeconds: number | null;
  /** Σ session lengths / active days, in minutes; null without sessions. */
  avgDailyUsageMinutes: number | null;
  /** The most frequent `context.locale` and `context.timezone`. */
  preferredLanguage: string | null;
  timezone: string | null;
  /** Up to 5 features by `feature_used` events, most first. */
  mostUsedFeatures: { feature: string; uses: number }[];
  /** Events per UTC hour of day, 0 to 23. */
  hourlyEvents: number[];
  /** Up to 3 UTC hours with the most events, most first. */
  peakUsageHours: number[];
  /** Sessions per device type and per browser (each session by its first event). */
  devices: Record<string, number>;
  browsers: Record<string, number>;
  /** Features this person used / features anybody used (`feature_used`, up to now); 0 when none exist. */
  featureAdoptionRate: number;
  churnRisk: ChurnRisk;
}

const dayMs = 86_400_000;

/** The profile of one person; throws DEEPREF_NOT_FOUND when they have no events up to `now`. */
export async function userProfile(
  warehouse: Pick<Warehouse, 'query'>,
  query: UserProfileQuery,
  dialect: SqlDialect,
): Promise<UserProfile> {
  const now = query.now === undefined ? new Date() : new Date(query.now);
  if (Number.isNaN(now.getTime())) {
    throw new DeeprefError('DEEPREF_BAD_REQUEST', { detail: '`now` must be an ISO 8601 time' });
  }
  if (typeof query.person !== 'string' || query.person.length === 0 || query.person.length > 256) {
    throw new DeeprefError('DEEPREF_BAD_REQUEST', {
      detail: 'The person must be an id of 1 to 256 characters',
    });
  }
  const [sessions, facts] = await Promise.all([
    sessionRows(warehouse, query.person, now, dialect),
    factRows(warehouse, query.person, now, dialect),
  ]);
  const fact = (kind: string) => facts.filter((row) => row.kind === kind);
  const single = (kind: string) => fact(kind)[0];
  const lastActive = single('span')?.last_at;
  if (lastActive === null || lastActive === undefined) {
    throw new DeeprefError('DEEPREF_NOT_FOUND', { what: `Events of ${query.person.slice(0, 80)}` });
  }
  const mostFrequent = (kind: string) => {
    const [top] = fact(kind).sort(
      (a, b) => numberOf(b.n) - numberOf(a.n) || compareText(String(a.label), String(b.label)),
    );
    return top === undefined ? null : String(top.label);
  };

  const hourlyEvents = Array.from({ length: 24 }, () => 0);
  for (const row of fact('hour')) hourlyEvents[numberOf(row.label)] = numberOf(row.n);
  const peakUsageHours = hourlyEvents
    .map((n, hour) => ({ n, hour }))
    .filter(({ n }) => n > 0)
    .sort((a, b) => b.n - a.n || a.hour - b.hour)
    .slice(0, 3)
    .map(({ hour }) => hour);
  const features = fact('feature')
    .map((row) => ({ feature: String(row.label), uses: numberOf(row.n) }))
    .sort((a, b) => b.uses - a.uses || compareText(a.feature, b.feature));
  const allFeatures = numberOf(single('all_features')?.n);

  const devices: Record<string, number> = {};
  const browsers: Record<string, number> = {};
  let sessionSeconds = 0;
  for (const session of sessions) {
    sessionSeconds += numberOf(session.seconds);
    const device = String(session.device_type ?? 'unknown');
    const browser = String(session.browser ?? 'unknown');
    devices[device] = (devices[device] ?? 0) + 1;
    browsers[browser] = (browsers[browser] ?? 0) + 1;
  }
  const activeDays = numberOf(single('active_days')?.n);

  const lastMs = new Date(String(lastActive)).getTime();
  const recency = Math.min(1, Math.max(0, (now.getTime() - lastMs) / dayMs / 30));
  const recent = numberOf(single('recent_days')?.n);
  const before = numberOf(single('earlier_days')?.n);
  const decline = before === 0 ? (recent === 0 ? 1 : 0) : Math.max(0, (before - recent) / before);
  const billing =
    single('subscription')?.label === 'subscription_cancel' || single('payment')?.label === 'failed' ? 1 : 0;

  return {
    person: query.person,
    accountType: single('account_type')?.label === undefined ? null : String(single('account_type')?.label),
    created: String(single('signup')?.last_at ?? single('span')?.first_at),
    lastActive: String(lastActive),
    totalSessions: sessions.length,
    avgSessionSeconds: sessions.length === 0 ? null : sessionSeconds / sessions.length,
    avgDailyUsageMinutes: sessions.length === 0 || activeDays === 0 ? null : sessionSeconds / 60 / activeDays,
    preferredLanguage: mostFrequent('locale'),
    timezone: mostFrequent('timezone'),
    mostUsedFeatures: features.slice(0, 5),
    hourlyEvents,
    peakUsageHours,
    devices,
    browsers,
    featureAdoptionRate: allFeatures === 0 ? 0 : features.length / allFeatures,
    churnRisk: { score: 0.5 * recency + 0.3 * decline + 0.2 * billing, recency, decline, billing },
  };
}

/** The person's sessions: length in seconds, and the device and browser of the first event. */
async function sessionRows(
  warehouse: Pick<Warehouse, 'query'>,
  person: string,
  now: Date,
  dialect: SqlDialect,
): Promise<Record<string, unknown>[]> {
  const params = new SqlParams();
  const sql = `SELECT session_id,
      max(${dialect.epochSeconds('timestamp')}) - min(${dialect.epochSeconds('timestamp')}) AS seconds,
      ${dialect.firstBy('device_type', 'timestamp')} AS device_type,
      ${dialect.firstBy('browser', 'timestamp')} AS browser
    FROM events
    WHERE ${personIs(params.add(person))} AND session_id IS NOT NULL
      AND timestamp <= ${dialect.timestamp(params.add(now.toISOString()))}
    GROUP BY session_id`;
  return rowObjects(await warehouse.query(sql, params.values));
}

/** Everything else, as (kind, label, n, first_at, last_at) rows of one statement. */
async function factRows(
  warehouse: Pick<Warehouse, 'query'>,
  person: string,
  now: Date,
  dialect: SqlDialect,
): Promise<Record<string, unknown>[]> {
  const params = new SqlParams();
  const nowAt = dialect.timestamp(params.add(now.toISOString()));
  const ago = (days: number) => dialect.addSeconds(nowAt, params.add(-days * 86_400));
  const feature = dialect.property('properties', 'feature', params);
  const used = params.add('feature_used');
  const day = dialect.truncate('day', 'timestamp');
  const latest = (value: string) => dialect.firstBy(value, `-${dialect.epochSeconds('timestamp')}`);
  const columns = (label: string, n: string, first = 'NULL', last = 'NULL') =>
    `CAST(${label} AS VARCHAR) AS label, ${n} AS n, ${first} AS first_at, ${last} AS last_at`;
  const none = 'CAST(NULL AS TIMESTAMPTZ)';
  const sql = `WITH mine AS (
      SELECT * FROM events WHERE ${personIs(params.add(person))} AND timestamp <= ${nowAt}
    )
    SELECT 'span' AS kind, ${columns('NULL', 'count(*)', 'min(timestamp)', 'max(timestamp)')} FROM mine
    UNION ALL
    SELECT 'signup', ${columns('NULL', 'count(*)', none, 'min(timestamp)')} FROM mine
      WHERE event_name = ${params.add('signup')}
    UNION ALL
    SELECT 'account_type', ${columns(latest(dialect.property('traits', 'account_type', params)), 'count(*)', none, none)}
      FROM mine WHERE type = ${params.add('identify')} AND ${dialect.property('traits', 'account_type', params)} IS NOT NULL
      HAVING count(*) > 0
    UNION ALL
    SELECT 'hour', ${columns('CAST(extract(hour FROM timestamp) AS INTEGER)', 'count(*)', none, none)} FROM mine
      GROUP BY CAST(extract(hour FROM timestamp) AS INTEGER)
    UNION ALL
    SELECT 'feature', ${columns(feature, 'count(*)', none, none)} FROM mine
      WHERE event_name = ${used} AND ${feature} IS NOT NULL GROUP BY ${feature}
    UNION ALL
    SELECT 'locale', ${columns(dialect.property('context', 'locale', params), 'count(*)', none, none)} FROM mine
      WHERE ${dialect.property('context', 'locale', params)} IS NOT NULL GROUP BY 2
    UNION ALL
    SELECT 'timezone', ${columns(dialect.property('context', 'timezone', params), 'count(*)', none, none)} FROM mine
      WHERE ${dialect.property('context', 'timezone', params)} IS NOT NULL GROUP BY 2
    UNION ALL
    SELECT 'active_days', ${columns('NULL', `count(DISTINCT ${day})`, none, none)} FROM mine
    UNION ALL
    SELECT 'recent_days', ${columns('NULL', `count(DISTINCT ${day})`, none, none)} FROM mine
      WHERE timestamp > ${ago(14)}
    UNION ALL
    SELECT 'earlier_days', ${columns('NULL', `count(DISTINCT ${day})`, none, none)} FROM mine
      WHERE timestamp > ${ago(28)} AND timestamp <= ${ago(14)}
    UNION ALL
    SELECT 'subscription', ${columns(latest('event_name'), 'count(*)', none, none)} FROM mine
      WHERE event_name IN (${params.add('subscription_complete')}, ${params.add('subscription_cancel')})
      HAVING count(*) > 0
    UNION ALL
    SELECT 'payment', ${columns(latest(dialect.property('properties', 'status', params)), 'count(*)', none, none)}
      FROM mine WHERE event_name = ${params.add('payment')} AND timestamp > ${ago(30)}
      HAVING count(*) > 0
    UNION ALL
    SELECT 'all_features', ${columns('NULL', `count(DISTINCT ${feature})`, none, none)} FROM events
      WHERE event_name = ${used} AND timestamp <= ${nowAt}`;
  return rowObjects(await warehouse.query(sql, params.values));
}
