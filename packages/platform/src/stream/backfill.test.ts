/**
 * Recomputing a backfilled day from each warehouse (DuckDB, and PostgreSQL when reachable) at the ends of the years
 * a stored time can name: year 0000's first day, whose margin reaches into year -1 (1 BC to PostgreSQL, which has no
 * year 0), and 9999-12-31, whose margin reaches into year 10000, which DuckDB does not read.
 */
import { firstStorableMillis, lastStorableMillis } from '@deepref/schema';
import { expect, it } from 'vitest';
import { storedEvent } from '../storage/test-events.ts';
import { describeEachWarehouse, useWarehouse } from '../testing/warehouses.ts';
import { DAY_MS, recomputeDay } from './backfill.ts';
import { defaultStreamJobs } from './jobs/index.ts';

const event = (n: number, time: number, userId: string) => {
  const timestamp = new Date(time).toISOString();
  return {
    offset: n,
    event: storedEvent(n, { timestamp, originalTimestamp: timestamp, receivedAt: timestamp, userId }),
  };
};

describeEachWarehouse('recomputeDay', (engine) => {
  const live = useWarehouse(engine, [
    event(1, firstStorableMillis, 'user-first'),
    event(2, firstStorableMillis + 60_000, 'user-second'),
    event(3, lastStorableMillis, 'user-last'),
  ]);
  const jobs = defaultStreamJobs();

  it('reads year 0000’s first day from its first instant on', async () => {
    const rows = await recomputeDay(jobs, live.warehouse, firstStorableMillis);
    // The first instant's event is in the day's first active_users window (10 s hops), alone.
    const active = rows.filter((row) => row.job === 'active_users');
    expect(active[0]).toMatchObject({ windowEnd: firstStorableMillis + 10_000, values: { activeUsers: 1 } });
    expect(active.find((row) => row.windowEnd === firstStorableMillis + 70_000)?.values.activeUsers).toBe(2);
  });

  it('reads 9999-12-31 up to its last instant', async () => {
    const day = lastStorableMillis + 1 - DAY_MS;
    const rows = await recomputeDay(jobs, live.warehouse, day);
    const sessions = rows.filter((row) => row.job === 'session_metrics');
    expect(sessions).toEqual([
      expect.objectContaining({
        group: expect.objectContaining({ userId: 'user-last' }),
        windowEnd: lastStorableMillis + 1,
        values: { eventCount: 1, sessionStart: lastStorableMillis, sessionEnd: lastStorableMillis },
      }),
    ]);
  });
});
