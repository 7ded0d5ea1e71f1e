import { describe, expect, it } from 'vitest';
import { DeeprefError } from '../errors.ts';
import { describeEachWarehouse, useWarehouse } from '../testing/warehouses.ts';
import { type CraftedEvent, craftedRecords } from './test-records.ts';
import { bucketStarts, trends } from './trends.ts';

const used = (at: string, person: string, feature: string): CraftedEvent => ({
  event: 'feature_used',
  at,
  person,
  properties: { feature },
});

const events: CraftedEvent[] = [
  used('2026-10-29T23:59:59Z', 'd', 'search'), // before the previous period
  used('2026-10-30T00:00:00Z', 'd', 'search'), // previous period, first day
  used('2026-11-01T12:00:00Z', 'b', 'search'), // previous period, last day
  used('2026-11-02T09:00:00Z', 'a', 'search'),
  used('2026-11-02T10:00:00Z', 'a', 'search'),
  used('2026-11-02T11:00:00Z', 'b', 'export'),
  used('2026-11-04T08:00:00Z', 'a', 'export'),
  used('2026-11-04T23:59:59Z', 'c', 'search'),
  used('2026-11-05T00:00:00Z', 'c', 'search'), // `to` is exclusive
  { event: 'page_view', at: '2026-11-03T00:00:00Z', person: 'a' }, // another event
];

const range = { from: '2026-11-02T00:00:00Z', to: '2026-11-05T00:00:00Z' };

describeEachWarehouse('trends', (engine) => {
  const db = useWarehouse(engine, craftedRecords(events));

  it('counts events and people per day, empty days included, beside the previous period', async () => {
    const result = await trends(
      db.warehouse,
      {
        ...range,
        event: 'feature_used',
        interval: 'day',
        compare: true,
      },
      db.dialect,
    );
    expect(result.series).toHaveLength(1);
    // Nov 2: a, a, b → 3 events, 2 people. Nov 3: none. Nov 4: a, c → 2 events, 2 people.
    expect(result.series[0]!.points).toEqual([
      { bucket: '2026-11-02T00:00:00.000Z', count: 3, users: 2 },
      { bucket: '2026-11-03T00:00:00.000Z', count: 0, users: 0 },
      { bucket: '2026-11-04T00:00:00.000Z', count: 2, users: 2 },
    ]);
    // 3 + 0 + 2 = 5 events; people a, b, c = 3 (not 2 + 2 = 4).
    expect(result.series[0]!.total).toEqual({ count: 5, users: 3 });
    // The 3 days before: Oct 30 (d), Oct 31 (none), Nov 1 (b); Oct 29 23:59:59 is outside.
    expect(result.previous?.from).toBe('2026-10-30T00:00:00.000Z');
    expect(result.previous!.series[0]!.points.map((p) => [p.bucket.slice(0, 10), p.count, p.users])).toEqual([
      ['2026-10-30', 1, 1],
      ['2026-10-31', 0, 0],
      ['2026-11-01', 1, 1],
    ]);
    expect(result.previous!.series[0]!.total).toEqual({ count: 2, users: 2 });
  });

  it('splits by a property', async () => {
    const result = await trends(
      db.warehouse,
      {
        ...range,
        event: 'feature_used',
        interval: 'day',
        breakdown: 'feature',
      },
      db.dialect,
    );
    const byValue = result.series.map((s) => [s.breakdownValue, s.points.map((p) => p.count), s.total]);
    // search: Nov 2 a a, Nov 4 c → 3 events, people a c.  export: Nov 2 b, Nov 4 a → 2 events, people a b.
    expect(byValue).toEqual([
      ['search', [2, 0, 1], { count: 3, users: 2 }],
      ['export', [1, 0, 1], { count: 2, users: 2 }],
    ]);
  });

  it('truncates to ISO weeks and months', async () => {
    // Monday 2026-11-02 starts the week; the range holds one weekly and one monthly bucket.
    const weekly = await trends(
      db.warehouse,
      { ...range, event: 'feature_used', interval: 'week' },
      db.dialect,
    );
    expect(weekly.series[0]!.points).toEqual([{ bucket: '2026-11-02T00:00:00.000Z', count: 5, users: 3 }]);
    const monthly = await trends(
      db.warehouse,
      {
        from: '2026-10-15T00:00:00Z',
        to: '2026-11-15T00:00:00Z',
        event: 'feature_used',
        interval: 'month',
      },
      db.dialect,
    );
    // October: Oct 29 d, Oct 30 d → 2 events, 1 person. November: Nov 1 … Nov 5 → 7 events (b a a b a c c), 3 people.
    expect(monthly.series[0]!.points).toEqual([
      { bucket: '2026-10-01T00:00:00.000Z', count: 2, users: 1 },
      { bucket: '2026-11-01T00:00:00.000Z', count: 7, users: 3 },
    ]);
  });

  it('refuses a bad range, interval or property name', async () => {
    const base = { ...range, event: 'feature_used', interval: 'day' as const };
    for (const bad of [
      { ...base, from: 'yesterday' },
      { ...base, from: range.to, to: range.from },
      { ...base, interval: 'year' as 'day' },
      { ...base, breakdown: 'feature"; DROP TABLE events; --' },
      { ...base, event: '' },
    ]) {
      await expect(trends(db.warehouse, bad, db.dialect)).rejects.toThrow(DeeprefError);
    }
  });
});

describe('trend buckets', () => {
  it('makes hourly buckets and refuses too many', () => {
    const hours = bucketStarts(new Date('2026-11-02T22:30:00Z'), new Date('2026-11-03T01:00:00Z'), 'hour');
    expect(hours).toEqual([
      '2026-11-02T22:00:00.000Z',
      '2026-11-02T23:00:00.000Z',
      '2026-11-03T00:00:00.000Z',
    ]);
    expect(() =>
      bucketStarts(new Date('2026-01-01T00:00:00Z'), new Date('2027-01-01T00:00:00Z'), 'hour'),
    ).toThrow(DeeprefError);
  });
});
