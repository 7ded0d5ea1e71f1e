/**
 * Backfill through the real platform: events sent days after their own time are not re-stamped into live windows
 * but land, once the warehouse holds them, in the windows of their own event time — recomputed from every event
 * the warehouse has for that day, so a second import for the same day corrects the rows rather than adding to them.
 * A day whose windows all ended before the results' retention (`retention.aggregatedMetricsDays`, 730 days) is not
 * recomputed, as the retention job would delete its rows.
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
/** 10:00 UTC `days` days ago: a 5-minute session window (10:00, 10:05]. */
const daysAgo = (days: number) => Math.floor((Date.now() - days * DAY) / DAY) * DAY + 10 * 3_600_000;
const base = daysAgo(3);

function event(minute: number, second: number, userId: string, sessionId: string, day = base) {
  return {
    eventId: randomUUID(),
    eventName: 'page_view',
    timestamp: new Date(day + minute * 60_000 + second * 1000).toISOString(),
    sentAt: new Date().toISOString(),
    userId,
    sessionId,
    properties: { page_url: 'https://app.example/docs' },
  };
}

async function sessionRows(sessionId: string) {
  const result = await tp.platform.warehouse.query(
    `SELECT window_end, result FROM stream_results WHERE job = 'session_metrics' AND group_key LIKE $1 ORDER BY window_end_ms`,
    [`%${sessionId}%`],
  );
  return result.rows.map(([end, values]) => ({
    end,
    eventCount: (typeof values === 'string' ? JSON.parse(values) : values).eventCount,
  }));
}

describe('backfill recomputation', () => {
  it('puts old events into the windows of their own time, and corrects them when more arrive', async () => {
    const sessionId = `s-${randomUUID()}`;
    const first = [
      event(0, 10, 'u-backfill', sessionId),
      event(1, 0, 'u-backfill', sessionId),
      event(4, 59, 'u-backfill', sessionId),
    ];
    expect((await tp.post('/api/telemetry/events', first)).status).toBe(200);
    await tp.platform.drain();
    const windowEnd = new Date(base + 5 * 60_000).toISOString();
    // Nothing near "now": the three events are in the 10:05 window of their own day, and only there.
    expect(await sessionRows(sessionId)).toEqual([{ end: windowEnd, eventCount: 3 }]);

    // A second import for the same day and window: the row is recomputed from all five, not incremented twice.
    const second = [event(2, 0, 'u-backfill', sessionId), event(3, 0, 'u-backfill', sessionId)];
    expect((await tp.post('/api/telemetry/events', second)).status).toBe(200);
    await tp.platform.drain();
    expect(await sessionRows(sessionId)).toEqual([{ end: windowEnd, eventCount: 5 }]);

    const metrics = await (await fetch(`${tp.url}/metrics`)).text();
    expect(metrics).toMatch(/deepref_stream_events_total\{outcome="backfill"\} 5/);
    expect(Number(/deepref_stream_backfill_days_total (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(2);
  });

  it('recomputes a day within the aggregated-metrics retention, and not one past it', async () => {
    const [kept, expired] = [`s-${randomUUID()}`, `s-${randomUUID()}`];
    const events = [
      event(0, 0, 'u-retention', kept, daysAgo(729)),
      event(0, 0, 'u-retention', expired, daysAgo(732)),
    ];
    expect((await tp.post('/api/telemetry/events', events)).status).toBe(200);
    await tp.platform.drain();
    expect(await sessionRows(kept)).toHaveLength(1);
    expect(await sessionRows(expired)).toEqual([]);
  });
});
