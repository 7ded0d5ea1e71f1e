/**
 * The six jobs on crafted streams with hand-computed answers, including the three queries of the reference §3.2.
 */
import { describe, expect, it } from 'vitest';
import { StreamEngine } from '../stream-engine.ts';
import { type AnyStreamJob, defineStreamJob, type WindowResult } from '../stream-job.ts';
import { at, streamRecords, type TestEventInput } from '../stream-test-events.ts';
import { activeUsersJob } from './active-users.ts';
import { aiResponseMetricsJob } from './ai-response-metrics.ts';
import { alertsJob } from './alerts.ts';
import { apiMetricsJob } from './api-metrics.ts';
import { sessionMetricsJob } from './session-metrics.ts';
import { userEngagementJob } from './user-engagement.ts';

const t = (hms: string) => at(`2026-03-01T${hms}Z`);
const iso = (ms: number) => new Date(ms).toISOString().slice(11, 19);
const ev = (
  hms: string,
  userId: string,
  sessionId: string,
  extra: Partial<TestEventInput> = {},
): TestEventInput => ({
  time: t(hms),
  arrival: t(hms),
  userId,
  sessionId,
  ...extra,
});

function run(jobs: AnyStreamJob[], events: TestEventInput[]): WindowResult[] {
  const engine = new StreamEngine(jobs, { lateArrivalToleranceMs: 60_000 });
  return [...engine.process(streamRecords(events)), ...engine.finish()];
}

const sessions = [
  ev('10:00:30', 'alice', 's1'),
  ev('10:01:00', 'bob', 's3'),
  ev('10:01:20', 'bob', 's3'),
  ev('10:02:00', 'alice', 's1'),
  ev('10:04:59', 'alice', 's1'),
  ev('10:06:10', 'alice', 's1'),
  ev('10:07:00', 'alice', 's2'),
  ev('10:08:30', 'alice', 's2'),
];

describe('§3.2 SessionMetrics', () => {
  it('counts events and finds session start and end per user, session and 5 minutes', () => {
    const rows = run([sessionMetricsJob as AnyStreamJob], sessions).map((r) => ({
      user: r.group.userId,
      session: r.group.sessionId,
      end: iso(r.windowEnd),
      count: r.values.eventCount,
      start: iso(r.values.sessionStart as number),
      last: iso(r.values.sessionEnd as number),
    }));
    expect(rows).toEqual([
      { user: 'alice', session: 's1', end: '10:05:00', count: 3, start: '10:00:30', last: '10:04:59' },
      { user: 'bob', session: 's3', end: '10:05:00', count: 2, start: '10:01:00', last: '10:01:20' },
      { user: 'alice', session: 's1', end: '10:10:00', count: 1, start: '10:06:10', last: '10:06:10' },
      { user: 'alice', session: 's2', end: '10:10:00', count: 2, start: '10:07:00', last: '10:08:30' },
    ]);
  });
});

describe('§3.2 UserEngagement', () => {
  it('averages session durations, sums events and counts sessions per user over 60 minutes every 5', () => {
    const rows = run([sessionMetricsJob as AnyStreamJob, userEngagementJob as AnyStreamJob], sessions).filter(
      (r) => r.job === 'user_engagement',
    );
    const alice = rows.filter((r) => r.key === 'alice');
    const bob = rows.filter((r) => r.key === 'bob');
    // alice's session rows: s1@10:05 (269 s), s1@10:10 (0 s), s2@10:10 (90 s); bob's: s3@10:05 (20 s).
    expect(alice.map((r) => iso(r.windowEnd))).toEqual([
      '10:05:00',
      '10:10:00',
      '10:15:00',
      '10:20:00',
      '10:25:00',
      '10:30:00',
      '10:35:00',
      '10:40:00',
      '10:45:00',
      '10:50:00',
      '10:55:00',
      '11:00:00',
      '11:05:00',
    ]);
    expect(alice[0]!.values).toEqual({ avgSessionDuration: 269, totalEvents: 3, sessionCount: 1 });
    for (const row of alice.slice(1, 12)) {
      expect(row.values).toEqual({ avgSessionDuration: (269 + 0 + 90) / 3, totalEvents: 6, sessionCount: 2 });
    }
    expect(alice[12]!.values).toEqual({ avgSessionDuration: 45, totalEvents: 3, sessionCount: 2 });
    expect(bob).toHaveLength(12);
    for (const row of bob)
      expect(row.values).toEqual({ avgSessionDuration: 20, totalEvents: 2, sessionCount: 1 });
  });
});

describe('§3.2 SessionMetrics WHERE EventCount > 1000 into the alerting system', () => {
  it('passes the session window with 1,001 events and not the one with 1,000', () => {
    // n events 200 ms apart from 10:00:01, all inside (10:00, 10:05].
    const busy = (user: string, n: number) =>
      Array.from({ length: n }, (_, i) => ({ ...ev('10:00:01', user, 'x'), time: t('10:00:01') + i * 200 }));
    const alerting = defineStreamJob({
      ...sessionMetricsJob,
      name: 'session_alerts',
      having: (row) => (row.values.eventCount as number) > 1000,
    });
    const rows = run([alerting as AnyStreamJob], [...busy('carol', 1001), ...busy('dave', 1000)]);
    expect(rows.map((r) => [r.key, r.values.eventCount])).toEqual([['carol\u001fx', 1001]]);
  });
});

describe('event volume alerts', () => {
  it('raises for a user above the configured threshold in a window', () => {
    const events = [1, 2, 3, 4]
      .map((s) => ev(`10:00:0${s}`, 'erin', 'a'))
      .concat(ev('10:00:05', 'finn', 'b'));
    const rows = run([alertsJob({ threshold: 3 }) as AnyStreamJob], events);
    expect(rows).toMatchObject([{ key: 'erin', values: { eventCount: 4, threshold: 3 } }]);
  });
});

describe('API metrics', () => {
  it('gives requests, latency, p95/p99, error rate and requests per second per endpoint and minute', () => {
    const call = (s: string, duration: number, status: number) =>
      ev(`10:00:${s}`, 'svc', 'x', {
        eventName: 'api_latency',
        properties: { endpoint: '/api/orders', method: 'GET', duration_ms: duration, status_code: status },
      });
    const rows = run(
      [apiMetricsJob as AnyStreamJob],
      [
        call('05', 10, 200),
        call('15', 20, 200),
        call('25', 30, 500),
        call('35', 40, 200),
        ev('10:00:40', 'u', 's'),
      ],
    );
    expect(rows).toHaveLength(1);
    const v = rows[0]!.values as Record<string, number>;
    expect(rows[0]!.group).toEqual({ endpoint: '/api/orders', method: 'GET' });
    expect(v.requests).toBe(4);
    expect(v.avgLatencyMs).toBe(25);
    // Rank ⌊0.95·3⌋ = ⌊0.99·3⌋ = 2 of [10, 20, 30, 40]: 30, within 1%.
    expect(Math.abs(v.p95LatencyMs! - 30)).toBeLessThanOrEqual(0.3);
    expect(Math.abs(v.p99LatencyMs! - 30)).toBeLessThanOrEqual(0.3);
    expect(v.errorRate).toBe(0.25);
    expect(v.requestsPerSecond).toBe(4 / 60);
  });
});

describe('AI response metrics', () => {
  it('gives success rate, latency, tokens and tokens per second per model', () => {
    const response = (s: string, success: boolean, ms: number, completion: number) =>
      ev(`10:00:${s}`, 'u', 's', {
        eventName: 'response_received',
        properties: {
          model_used: 'gpt-4o',
          success,
          generation_time_ms: ms,
          prompt_tokens: 10,
          completion_tokens: completion,
        },
      });
    const rows = run(
      [aiResponseMetricsJob as AnyStreamJob],
      [response('10', true, 1000, 100), response('20', false, 3000, 500)],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.values).toMatchObject({
      responses: 2,
      successRate: 0.5,
      avgGenerationMs: 2000,
      promptTokens: 20,
      completionTokens: 600,
      tokensPerSecond: 150,
    });
  });
});

describe('active users', () => {
  it('counts distinct users of the last 5 minutes every 10 seconds', () => {
    const rows = run(
      [activeUsersJob as AnyStreamJob],
      [
        ev('10:00:01', 'a', 's'),
        ev('10:00:02', 'b', 's'),
        ev('10:00:09', 'a', 's'),
        ev('10:00:15', 'c', 's'),
      ],
    );
    const byEnd = new Map(rows.map((r) => [iso(r.windowEnd), r.values.activeUsers]));
    expect(byEnd.get('10:00:10')).toBe(2);
    expect(byEnd.get('10:00:20')).toBe(3);
    expect(byEnd.get('10:05:00')).toBe(3);
    expect(byEnd.get('10:05:10')).toBe(1);
    expect(byEnd.get('10:05:20')).toBeUndefined();
  });
});
