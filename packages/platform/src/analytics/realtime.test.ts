import { expect, it } from 'vitest';
import { MemoryRealtimeStore } from '../stream/realtime/memory/memory-realtime-store.ts';
import { RealtimeResultSink } from '../stream/sinks/realtime-sink.ts';
import { describeEachWarehouse, useWarehouse } from '../testing/warehouses.ts';
import { realtimeCards } from './realtime.ts';
import { type CraftedEvent, craftedRecords } from './test-records.ts';

const now = new Date('2026-11-20T12:00:00Z');
const view = (at: string, person: string, anonymous = false): CraftedEvent => ({
  event: 'page_view',
  at,
  person,
  anonymous,
});
const call = (at: string, endpoint: string, method: string, ms: number, status: number): CraftedEvent => ({
  event: 'api_latency',
  at,
  person: 'b',
  properties: { endpoint, method, duration_ms: ms, status_code: status },
});

const events: CraftedEvent[] = [
  view('2026-11-20T11:55:00Z', 'a'), // exactly 5 minutes ago: outside (start exclusive)
  view('2026-11-20T11:55:01Z', 'b'),
  view('2026-11-20T11:59:00Z', 'b'),
  view('2026-11-20T11:58:00Z', 'v1', true),
  view('2026-11-20T12:00:00Z', 'c'), // now: inside (end inclusive)
  view('2026-11-20T12:00:01Z', 'd'), // after now
  call('2026-11-20T11:00:00Z', '/api/docs', 'GET', 10, 500), // exactly an hour ago: outside
  call('2026-11-20T11:30:00Z', '/api/docs', 'GET', 10, 404),
  call('2026-11-20T11:45:00Z', '/api/search', 'POST', 10, 200),
  call('2026-11-20T11:59:00Z', '/api/docs', 'GET', 1000, 500), // exactly a minute ago: hour only
  call('2026-11-20T11:59:10Z', '/api/docs', 'GET', 100, 200),
  call('2026-11-20T11:59:20Z', '/api/docs', 'GET', 300, 200),
  call('2026-11-20T11:59:30Z', '/api/docs', 'GET', 200, 503),
  call('2026-11-20T11:59:59Z', '/api/search', 'POST', 50, 200),
  call('2026-11-20T12:00:30Z', '/api/docs', 'GET', 10, 500), // after now
];

describeEachWarehouse('real-time cards', (engine) => {
  const db = useWarehouse(engine, craftedRecords(events));

  it('computes the three cards from the warehouse', async () => {
    const cards = await realtimeCards({ warehouse: db.warehouse, now }, db.dialect);
    // (11:55, 12:00]: b, v1, c (and b's api calls) → 3 people; a is on the open end, d after now.
    expect(cards.activeUsers).toEqual({ activeUsers: 3, windowEnd: now.toISOString(), source: 'warehouse' });
    // (11:59, 12:00]: /api/docs GET 100, 300, 200 → avg 200; p95 = 200 + 0.9·(300 − 200) = 290 (rank 1.9).
    expect(cards.apiLatency).toEqual({
      source: 'warehouse',
      endpoints: [
        {
          endpoint: '/api/docs',
          method: 'GET',
          requests: 3,
          avgLatencyMs: 200,
          p95LatencyMs: 290,
          windowEnd: now.toISOString(),
        },
        {
          endpoint: '/api/search',
          method: 'POST',
          requests: 1,
          avgLatencyMs: 50,
          p95LatencyMs: 50,
          windowEnd: now.toISOString(),
        },
      ],
    });
    // (11:00, 12:00]: 7 calls; 500 and 503 are server errors, 404 a client error.
    expect(cards.errorRate).toEqual({
      requests: 7,
      serverErrors: 2,
      clientErrors: 1,
      errorRate: 2 / 7,
      from: '2026-11-20T11:00:00.000Z',
      to: now.toISOString(),
      source: 'warehouse',
    });
  });

  it('reads active users and latency from the stream jobs when a real-time store is given', async () => {
    const realtime = new MemoryRealtimeStore({ sweepIntervalMs: 0 });
    const at = (secondsAgo: number) => now.getTime() - secondsAgo * 1000;
    await new RealtimeResultSink(realtime).write([
      {
        job: 'active_users',
        key: '',
        group: {},
        windowStart: at(320),
        windowEnd: at(20),
        values: { activeUsers: 42 },
      },
      {
        job: 'api_metrics',
        key: '/api/docs\u001fGET',
        group: { endpoint: '/api/docs', method: 'GET' },
        windowStart: at(120),
        windowEnd: at(60),
        values: { requests: 10, avgLatencyMs: 120, p95LatencyMs: 250 },
      },
      {
        job: 'api_metrics',
        key: '/api/old\u001fGET',
        group: { endpoint: '/api/old', method: 'GET' },
        windowStart: at(360),
        windowEnd: at(300), // 5 minutes old: no longer live
        values: { requests: 99, avgLatencyMs: 1, p95LatencyMs: 1 },
      },
    ]);
    try {
      const cards = await realtimeCards({ warehouse: db.warehouse, realtime, now }, db.dialect);
      expect(cards.activeUsers).toEqual({
        activeUsers: 42,
        windowEnd: '2026-11-20T11:59:40.000Z',
        source: 'stream',
      });
      expect(cards.apiLatency).toEqual({
        source: 'stream',
        endpoints: [
          {
            endpoint: '/api/docs',
            method: 'GET',
            requests: 10,
            avgLatencyMs: 120,
            p95LatencyMs: 250,
            windowEnd: '2026-11-20T11:59:00.000Z',
          },
        ],
      });
      // The hour's error rate still comes from the warehouse.
      expect(cards.errorRate.source).toBe('warehouse');
      expect(cards.errorRate.serverErrors).toBe(2);
    } finally {
      await realtime.close();
    }
  });
});
