/**
 * Backfill and the results' retention, through the real platform: a day whose windows all ended before the
 * aggregated-metrics retention (`retention.aggregatedMetricsDays`, 730 days) is not recomputed, as the retention
 * job would delete its rows; a day within it is.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../testing/test-platform.ts';

let tp: TestPlatform;
beforeAll(async () => {
  tp = await startTestPlatform();
});
afterAll(async () => {
  await tp.close();
});

const DAY = 86_400_000;

/** An event at 10:00 UTC `days` days ago, sent now: backfill. */
function eventDaysAgo(days: number, sessionId: string) {
  return {
    eventId: randomUUID(),
    eventName: 'page_view',
    timestamp: new Date(Math.floor((Date.now() - days * DAY) / DAY) * DAY + 10 * 3_600_000).toISOString(),
    sentAt: new Date().toISOString(),
    userId: 'u-backfill-retention',
    sessionId,
  };
}

async function sessionRows(sessionId: string): Promise<number> {
  const result = await tp.platform.warehouse.query(
    `SELECT count(*) FROM stream_results WHERE job = 'session_metrics' AND group_key LIKE $1`,
    [`%${sessionId}%`],
  );
  return Number(result.rows[0]![0]);
}

describe('backfill past the results’ retention', () => {
  it('recomputes a day within the aggregated-metrics retention, and not one past it', async () => {
    const [kept, expired] = [`s-${randomUUID()}`, `s-${randomUUID()}`];
    const events = [eventDaysAgo(729, kept), eventDaysAgo(732, expired)];
    expect((await tp.post('/api/telemetry/events', events)).status).toBe(200);
    await tp.platform.drain();
    expect(await sessionRows(kept)).toBe(1);
    expect(await sessionRows(expired)).toBe(0);
  });
});
