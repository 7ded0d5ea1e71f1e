import { describe, expect, it } from 'vitest';
import { describeEachWarehouse, useWarehouse } from '../testing/warehouses.ts';
import { behaviourCohortOf, behaviourCohorts } from './behaviour-cohorts.ts';
import { type CraftedEvent, craftedRecords } from './test-records.ts';

/** `n` events named `event` by `person`, one second apart from `start`. */
function repeated(
  n: number,
  event: string,
  person: string,
  start: string,
  anonymous = false,
): CraftedEvent[] {
  const t0 = new Date(start).getTime();
  return Array.from({ length: n }, (_, i) => ({
    event,
    at: new Date(t0 + i * 1000).toISOString(),
    person,
    anonymous,
  }));
}

// Weeks: Monday 2026-11-02 and Monday 2026-11-09.
const events: CraftedEvent[] = [
  ...repeated(101, 'prompt_submission', 'p1', '2026-11-02T00:00:00Z'), // 101 → power
  ...repeated(90, 'prompt_submission', 'p2', '2026-11-03T09:00:00Z'),
  ...repeated(10, 'response_regenerated', 'p2', '2026-11-03T10:00:00Z'), // 90 + 10 = 100 → casual
  ...repeated(10, 'prompt_submission', 'p3', '2026-11-08T23:59:50Z'), // 10, the last at Sunday 23:59:59 → casual
  ...repeated(9, 'prompt_submission', 'p4', '2026-11-04T12:00:00Z'),
  ...repeated(5, 'ai_feedback', 'p4', '2026-11-04T13:00:00Z'),
  ...repeated(5, 'response_received', 'p4', '2026-11-04T14:00:00Z'), // 9 interactions → dormant
  ...repeated(3, 'page_view', 'p5', '2026-11-05T12:00:00Z'), // 0 → dormant
  // Week of Nov 9; the range ends Thursday Nov 12, yet the week is counted whole.
  ...repeated(50, 'prompt_submission', 'p1', '2026-11-14T10:00:00Z'), // 50 → casual
  ...repeated(150, 'prompt_submission', 'p3', '2026-11-09T00:00:00Z'), // 150 → power
  ...repeated(12, 'prompt_submission', 'v1', '2026-11-15T23:59:00Z', true), // anonymous, 12 → casual
  // Week of Nov 16: outside.
  ...repeated(101, 'prompt_submission', 'p5', '2026-11-16T00:00:00Z'),
];

describe('behaviour cohort thresholds', () => {
  it('puts more than 100 in power, 10 to 100 in casual, fewer than 10 in dormant', () => {
    expect([0, 9, 10, 100, 101].map(behaviourCohortOf)).toEqual([
      'dormant',
      'dormant',
      'casual',
      'casual',
      'power',
    ]);
  });
});

describeEachWarehouse('behaviour cohorts', (engine) => {
  const db = useWarehouse(engine, craftedRecords(events));

  it('counts power, casual and dormant people per whole ISO week', async () => {
    const result = await behaviourCohorts(
      db.warehouse,
      { from: '2026-11-02T00:00:00Z', to: '2026-11-12T00:00:00Z' },
      db.dialect,
    );
    expect(result.weeks).toEqual([
      // p1 power; p2, p3 casual; p4, p5 dormant.
      { week: '2026-11-02T00:00:00.000Z', activePeople: 5, power: 1, casual: 2, dormant: 2 },
      // p3 power; p1, v1 casual.
      { week: '2026-11-09T00:00:00.000Z', activePeople: 3, power: 1, casual: 2, dormant: 0 },
    ]);
  });

  it('reports a week without events as zeros', async () => {
    const result = await behaviourCohorts(
      db.warehouse,
      { from: '2026-10-26T00:00:00Z', to: '2026-11-02T00:00:00Z' },
      db.dialect,
    );
    expect(result.weeks).toEqual([
      { week: '2026-10-26T00:00:00.000Z', activePeople: 0, power: 0, casual: 0, dormant: 0 },
    ]);
  });
});
