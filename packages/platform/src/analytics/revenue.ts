/**
 * Revenue (reference §6.3, §2.5) from the subscription events. Each customer's MRR is rebuilt as a ledger:
 * `subscription_complete` starts a subscription at `amount` a month (an `annual` one at amount / 12);
 * `subscription_upgrade` / `subscription_downgrade` add their `mrr_change`; `subscription_cancel` ends it (MRR 0,
 * at the cancel, whether or not it takes effect at the period's end); a change after the cancel counts for nothing
 * until the next `subscription_complete`. From the ledger, per calendar month: MRR, ARR, growth, new, expansion,
 * contraction, churned and reactivated MRR, churn rates and net revenue retention; LTV per segment from the
 * `payment` events (succeeded minus refunded); and the trial-to-paid rate (a two-step funnel).
 */
import type { Warehouse } from '../storage/warehouse.ts';
import { funnel } from './funnels.ts';
import {
  checkRange,
  compareText,
  eventsNamedSql,
  numberOf,
  numericProperty,
  personSql,
  rowObjects,
  type SqlDialect,
  SqlParams,
  type TimeRange,
} from './sql.ts';
import { bucketStarts } from './trends.ts';

export interface RevenueQuery extends TimeRange {
  /** Seconds from `trial_start` within which a `subscription_complete` counts as converted (default 30 days). */
  trialWindowSeconds?: number;
}

export interface RevenueMonth {
  /** First day of the month, 00:00 UTC. */
  month: string;
  /** MRR when the month began. */
  startMrr: number;
  /** MRR when the month ended (or at `to`, for a month that `to` cuts). */
  mrr: number;
  /** mrr × 12. */
  arr: number;
  /** mrr − startMrr: the change over the month. */
  mrrGrowth: number;
  /** MRR of first subscriptions. */
  newMrr: number;
  /** MRR of customers who had paid before, stopped, and subscribed again. */
  reactivationMrr: number;
  /** Increases of customers already paying (the expansion revenue). */
  expansionMrr: number;
  /** Decreases of customers still paying afterwards, as a positive number. */
  contractionMrr: number;
  /** MRR lost with customers who stopped paying, as a positive number. */
  churnedMrr: number;
  startCustomers: number;
  /** Customers paying when the month ended. */
  customers: number;
  newCustomers: number;
  churnedCustomers: number;
  /** churnedMrr / startMrr; null when startMrr is 0. */
  churnRate: number | null;
  /** churnedCustomers / startCustomers; null when there were none. */
  customerChurnRate: number | null;
  /** The MRR at the month's end of the customers paying at its start, over startMrr; null when startMrr is 0. */
  netRevenueRetention: number | null;
}

export interface SegmentLifetimeValue {
  /** The plan of the customer's first succeeded payment. */
  segment: string;
  customers: number;
  /** Mean revenue per customer: succeeded payments minus refunds, up to `to`. */
  avgLifetimeValue: number;
  /** Mean months (of 365.25 / 12 days) each customer had an MRR above 0, up to `to`. */
  avgLifetimeMonths: number;
}

export interface RevenueResult {
  from: string;
  to: string;
  /** One per calendar month starting in [month of `from`, `to`). */
  months: RevenueMonth[];
  lifetimeValue: SegmentLifetimeValue[];
  trialToPaid: {
    /** People whose first `trial_start` is in the range. */
    trials: number;
    /** Of them, people with a `subscription_complete` within the window after it. */
    converted: number;
    rate: number;
    windowSeconds: number;
  };
}

export const defaultTrialWindowSeconds = 30 * 86_400;
const monthMs = (365.25 / 12) * 86_400_000;

/** One ledger row: a customer's MRR right after a subscription event. */
interface LedgerRow {
  person: string;
  at: number;
  mrrAfter: number;
}

/** All revenue figures over the range; throws DEEPREF_BAD_REQUEST for a bad range. */
export async function revenue(
  warehouse: Warehouse,
  query: RevenueQuery,
  dialect: SqlDialect,
): Promise<RevenueResult> {
  const { from, to } = checkRange(query);
  const windowSeconds = query.trialWindowSeconds ?? defaultTrialWindowSeconds;
  const [ledger, payments, trials] = await Promise.all([
    mrrLedger(warehouse, to, dialect),
    customerPayments(warehouse, to, dialect),
    funnel(
      warehouse,
      { from: query.from, to: query.to, steps: ['trial_start', 'subscription_complete'], windowSeconds },
      dialect,
    ),
  ]);
  const [started, paid] = trials.breakdowns[0]?.steps ?? [];
  const converted = paid?.count ?? 0;
  const trialCount = started?.count ?? 0;
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    months: monthlyRevenue(ledger, from, to),
    lifetimeValue: lifetimeValues(ledger, payments, to),
    trialToPaid: {
      trials: trialCount,
      converted,
      rate: trialCount === 0 ? 0 : converted / trialCount,
      windowSeconds,
    },
  };
}

/** Every subscription event before `to` with the customer's MRR after it, in time order. */
async function mrrLedger(warehouse: Warehouse, to: Date, dialect: SqlDialect): Promise<LedgerRow[]> {
  const params = new SqlParams();
  const complete = params.add('subscription_complete');
  const upgrade = params.add('subscription_upgrade');
  const downgrade = params.add('subscription_downgrade');
  const cancel = params.add('subscription_cancel');
  const amount = numericProperty(dialect, 'properties', 'amount', params);
  const interval = dialect.property('properties', 'interval', params);
  const change = numericProperty(dialect, 'properties', 'mrr_change', params);
  const order = 'ORDER BY timestamp, log_offset';
  // A spell is one subscription: it starts at a subscription_complete, so the running count of them numbers it.
  const sql = `
    WITH named AS (
      ${eventsNamedSql(
        ['subscription_complete', 'subscription_upgrade', 'subscription_downgrade', 'subscription_cancel'],
        `${personSql} AS person, timestamp, log_offset, event_name,
        CASE WHEN event_name = ${complete}
          THEN ${amount} / CASE WHEN ${interval} = ${params.add('annual')} THEN 12 ELSE 1 END END AS base_mrr,
        CASE WHEN event_name IN (${upgrade}, ${downgrade}) THEN coalesce(${change}, 0) ELSE 0 END AS mrr_change,
        CASE WHEN event_name = ${cancel} THEN 1 ELSE 0 END AS cancelled`,
        `timestamp < ${dialect.timestamp(params.add(to.toISOString()))} AND ${personSql} IS NOT NULL`,
        params,
      )}
    ),
    subscription_events AS (
      SELECT person, timestamp, log_offset, base_mrr, mrr_change, cancelled,
        sum(CASE WHEN event_name = ${complete} THEN 1 ELSE 0 END)
          OVER (PARTITION BY person ${order} ROWS UNBOUNDED PRECEDING) AS spell
      FROM named
    )
    SELECT person, timestamp,
      CASE WHEN spell = 0 OR max(cancelled) OVER spell_so_far > 0 THEN 0
        ELSE max(base_mrr) OVER spell_so_far + sum(mrr_change) OVER spell_so_far END AS mrr_after
    FROM subscription_events
    WINDOW spell_so_far AS (PARTITION BY person, spell ${order} ROWS UNBOUNDED PRECEDING)
    ORDER BY timestamp, log_offset`;
  const rows = rowObjects(await warehouse.query(sql, params.values));
  return rows.map((row) => ({
    person: String(row.person),
    at: new Date(String(row.timestamp)).getTime(),
    mrrAfter: Math.max(0, numberOf(row.mrr_after)),
  }));
}

interface CustomerPayments {
  person: string;
  segment: string;
  revenue: number;
}

/**
 * Per customer with a succeeded payment before `to`: the plan of the first succeeded one (a failed payment is
 * ordered after every succeeded one), and succeeded minus refunded.
 */
async function customerPayments(
  warehouse: Warehouse,
  to: Date,
  dialect: SqlDialect,
): Promise<CustomerPayments[]> {
  const params = new SqlParams();
  const status = dialect.property('properties', 'status', params);
  const amount = numericProperty(dialect, 'properties', 'amount', params);
  const plan = dialect.property('properties', 'plan', params);
  const succeeded = params.add('succeeded');
  const sql = `
    SELECT ${personSql} AS person,
      ${dialect.firstBy(plan, `${dialect.epochSeconds('timestamp')} + CASE WHEN ${status} = ${succeeded} THEN 0 ELSE 1e12 END`)} AS segment,
      sum(CASE WHEN ${status} = ${succeeded} THEN ${amount}
               WHEN ${status} = ${params.add('refunded')} THEN -${amount} ELSE 0 END) AS revenue
    FROM events
    WHERE event_name = ${params.add('payment')}
      AND timestamp < ${dialect.timestamp(params.add(to.toISOString()))}
      AND ${personSql} IS NOT NULL
    GROUP BY ${personSql}
    HAVING count(CASE WHEN ${status} = ${succeeded} THEN 1 END) > 0`;
  const rows = rowObjects(await warehouse.query(sql, params.values));
  return rows.map((row) => ({
    person: String(row.person),
    segment: row.segment === null ? '(unknown)' : String(row.segment),
    revenue: numberOf(row.revenue),
  }));
}

/** Walks the ledger month by month, classifying each change of a customer's MRR. */
function monthlyRevenue(ledger: readonly LedgerRow[], from: Date, to: Date): RevenueMonth[] {
  const months = bucketStarts(from, to, 'month').map((start) => new Date(start).getTime());
  const mrr = new Map<string, number>();
  const hasPaid = new Set<string>();
  let next = 0;
  const apply = (until: number, month?: RevenueMonth) => {
    for (; next < ledger.length && (ledger[next]?.at ?? Number.POSITIVE_INFINITY) < until; next++) {
      const row = ledger[next] as LedgerRow;
      const before = mrr.get(row.person) ?? 0;
      const after = row.mrrAfter;
      const paidBefore = hasPaid.has(row.person);
      if (after > 0) {
        mrr.set(row.person, after);
        hasPaid.add(row.person);
      } else mrr.delete(row.person);
      if (month === undefined || before === after) continue;
      if (before === 0) {
        if (paidBefore) month.reactivationMrr += after;
        else {
          month.newMrr += after;
          month.newCustomers += 1;
        }
      } else if (after === 0) {
        month.churnedMrr += before;
        month.churnedCustomers += 1;
      } else if (after > before) month.expansionMrr += after - before;
      else month.contractionMrr += before - after;
    }
  };
  const total = () => [...mrr.values()].reduce((sum, value) => sum + value, 0);
  apply(months[0] ?? from.getTime());
  return months.map((start, i) => {
    const end = Math.min(months[i + 1] ?? to.getTime(), to.getTime());
    const starting = new Map(mrr);
    const startMrr = total();
    const month: RevenueMonth = {
      month: new Date(start).toISOString(),
      startMrr,
      mrr: 0,
      arr: 0,
      mrrGrowth: 0,
      newMrr: 0,
      reactivationMrr: 0,
      expansionMrr: 0,
      contractionMrr: 0,
      churnedMrr: 0,
      startCustomers: starting.size,
      customers: 0,
      newCustomers: 0,
      churnedCustomers: 0,
      churnRate: null,
      customerChurnRate: null,
      netRevenueRetention: null,
    };
    apply(end, month);
    month.mrr = total();
    month.arr = month.mrr * 12;
    month.mrrGrowth = month.mrr - startMrr;
    month.customers = mrr.size;
    if (startMrr > 0) {
      let retained = 0;
      for (const person of starting.keys()) retained += mrr.get(person) ?? 0;
      month.churnRate = month.churnedMrr / startMrr;
      month.netRevenueRetention = retained / startMrr;
    }
    if (starting.size > 0) month.customerChurnRate = month.churnedCustomers / starting.size;
    return month;
  });
}

/** LTV per segment: mean revenue and mean paying months of the segment's customers. */
function lifetimeValues(
  ledger: readonly LedgerRow[],
  payments: readonly CustomerPayments[],
  to: Date,
): SegmentLifetimeValue[] {
  const payingMs = new Map<string, number>();
  const since = new Map<string, number>();
  const addPaying = (person: string, ms: number) => payingMs.set(person, (payingMs.get(person) ?? 0) + ms);
  for (const row of ledger) {
    const start = since.get(row.person);
    if (start === undefined && row.mrrAfter > 0) since.set(row.person, row.at);
    if (start !== undefined && row.mrrAfter === 0) {
      addPaying(row.person, row.at - start);
      since.delete(row.person);
    }
  }
  for (const [person, start] of since) addPaying(person, to.getTime() - start);
  const segments = new Map<string, { customers: number; revenue: number; ms: number }>();
  for (const customer of payments) {
    const segment = segments.get(customer.segment) ?? { customers: 0, revenue: 0, ms: 0 };
    segment.customers += 1;
    segment.revenue += customer.revenue;
    segment.ms += payingMs.get(customer.person) ?? 0;
    segments.set(customer.segment, segment);
  }
  return [...segments]
    .map(([segment, s]) => ({
      segment,
      customers: s.customers,
      avgLifetimeValue: s.revenue / s.customers,
      avgLifetimeMonths: s.ms / s.customers / monthMs,
    }))
    .sort((a, b) => b.customers - a.customers || compareText(a.segment, b.segment));
}
