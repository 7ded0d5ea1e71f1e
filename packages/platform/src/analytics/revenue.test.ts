import { expect, it } from 'vitest';
import { describeEachWarehouse, useWarehouse } from '../testing/warehouses.ts';
import { revenue } from './revenue.ts';
import { type CraftedEvent, craftedRecords } from './test-records.ts';

const complete = (
  at: string,
  person: string,
  plan: string,
  interval: string,
  amount: number,
): CraftedEvent => ({
  event: 'subscription_complete',
  at,
  person,
  properties: { plan, interval, amount, currency: 'USD' },
});
const change = (at: string, person: string, event: string, mrrChange: number): CraftedEvent => ({
  event,
  at,
  person,
  properties: { from_plan: 'pro', to_plan: 'enterprise', mrr_change: mrrChange },
});
const cancel = (at: string, person: string): CraftedEvent => ({
  event: 'subscription_cancel',
  at,
  person,
  properties: { plan: 'pro', at_period_end: true },
});
const pay = (
  at: string,
  person: string,
  plan: string,
  amount: number,
  status = 'succeeded',
): CraftedEvent => ({
  event: 'payment',
  at,
  person,
  properties: { amount, currency: 'USD', plan, interval: 'monthly', status },
});
const trial = (at: string, person: string): CraftedEvent => ({
  event: 'trial_start',
  at,
  person,
  properties: { plan: 'pro', trial_days: 14 },
});

// The MRR story (range: September to November 2026):
//   before: A pro monthly 30 (Aug 10), B pro annual 360 → 30 (Aug 20).            MRR Sep 1 = 60
//   Sep:    C enterprise monthly 100 (new), A upgrade +20 (expansion).            MRR Oct 1 = 50 + 30 + 100 = 180
//   Oct:    B cancels (churn 30), C downgrade −40 (contraction), D 30 (new).      MRR Nov 1 = 50 + 60 + 30 = 140
//   Nov:    B subscribes again 30 (reactivation), A cancels (churn 50), and A's
//           upgrade after the cancel counts for nothing.                          MRR Dec 1 = 30 + 60 + 30 = 120
const events: CraftedEvent[] = [
  complete('2026-08-10T00:00:00Z', 'A', 'pro', 'monthly', 30),
  pay('2026-08-10T00:00:00Z', 'A', 'pro', 30),
  complete('2026-08-20T00:00:00Z', 'B', 'pro', 'annual', 360),
  pay('2026-08-20T00:00:00Z', 'B', 'pro', 360),
  complete('2026-09-05T00:00:00Z', 'C', 'enterprise', 'monthly', 100),
  pay('2026-09-05T00:00:00Z', 'C', 'enterprise', 100),
  pay('2026-09-10T00:00:00Z', 'A', 'pro', 30),
  change('2026-09-15T00:00:00Z', 'A', 'subscription_upgrade', 20),
  pay('2026-09-15T00:00:00Z', 'A', 'enterprise', 10),
  pay('2026-10-05T00:00:00Z', 'C', 'enterprise', 100, 'failed'),
  pay('2026-10-06T00:00:00Z', 'C', 'enterprise', 100),
  cancel('2026-10-10T00:00:00Z', 'B'),
  pay('2026-10-10T00:00:00Z', 'A', 'enterprise', 50),
  pay('2026-10-12T00:00:00Z', 'A', 'enterprise', 10, 'refunded'),
  trial('2026-10-01T00:00:00Z', 'T2'), // never converts
  trial('2026-10-11T00:00:00Z', 'D'),
  change('2026-10-20T00:00:00Z', 'C', 'subscription_downgrade', -40),
  complete('2026-10-25T00:00:00Z', 'D', 'pro', 'monthly', 30), // 14 days after the trial began
  pay('2026-10-25T00:00:00Z', 'D', 'pro', 30),
  complete('2026-11-05T00:00:00Z', 'B', 'pro', 'monthly', 30),
  pay('2026-11-05T00:00:00Z', 'B', 'pro', 30),
  pay('2026-11-06T00:00:00Z', 'C', 'enterprise', 60),
  cancel('2026-11-10T00:00:00Z', 'A'),
  change('2026-11-12T00:00:00Z', 'A', 'subscription_upgrade', 20), // after the cancel: no MRR
  trial('2026-11-20T00:00:00Z', 'T3'),
  complete('2026-12-05T00:00:00Z', 'T3', 'pro', 'monthly', 30), // after the range: no MRR, but converts the trial
];

describeEachWarehouse('revenue', (engine) => {
  const db = useWarehouse(engine, craftedRecords(events));

  it('builds the MRR series with its movements, churn and net revenue retention', async () => {
    const result = await revenue(
      db.warehouse,
      { from: '2026-09-01T00:00:00Z', to: '2026-12-01T00:00:00Z' },
      db.dialect,
    );
    expect(result.months).toEqual([
      {
        month: '2026-09-01T00:00:00.000Z',
        startMrr: 60,
        mrr: 180,
        arr: 2160,
        mrrGrowth: 120,
        newMrr: 100,
        reactivationMrr: 0,
        expansionMrr: 20,
        contractionMrr: 0,
        churnedMrr: 0,
        startCustomers: 2,
        customers: 3,
        newCustomers: 1,
        churnedCustomers: 0,
        churnRate: 0,
        customerChurnRate: 0,
        netRevenueRetention: 80 / 60, // A 50 + B 30 over A 30 + B 30
      },
      {
        month: '2026-10-01T00:00:00.000Z',
        startMrr: 180,
        mrr: 140,
        arr: 1680,
        mrrGrowth: -40,
        newMrr: 30,
        reactivationMrr: 0,
        expansionMrr: 0,
        contractionMrr: 40,
        churnedMrr: 30,
        startCustomers: 3,
        customers: 3,
        newCustomers: 1,
        churnedCustomers: 1,
        churnRate: 30 / 180,
        customerChurnRate: 1 / 3,
        netRevenueRetention: 110 / 180, // A 50 + B 0 + C 60 (D was not there on Oct 1)
      },
      {
        month: '2026-11-01T00:00:00.000Z',
        startMrr: 140,
        mrr: 120,
        arr: 1440,
        mrrGrowth: -20,
        newMrr: 0,
        reactivationMrr: 30,
        expansionMrr: 0,
        contractionMrr: 0,
        churnedMrr: 50,
        startCustomers: 3,
        customers: 3,
        newCustomers: 0,
        churnedCustomers: 1,
        churnRate: 50 / 140,
        customerChurnRate: 1 / 3,
        netRevenueRetention: 90 / 140, // A 0 + C 60 + D 30 (B came back, but was not paying on Nov 1)
      },
    ]);
  });

  it('computes LTV per segment and the trial-to-paid rate', async () => {
    const result = await revenue(
      db.warehouse,
      { from: '2026-09-01T00:00:00Z', to: '2026-12-01T00:00:00Z' },
      db.dialect,
    );
    // pro (first succeeded payment): A 30 + 30 + 10 + 50 − 10 = 110, B 360 + 30 = 390, D 30 → 530 / 3.
    // Paying days up to Dec 1: A Aug 10 → Nov 10 = 92, B Aug 20 → Oct 10 = 51 and Nov 5 → Dec 1 = 26, D 37.
    // enterprise: C 100 + 100 + 60 = 260 (the failed charge is not revenue), paying Sep 5 → Dec 1 = 87 days.
    const month = 365.25 / 12;
    expect(result.lifetimeValue.map((s) => [s.segment, s.customers])).toEqual([
      ['pro', 3],
      ['enterprise', 1],
    ]);
    const [pro, enterprise] = result.lifetimeValue;
    expect(pro!.avgLifetimeValue).toBeCloseTo(530 / 3, 9);
    expect(pro!.avgLifetimeMonths).toBeCloseTo((92 + 51 + 26 + 37) / 3 / month, 9);
    expect(enterprise!.avgLifetimeValue).toBe(260);
    expect(enterprise!.avgLifetimeMonths).toBeCloseTo(87 / month, 9);
    // Trials starting in the range: T2, D, T3; D converts after 14 days, T3 after 15 (past `to`, within 30).
    expect(result.trialToPaid).toEqual({ trials: 3, converted: 2, rate: 2 / 3, windowSeconds: 30 * 86_400 });
  });

  it('cuts the last month at `to`', async () => {
    const result = await revenue(
      db.warehouse,
      { from: '2026-11-01T00:00:00Z', to: '2026-11-08T00:00:00Z' },
      db.dialect,
    );
    // Nov 1 → Nov 8: only B's return (30); A's cancel on Nov 10 is after `to`.
    expect(result.months.map((m) => [m.startMrr, m.mrr, m.reactivationMrr, m.churnedMrr])).toEqual([
      [140, 170, 30, 0],
    ]);
  });
});
