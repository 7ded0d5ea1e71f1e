import { describe, expect, it } from 'vitest';
import { describeEachWarehouse, useWarehouse } from '../testing/warehouses.ts';
import { cohortWeek, retention } from './retention.ts';
import { type CraftedEvent, craftedRecords } from './test-records.ts';

const signup = (at: string, person: string, plan: string): CraftedEvent => ({
  event: 'signup',
  at,
  person,
  properties: { method: 'email', plan },
});
const active = (at: string, person: string): CraftedEvent => ({ event: 'feature_used', at, person });

// Weeks start on Monday: 2026-09-07 (cohort A), 09-14 (cohort B). Week N of A starts Sep 7 + 7N days:
// week 1 Sep 14, week 2 Sep 21, week 4 Oct 5, week 8 Nov 2, week 12 Nov 30. Of B: week 1 Sep 21, week 2 Sep 28,
// week 4 Oct 12, week 8 Nov 9, week 12 Dec 7 (after observedUntil, so not yet known).
const events: CraftedEvent[] = [
  // Cohort A: r1 r2 r3 r4.
  signup('2026-09-07T10:00:00Z', 'r1', 'free'),
  active('2026-09-15T08:00:00Z', 'r1'), // week 1
  active('2026-09-22T08:00:00Z', 'r1'), // week 2
  active('2026-10-05T00:00:00Z', 'r1'), // week 4
  active('2026-11-30T12:00:00Z', 'r1'), // week 12
  signup('2026-09-09T10:00:00Z', 'r2', 'free'),
  active('2026-09-20T23:59:59Z', 'r2'), // week 1 (its Sunday)
  active('2026-11-02T00:00:00Z', 'r2'), // week 8
  signup('2026-09-13T23:00:00Z', 'r3', 'paid'), // Sunday: still cohort A
  active('2026-09-13T23:30:00Z', 'r3'), // week 0, not reported
  active('2026-09-14T00:00:00Z', 'r3'), // week 1
  signup('2026-09-08T10:00:00Z', 'r4', 'enterprise'), // never back
  // Cohort B: r5 r6.
  signup('2026-09-14T00:00:00Z', 'r5', 'free'),
  signup('2026-09-28T00:00:00Z', 'r5', 'free'), // a second signup keeps the first cohort, and is activity in week 2
  signup('2026-09-20T23:59:59Z', 'r6', 'paid'),
  active('2026-09-21T00:00:00Z', 'r6'), // week 1
  active('2026-10-12T00:00:00Z', 'r6'), // week 4
  active('2026-12-08T00:00:00Z', 'r6'), // week 12, not yet observed
  // Outside the cohorts: r7 signs up on the range's end; r8's first signup is before it.
  signup('2026-09-21T00:00:00Z', 'r7', 'free'),
  signup('2026-08-31T00:00:00Z', 'r8', 'free'),
  signup('2026-09-08T00:00:00Z', 'r8', 'free'),
];

const query = {
  from: '2026-09-07T00:00:00Z',
  to: '2026-09-21T00:00:00Z',
  observedUntil: '2026-12-01T00:00:00Z',
};
describeEachWarehouse('retention', (engine) => {
  const db = useWarehouse(engine, craftedRecords(events));

  it('builds weekly signup cohorts with week 1, 2, 4, 8 and 12 retention', async () => {
    const result = await retention(db.warehouse, query, db.dialect);
    expect(result.weeks).toEqual([1, 2, 4, 8, 12]);
    const table = result.cohorts.map((c) => [c.week.slice(0, 10), c.size, c.retained.map((r) => r.rate)]);
    expect(table).toEqual([
      // A = 4 people. Week 1: r1 r2 r3 → 3/4. Week 2: r1 → 1/4. Week 4: r1. Week 8: r2. Week 12: r1.
      ['2026-09-07', 4, [3 / 4, 1 / 4, 1 / 4, 1 / 4, 1 / 4]],
      // B = 2 people. Week 1: r6 → 1/2. Week 2: r5 (second signup) → 1/2. Week 4: r6. Week 8: none.
      // Week 12 starts Dec 7, after observedUntil (Dec 1): unknown.
      ['2026-09-14', 2, [1 / 2, 1 / 2, 1 / 2, 0, null]],
    ]);
    expect(result.cohorts[0]!.retained[0]).toEqual({ week: 1, people: 3, rate: 0.75 });
  });

  it('counts only the chosen return event', async () => {
    const result = await retention(
      db.warehouse,
      { ...query, returnEvent: 'feature_used', weeks: [2] },
      db.dialect,
    );
    // B's week 2 came from r5's second signup, which is not feature_used: 0/2. A's week 2: r1 → 1/4.
    expect(result.cohorts.map((c) => c.retained[0]!.rate)).toEqual([1 / 4, 0]);
  });

  it('splits cohorts into plan segments', async () => {
    const result = await retention(db.warehouse, { ...query, segmentBy: 'plan' }, db.dialect);
    const table = result.cohorts.map((c) => [
      c.week.slice(0, 10),
      c.segment,
      c.size,
      c.retained.map((r) => r.people),
    ]);
    expect(table).toEqual([
      ['2026-09-07', 'enterprise', 1, [0, 0, 0, 0, 0]], // r4
      ['2026-09-07', 'free', 2, [2, 1, 1, 1, 1]], // r1 r2: week 1 both, 2 r1, 4 r1, 8 r2, 12 r1
      ['2026-09-07', 'paid', 1, [1, 0, 0, 0, 0]], // r3
      ['2026-09-14', 'free', 1, [0, 1, 0, 0, null]], // r5
      ['2026-09-14', 'paid', 1, [1, 0, 1, 0, null]], // r6
    ]);
  });
});

describe('retention without a warehouse', () => {
  it('names the cohort week by its Monday', () => {
    expect(cohortWeek(new Date('2026-09-13T23:00:00Z'))).toBe('2026-09-07T00:00:00.000Z');
  });
});
