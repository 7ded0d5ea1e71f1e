import { expect, it } from 'vitest';
import { describeEachWarehouse, useWarehouse } from '../testing/warehouses.ts';
import { featureAdoption } from './feature-adoption.ts';
import { type CraftedEvent, craftedRecords } from './test-records.ts';

const used = (at: string, person: string, feature: string): CraftedEvent => ({
  event: 'feature_used',
  at,
  person,
  properties: { feature },
});
const explored = (at: string, person: string, feature: string): CraftedEvent => ({
  event: 'feature_exploration',
  at,
  person,
  properties: { feature },
});
const signup = (at: string, person: string): CraftedEvent => ({
  event: 'signup',
  at,
  person,
  properties: { method: 'email' },
});

const events: CraftedEvent[] = [
  signup('2026-11-02T00:00:00Z', 'u1'),
  explored('2026-11-02T01:00:00Z', 'u1', 'search'), // first use of search: 3,600 s after signup
  used('2026-11-02T02:00:00Z', 'u1', 'search'),
  used('2026-11-03T02:00:00Z', 'u1', 'search'),
  used('2026-11-05T00:00:00Z', 'u1', 'export'), // first use of export: 3 days = 259,200 s after signup
  signup('2026-11-03T00:00:00Z', 'u2'),
  used('2026-11-03T00:30:00Z', 'u2', 'search'), // 1,800 s after signup
  signup('2026-10-20T00:00:00Z', 'u3'),
  used('2026-10-25T00:00:00Z', 'u3', 'search'), // first use before the range
  used('2026-11-04T00:00:00Z', 'u3', 'search'),
  { event: 'page_view', at: '2026-11-04T00:00:00Z', person: 'u4' },
  signup('2026-11-08T12:00:00Z', 'u5'),
  signup('2026-11-06T00:00:00Z', 'u6'),
  used('2026-11-10T00:00:00Z', 'u6', 'export'), // after the range
  explored('2026-11-04T00:00:00Z', 'u7', 'templates'), // opened, never used
];

describeEachWarehouse('feature adoption', (engine) => {
  const db = useWarehouse(engine, craftedRecords(events));

  it('measures adoption, frequency and time to first use per feature', async () => {
    const result = await featureAdoption(
      db.warehouse,
      { from: '2026-11-02T00:00:00Z', to: '2026-11-09T00:00:00Z' },
      db.dialect,
    );
    // Active in the range: u1 … u7 = 7. Signups in the range: u1 u2 u5 u6 = 4.
    expect(result.activePeople).toBe(7);
    expect(result.signups).toBe(4);
    expect(result.features).toEqual([
      {
        // Uses u1 ×2, u2, u3 = 4 by 3 people; new: u1, u2 (u3 first used it in October).
        feature: 'search',
        users: 3,
        uses: 4,
        adoptionRate: 3 / 7,
        usesPerUser: 4 / 3,
        newUsers: 2,
        signupsAdopted: 2,
        medianSecondsToFirstUse: (3600 + 1800) / 2,
      },
      {
        // u1 only; u6's use is after the range.
        feature: 'export',
        users: 1,
        uses: 1,
        adoptionRate: 1 / 7,
        usesPerUser: 1,
        newUsers: 1,
        signupsAdopted: 1,
        medianSecondsToFirstUse: 259_200,
      },
      {
        feature: 'templates',
        users: 0,
        uses: 0,
        adoptionRate: 0,
        usesPerUser: 0,
        newUsers: 1,
        signupsAdopted: 0,
        medianSecondsToFirstUse: null,
      },
    ]);
    // The onboarding funnel is the existing one: its first step is the 4 signups.
    expect(result.onboarding.breakdowns[0]!.steps[0]).toMatchObject({ event: 'signup', count: 4 });
  });
});
