/**
 * The engine against brute force: for random out-of-order streams, random tolerances and policies, and random
 * batch boundaries (with a checkpoint round trip in the middle), every window type's rows equal those of an
 * oracle that applies the definitions of `windows.ts` and `event-time.ts` directly to the whole stream.
 */
import type { StoredEvent } from '@deepref/schema';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { count, countDistinct, first, last, max, min, percentile, sum } from './aggregates.ts';
import type { EventTimePolicy } from './event-time.ts';
import { StreamEngine } from './stream-engine.ts';
import { defineStreamJob, type WindowResult } from './stream-job.ts';
import { streamRecords, type TestEventInput } from './stream-test-events.ts';
import {
  hoppingWindow,
  sessionCutoff,
  sessionWindow,
  slidingWindow,
  tumblingWindow,
  type WindowSpec,
} from './windows.ts';

const base = Date.UTC(2026, 0, 1, 0, 0, 0);

interface Generated {
  events: TestEventInput[];
  policy: EventTimePolicy;
  cuts: number[];
  checkpointAt: number;
}

const streams = fc
  .record({
    raw: fc.array(
      fc.record({
        gap: fc.integer({ min: 0, max: 4_000 }),
        delay: fc.integer({ min: 0, max: 25_000 }),
        ahead: fc.integer({ min: 0, max: 3 }),
        untimed: fc.integer({ min: 0, max: 19 }),
        key: fc.constantFrom('a', 'b', 'c'),
        v: fc.integer({ min: -50, max: 50 }),
        tag: fc.constantFrom('x', 'y', 'z', 'w'),
      }),
      { maxLength: 60 },
    ),
    late: fc.constantFrom(0, 2_000, 5_000, 15_000),
    // Events come up to 3 s ahead of their arrival: some tolerances leave them early.
    early: fc.constantFrom(0, 1_500, 300_000),
    outOfOrder: fc.constantFrom(0, 1_000, 3_000, 10_000),
    latePolicy: fc.constantFrom('adjust' as const, 'drop' as const),
    backfill: fc.constantFrom(20_000, Number.POSITIVE_INFINITY),
    cuts: fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 5 }),
    checkpointAt: fc.integer({ min: 0, max: 60 }),
  })
  .map(({ raw, late, early, outOfOrder, latePolicy, backfill, cuts, checkpointAt }): Generated => {
    let arrival = base + 100_000;
    const events = raw.map((r) => {
      arrival += r.gap;
      // Whole seconds now and then, so events fall exactly on window boundaries.
      const t = arrival - r.delay + r.ahead * 1_000;
      const time = r.delay % 3 === 0 ? Math.round(t / 1_000) * 1_000 : t;
      return {
        time: r.untimed === 0 ? undefined : time,
        arrival,
        userId: r.key,
        properties: { v: r.v, tag: r.tag },
      };
    });
    return {
      events,
      policy: {
        lateArrivalToleranceMs: late,
        earlyArrivalToleranceMs: early,
        outOfOrderToleranceMs: outOfOrder,
        latePolicy,
        backfillHorizonMs: backfill,
      },
      cuts,
      checkpointAt,
    };
  });

interface Stamped {
  key: string;
  t: number;
  seq: number;
  v: number;
  tag: string;
}

/** The input policy, event by event, straight from its definition. */
function oracleStamp(events: TestEventInput[], p: EventTimePolicy) {
  const counts = {
    onTime: 0,
    lateAdjusted: 0,
    lateDropped: 0,
    earlyAdjusted: 0,
    earlyDropped: 0,
    outOfOrderAdjusted: 0,
    outOfOrderDropped: 0,
    backfill: 0,
  };
  const stamped: Stamped[] = [];
  let watermark = Number.NEGATIVE_INFINITY;
  events.forEach((e, seq) => {
    let t = e.time ?? e.arrival;
    if (t < e.arrival - p.backfillHorizonMs) {
      counts.backfill++;
      return;
    }
    if (t < e.arrival - p.lateArrivalToleranceMs) {
      if (p.latePolicy === 'drop') {
        counts.lateDropped++;
        return;
      }
      counts.lateAdjusted++;
      t = Math.max(e.arrival - p.lateArrivalToleranceMs, watermark);
    } else if (t > e.arrival + p.earlyArrivalToleranceMs) {
      if (p.latePolicy === 'drop') {
        counts.earlyDropped++;
        return;
      }
      counts.earlyAdjusted++;
      t = Math.max(e.arrival + p.earlyArrivalToleranceMs, watermark);
    } else if (t < watermark) {
      if (p.latePolicy === 'drop') {
        counts.outOfOrderDropped++;
        return;
      }
      counts.outOfOrderAdjusted++;
      t = watermark;
    } else {
      counts.onTime++;
    }
    watermark = Math.max(watermark, t - p.outOfOrderToleranceMs, e.arrival - p.lateArrivalToleranceMs);
    const props = e.properties as { v: number; tag: string };
    stamped.push({ key: e.userId!, t, seq, v: props.v, tag: props.tag });
  });
  return { stamped, counts };
}

interface Row {
  key: string;
  start: number;
  end: number;
  n: number;
  total: number;
  lo: number;
  hi: number;
  firstV: number;
  lastV: number;
  tags: number;
  median: number;
}

function aggregate(key: string, start: number, end: number, inWindow: Stamped[]): Row {
  const byTime = [...inWindow].sort((a, b) => a.t - b.t || a.seq - b.seq);
  const values = inWindow.map((e) => e.v).sort((a, b) => a - b);
  return {
    key,
    start,
    end,
    n: inWindow.length,
    total: values.reduce((a, b) => a + b, 0),
    lo: values[0]!,
    hi: values.at(-1)!,
    firstV: byTime[0]!.v,
    lastV: byTime.at(-1)!.v,
    tags: new Set(inWindow.map((e) => e.tag)).size,
    median: values[Math.floor(0.5 * (values.length - 1))]!,
  };
}

function oracleWindows(stamped: Stamped[], window: WindowSpec): Row[] {
  const rows: Row[] = [];
  const keys = [...new Set(stamped.map((e) => e.key))];
  for (const key of keys) {
    const events = stamped.filter((e) => e.key === key);
    const times = events.map((e) => e.t);
    const emit = (start: number, end: number) => {
      const inside = events.filter((e) => e.t > start && e.t <= end);
      if (inside.length > 0) rows.push(aggregate(key, start, end, inside));
    };
    if (window.kind === 'tumbling' || window.kind === 'hopping') {
      const size = window.sizeMs;
      const hop = window.kind === 'hopping' ? window.hopMs : window.sizeMs;
      const o = window.offsetMs;
      const lo = Math.floor((Math.min(...times) - o) / hop) - 1;
      const hi = Math.ceil((Math.max(...times) + size - o) / hop) + 1;
      for (let k = lo; k <= hi; k++) emit(k * hop + o - size, k * hop + o);
    } else if (window.kind === 'sliding') {
      const ends = new Set(times.flatMap((t) => [t, t + window.sizeMs]));
      for (const end of ends) emit(end - window.sizeMs, end);
    } else {
      const sorted = [...events].sort((a, b) => a.t - b.t || a.seq - b.seq);
      let session: Stamped[] = [];
      const closesAt = () =>
        Math.min(session.at(-1)!.t + window.timeoutMs, sessionCutoff(session[0]!.t, window.maxDurationMs));
      for (const e of sorted) {
        if (session.length > 0 && e.t > closesAt()) {
          rows.push(aggregate(key, session[0]!.t, closesAt(), session));
          session = [];
        }
        session.push(e);
      }
      if (session.length > 0) rows.push(aggregate(key, session[0]!.t, closesAt(), session));
    }
  }
  return rows;
}

type Props = { v: number; tag: string };
const v = (e: StoredEvent) => (e.properties as Props).v;

/** Grouped by user, or by user and tag (two group values: keys joined by U+001F). */
function jobFor(window: WindowSpec, byTag: boolean) {
  const user = (e: StoredEvent) => e.userId;
  return defineStreamJob({
    name: 'job',
    groupBy: byTag ? { user, tag: (e) => (e.properties as Props).tag } : { user },
    window,
    aggregates: {
      n: count(),
      total: sum(v),
      lo: min(v),
      hi: max(v),
      firstV: first(v),
      lastV: last(v),
      tags: countDistinct((e: StoredEvent) => (e.properties as Props).tag, 2),
      median: percentile(v, 0.5),
    },
  });
}

function runEngine(g: Generated, window: WindowSpec, byTag: boolean) {
  const jobs = [jobFor(window, byTag)];
  const records = streamRecords(g.events);
  const cuts = [...new Set([...g.cuts, g.checkpointAt, records.length])].filter((c) => c <= records.length);
  cuts.sort((a, b) => a - b);
  let engine = new StreamEngine(jobs, g.policy);
  const rows: WindowResult[] = [];
  let from = 0;
  for (const cut of cuts) {
    const batch = records.slice(from, cut);
    for (const row of engine.process(batch)) {
      // A row is final: nothing still to come may fall in its window.
      expect(row.windowEnd).toBeLessThan(engine.watermark);
      rows.push(row);
    }
    if (cut === g.checkpointAt) {
      engine = StreamEngine.restore(jobs, JSON.parse(JSON.stringify(engine.toJSON())), g.policy);
    }
    from = cut;
  }
  rows.push(...engine.finish());
  return { rows, counts: engine.timeline.counts };
}

function compare(g: Generated, window: WindowSpec, byTag = false): void {
  const { stamped, counts } = oracleStamp(g.events, g.policy);
  const grouped = byTag ? stamped.map((e) => ({ ...e, key: `${e.key}\u001f${e.tag}` })) : stamped;
  const expected = oracleWindows(grouped, window);
  const actual = runEngine(g, window, byTag);
  expect(actual.counts).toMatchObject(counts);
  for (const r of actual.rows) {
    const [user, tag] = r.key.split('\u001f');
    expect(r.group).toEqual(byTag ? { user, tag } : { user });
  }
  const identities = actual.rows.map((r) => `${r.key}@${r.windowEnd}`);
  expect(new Set(identities).size).toBe(identities.length);
  const got = actual.rows.map((r) => {
    const { median, ...rest } = r.values as Record<string, number>;
    return { row: { key: r.key, start: r.windowStart, end: r.windowEnd, ...rest }, median };
  });
  const order = (a: { key: string; end: number }, b: { key: string; end: number }) =>
    a.key.localeCompare(b.key) || a.end - b.end;
  const want = [...expected].sort(order);
  got.sort((a, b) => order(a.row, b.row));
  expect(got.map((x) => x.row)).toEqual(want.map(({ median, ...rest }) => rest));
  // DDSketch: within 1% of the exact value.
  got.forEach((x, i) => {
    expect(Math.abs(x.median! - want[i]!.median)).toBeLessThanOrEqual(
      0.01 * Math.abs(want[i]!.median) + 1e-9,
    );
  });
}

const windows: [string, fc.Arbitrary<WindowSpec>][] = [
  [
    'tumbling',
    fc
      .record({ size: fc.constantFrom(1_000, 5_000, 10_000), offset: fc.integer({ min: 0, max: 999 }) })
      .map(({ size, offset }) => tumblingWindow(size, offset)),
  ],
  [
    'hopping',
    fc
      .record({
        hop: fc.constantFrom(2_000, 3_000, 5_000),
        times: fc.integer({ min: 1, max: 4 }),
        extra: fc.constantFrom(0, 1_000),
        offset: fc.integer({ min: 0, max: 1_999 }),
      })
      .map(({ hop, times, extra, offset }) => hoppingWindow(hop * times + extra, hop, offset % hop)),
  ],
  ['sliding', fc.constantFrom(1_000, 4_000, 10_000).map((size) => slidingWindow(size))],
  [
    'session',
    fc
      .record({ timeout: fc.constantFrom(1_000, 3_000, 8_000), max: fc.constantFrom(5_000, 10_000, 30_000) })
      .map(({ timeout, max }) => sessionWindow(timeout, max)),
  ],
];

describe('the stream engine against a brute-force oracle', () => {
  for (const [kind, window] of windows) {
    it(`gives the oracle's ${kind} windows and late counts for any out-of-order stream`, () => {
      fc.assert(
        fc.property(streams, window, (g, w) => compare(g, w)),
        { numRuns: 500 },
      );
    });
    it(`gives the oracle's ${kind} windows grouped by two values`, () => {
      fc.assert(
        fc.property(streams, window, (g, w) => compare(g, w, true)),
        { numRuns: 200 },
      );
    });
  }
});
