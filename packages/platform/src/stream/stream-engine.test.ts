import { describe, expect, it } from 'vitest';
import { count } from './aggregates.ts';
import { StreamEngine } from './stream-engine.ts';
import { defineStreamJob } from './stream-job.ts';
import { at, streamRecords } from './stream-test-events.ts';
import { hoppingWindow, seconds, tumblingWindow } from './windows.ts';

const perUser = (window = hoppingWindow(seconds(10), seconds(5))) =>
  defineStreamJob({ name: 'clicks', groupBy: { user: (e) => e.userId }, window, aggregates: { n: count() } });

describe('Azure Stream Analytics documentation examples', () => {
  it('counts an event at 00:10:05 in exactly the HOPPING(second, 10, 5) windows ending 00:10:05 and 00:10:10', () => {
    const engine = new StreamEngine([perUser()]);
    const t = at('2026-01-01T00:10:05Z');
    engine.process(streamRecords([{ time: t, arrival: t, userId: 'u' }]));
    const ends = engine.finish().map((r) => new Date(r.windowEnd).toISOString());
    expect(ends).toEqual(['2026-01-01T00:10:05.000Z', '2026-01-01T00:10:10.000Z']);
  });

  it('re-stamps an event stamped 00:10:00 that arrives at 00:10:40 to 00:10:25 with a 15 s tolerance', () => {
    const engine = new StreamEngine([perUser(tumblingWindow(seconds(1)))], {
      lateArrivalToleranceMs: seconds(15),
    });
    engine.process(
      streamRecords([{ time: at('2026-01-01T00:10:00Z'), arrival: at('2026-01-01T00:10:40Z'), userId: 'u' }]),
    );
    const rows = engine.finish();
    expect(rows.map((r) => new Date(r.windowEnd).toISOString())).toEqual(['2026-01-01T00:10:25.000Z']);
    expect(engine.timeline.counts).toMatchObject({ lateAdjusted: 1, lateDropped: 0, onTime: 0 });
  });

  it('excludes that event under the drop policy, and counts it', () => {
    const engine = new StreamEngine([perUser(tumblingWindow(seconds(1)))], {
      lateArrivalToleranceMs: seconds(15),
      latePolicy: 'drop',
    });
    engine.process(
      streamRecords([{ time: at('2026-01-01T00:10:00Z'), arrival: at('2026-01-01T00:10:40Z'), userId: 'u' }]),
    );
    expect(engine.finish()).toEqual([]);
    expect(engine.timeline.counts).toMatchObject({ lateDropped: 1, lateAdjusted: 0 });
  });
});

describe('early arrival', () => {
  it('re-stamps an event stamped in year 9999 to arrival + 5 minutes: the watermark moves no further', () => {
    const engine = new StreamEngine([perUser(tumblingWindow(seconds(60)))]);
    const arrival = at('2026-01-01T00:10:00Z');
    const later = at('2026-01-01T00:10:30Z');
    engine.process(
      streamRecords([
        { time: at('9999-12-31T23:59:00Z'), arrival, userId: 'u' },
        { time: later, arrival: later, userId: 'v' },
      ]),
    );
    expect(engine.watermark).toBe(at('2026-01-01T00:15:00Z'));
    // The next event is before that watermark: out of order, re-stamped to it, as any other would be.
    const rows = engine.finish().map((r) => [r.group.user, new Date(r.windowEnd).toISOString()]);
    expect(rows).toEqual([
      ['u', '2026-01-01T00:15:00.000Z'],
      ['v', '2026-01-01T00:15:00.000Z'],
    ]);
    expect(engine.timeline.counts).toMatchObject({
      earlyAdjusted: 1,
      earlyDropped: 0,
      outOfOrderAdjusted: 1,
    });
  });

  it('drops it under the drop policy, and counts it', () => {
    const engine = new StreamEngine([perUser(tumblingWindow(seconds(60)))], { latePolicy: 'drop' });
    const arrival = at('2026-01-01T00:10:00Z');
    engine.process(streamRecords([{ time: arrival + 300_001, arrival, userId: 'u' }]));
    expect(engine.finish()).toEqual([]);
    expect(engine.timeline.counts).toMatchObject({ earlyDropped: 1, earlyAdjusted: 0 });
  });

  it('takes an event up to the tolerance ahead as it is', () => {
    const engine = new StreamEngine([perUser(tumblingWindow(seconds(60)))]);
    const arrival = at('2026-01-01T00:10:00Z');
    engine.process(streamRecords([{ time: arrival + 300_000, arrival, userId: 'u' }]));
    expect(engine.finish().map((r) => new Date(r.windowEnd).toISOString())).toEqual([
      '2026-01-01T00:15:00.000Z',
    ]);
    expect(engine.timeline.counts).toMatchObject({ onTime: 1, earlyAdjusted: 0 });
  });
});

describe('the stream engine', () => {
  it('windows an event without a usable timestamp at its arrival time', () => {
    const engine = new StreamEngine([perUser(tumblingWindow(seconds(10)))]);
    engine.process(streamRecords([{ time: undefined, arrival: at('2026-01-01T00:00:03Z'), userId: 'u' }]));
    expect(engine.finish().map((r) => r.windowEnd)).toEqual([at('2026-01-01T00:00:10Z')]);
    expect(engine.timeline.counts.arrivalFallback).toBe(1);
  });

  it('leaves backfill (older than the horizon on arrival) out of the live windows, counted', () => {
    const engine = new StreamEngine([perUser()], { backfillHorizonMs: 3_600_000 });
    engine.process(
      streamRecords([{ time: at('2026-01-01T00:00:00Z'), arrival: at('2026-01-03T00:00:00Z'), userId: 'u' }]),
    );
    expect(engine.finish()).toEqual([]);
    expect(engine.timeline.counts.backfill).toBe(1);
  });

  it('emits a window once the watermark passes its end, and frees its state', () => {
    const engine = new StreamEngine([perUser(tumblingWindow(seconds(10)))]);
    const t0 = at('2026-01-01T00:00:01Z');
    expect(engine.process(streamRecords([{ time: t0, arrival: t0, userId: 'u' }]))).toEqual([]);
    expect(engine.counts().clicks?.openWindows).toBe(1);
    const later = at('2026-01-01T00:00:11Z');
    const rows = engine.process([
      { offset: 2, event: streamRecords([{ time: later, arrival: later, userId: 'u' }])[0]!.event },
    ]);
    expect(rows).toMatchObject([{ key: 'u', windowEnd: at('2026-01-01T00:00:10Z'), values: { n: 1 } }]);
    expect(engine.counts().clicks?.openWindows).toBe(1);
  });

  it('skips records at or below the offset it already holds', () => {
    const engine = new StreamEngine([perUser(tumblingWindow(seconds(10)))]);
    const records = streamRecords([{ time: 1_000, arrival: 1_000, userId: 'u' }]);
    engine.process(records);
    engine.process(records);
    expect(engine.finish()).toMatchObject([{ values: { n: 1 } }]);
  });
});

describe('groups of several values', () => {
  it('keeps one group per joined key, also for values that contain the separator U+001F', () => {
    const job = defineStreamJob({
      name: 'pairs',
      groupBy: { user: (e) => e.userId, session: (e) => e.sessionId },
      window: tumblingWindow(seconds(10)),
      aggregates: { n: count() },
    });
    const engine = new StreamEngine([job]);
    const t = at('2026-01-01T00:10:05Z');
    const event = (userId: string, sessionId: string) => ({ time: t, arrival: t, userId, sessionId });
    engine.process(
      streamRecords([
        event('a\u001fb', 'c'),
        event('a', 'b\u001fc'),
        event('a', 'c'),
        event('a', 'b\u001fc'),
      ]),
    );
    const rows = engine.finish().map((r) => ({ key: r.key, group: r.group, n: r.values.n }));
    expect(rows).toEqual([
      { key: 'a\u001fb\u001fc', group: { user: 'a\u001fb', session: 'c' }, n: 3 },
      { key: 'a\u001fc', group: { user: 'a', session: 'c' }, n: 1 },
    ]);
  });
});
