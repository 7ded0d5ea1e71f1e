/**
 * Erasing a subject from the engine's open windows. Property: for random in-order streams with the subject's
 * events among others', erased at a random point, the engine's state (and so its checkpoint) no longer holds the
 * subject's ids, and every row it emits afterwards equals the row of an engine that never saw the subject's events,
 * wherever that equivalence holds: for groups keyed by a person (every window kind) and for exact distinct counts of
 * people in other groups (tumbling and hopping windows). Where it cannot hold (counts, sums and percentiles of
 * groups the subject shares with others; sliding and session windows whose extent the subject's events moved; a
 * distinct count past its exact threshold, hashed into a HyperLogLog), the weaker property is checked: no row and
 * no state names an id.
 */
import type { StoredEvent } from '@deepref/schema';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { count, countDistinct, first, last, max, min, percentile, sum } from './aggregates.ts';
import { defaultStreamJobs } from './jobs/index.ts';
import { StreamEngine } from './stream-engine.ts';
import { type AnyStreamJob, defineStreamJob, type WindowResult } from './stream-job.ts';
import { streamRecords, type TestEventInput } from './stream-test-events.ts';
import {
  hoppingWindow,
  minutes,
  seconds,
  sessionWindow,
  slidingWindow,
  tumblingWindow,
  type WindowSpec,
} from './windows.ts';

const base = Date.UTC(2026, 0, 1, 10, 0, 0);
/** The subject: a user id and an anonymous id linked to it (as a person, `personOf` reads either). */
const subject = ['user-subject-7f3a', 'anon-subject-91c2'];
const others = ['user-a', 'user-b', 'anon-c'];

interface Generated {
  events: TestEventInput[];
  /** How many events the engine takes before the erasure; the rest (none of the subject's) after it. */
  eraseAt: number;
}

/** In order and on time (event time = arrival), so that an engine without the subject stamps the same times. */
function streams(gapMs: number, shape: (person: string, tag: string) => Partial<TestEventInput>) {
  return fc
    .record({
      raw: fc.array(
        fc.record({
          gap: fc.integer({ min: 0, max: gapMs }),
          person: fc.constantFrom(...others, ...subject),
          tag: fc.constantFrom('x', 'y', 'z'),
        }),
        { minLength: 1, maxLength: 60 },
      ),
      eraseAt: fc.integer({ min: 0, max: 60 }),
    })
    .map(({ raw, eraseAt }): Generated => {
      let t = base;
      const cut = Math.min(eraseAt, raw.length);
      const events = raw
        // After the erasure the subject sends nothing: its later events would be new data, erased by a new request.
        .filter((r, i) => i < cut || !subject.includes(r.person))
        .map((r) => {
          t += r.gap;
          return { time: t, arrival: t, userId: r.person, ...shape(r.person, r.tag) };
        });
      return { events, eraseAt: Math.min(cut, events.length) };
    });
}

const userAndTag = (person: string, tag: string) => ({ properties: { tag, v: person.length, who: person } });

const namesSubject = (text: string) => subject.some((id) => text.includes(id));

interface Outcome {
  /** Rows emitted after the erasure. */
  after: WindowResult[];
  /** The engine's watermark when erased: rows ending before it were emitted before the erasure. */
  erasedAt: number;
  /** The snapshot right after the erasure, as the checkpoint writes it. */
  checkpoint: string;
  /** What `findSubject` still finds right after. */
  left: ReturnType<StreamEngine['findSubject']>;
}

function runWithErasure(jobs: AnyStreamJob[], g: Generated): Outcome {
  const records = streamRecords(g.events);
  const engine = new StreamEngine(jobs);
  engine.process(records.slice(0, g.eraseAt));
  engine.eraseSubject(subject);
  const checkpoint = JSON.stringify(engine.toJSON());
  const left = engine.findSubject(subject);
  const erasedAt = engine.watermark;
  const after = [...engine.process(records.slice(g.eraseAt)), ...engine.finish()];
  // Restored from that checkpoint, as the processor does after a restart: the same rows.
  const restored = StreamEngine.restore(jobs, JSON.parse(checkpoint));
  expect([...restored.process(records.slice(g.eraseAt)), ...restored.finish()]).toEqual(after);
  return { after, erasedAt, checkpoint, left };
}

/** Every row of an engine that never saw the subject's events. */
function runWithout(jobs: AnyStreamJob[], g: Generated): WindowResult[] {
  const engine = new StreamEngine(jobs);
  const events = g.events.filter((e) => !subject.includes(e.userId!));
  return [...engine.process(streamRecords(events)), ...engine.finish()];
}

const identity = (r: WindowResult) => `${r.job}|${r.key}|${r.windowEnd}`;
const sorted = (rows: WindowResult[]) => [...rows].sort((a, b) => identity(a).localeCompare(identity(b)));

function expectNoIds(outcome: Outcome): void {
  expect(namesSubject(outcome.checkpoint)).toBe(false);
  expect(outcome.left).toEqual({});
  for (const row of outcome.after) expect(namesSubject(JSON.stringify(row))).toBe(false);
}

const windows: [string, fc.Arbitrary<WindowSpec>][] = [
  ['tumbling', fc.constantFrom(1_000, 5_000).map((size) => tumblingWindow(size))],
  [
    'hopping',
    fc
      .constantFrom([4_000, 1_000], [6_000, 2_000], [5_000, 5_000])
      .map(([size, hop]) => hoppingWindow(size!, hop!)),
  ],
  ['sliding', fc.constantFrom(1_000, 4_000).map((size) => slidingWindow(size))],
  ['session', fc.constantFrom([1_000, 5_000], [3_000, 10_000]).map(([t, max]) => sessionWindow(t!, max!))],
];

type Props = { tag: string; v: number; who: string };
const props = (e: StoredEvent) => e.properties as Props;

/** Grouped by person (and tag): every aggregate kind, and the person's own id as a value too. */
function perPersonJob(window: WindowSpec, byTag: boolean): AnyStreamJob {
  const person = (e: StoredEvent) => e.userId;
  return defineStreamJob<StoredEvent>({
    name: 'per_person',
    groupBy: byTag ? { person, tag: (e) => props(e).tag } : { person },
    window,
    aggregates: {
      n: count(),
      total: sum((e) => props(e).v),
      lo: min((e) => props(e).v),
      hi: max((e) => props(e).v),
      firstWho: first((e) => props(e).who),
      lastWho: last((e) => props(e).who),
      tags: countDistinct((e) => props(e).tag),
      median: percentile((e) => props(e).v, 0.5),
    },
  }) as AnyStreamJob;
}

/** Grouped by tag, which the subject shares with others: people as values of the aggregates. */
function perTagJob(window: WindowSpec, exactUpTo: number): AnyStreamJob {
  return defineStreamJob<StoredEvent>({
    name: 'per_tag',
    groupBy: { tag: (e) => props(e).tag },
    window,
    aggregates: {
      people: countDistinct((e) => e.userId, exactUpTo),
      firstWho: first((e) => props(e).who),
      lastWho: last((e) => props(e).who),
      n: count(),
    },
  }) as AnyStreamJob;
}

describe('erasing a subject from the open windows', () => {
  for (const [kind, window] of windows) {
    it(`leaves no id in ${kind} windows keyed by person, which then emit as if the subject never came`, () => {
      fc.assert(
        fc.property(streams(1_500, userAndTag), window, fc.boolean(), (g, w, byTag) => {
          const jobs = [perPersonJob(w, byTag)];
          const outcome = runWithErasure(jobs, g);
          expectNoIds(outcome);
          const expected = runWithout(jobs, g).filter((r) => r.windowEnd >= outcome.erasedAt);
          expect(sorted(outcome.after)).toEqual(sorted(expected));
        }),
        { numRuns: 300 },
      );
    });

    it(`leaves no id in ${kind} windows of groups the subject shares, as values or in a sketch`, () => {
      fc.assert(
        fc.property(streams(1_500, userAndTag), window, fc.constantFrom(2, 10_000), (g, w, exactUpTo) => {
          const jobs = [perTagJob(w, exactUpTo)];
          const outcome = runWithErasure(jobs, g);
          expectNoIds(outcome);
          if (exactUpTo === 2 || kind === 'sliding' || kind === 'session') return;
          // Exact distinct counts of fixed windows: the subject's people are out; a window only the subject had
          // stays, counting no one.
          const without = new Map(
            runWithout(jobs, g)
              .filter((r) => r.windowEnd >= outcome.erasedAt)
              .map((r) => [identity(r), r.values.people]),
          );
          for (const row of outcome.after) expect(row.values.people).toBe(without.get(identity(row)) ?? 0);
          for (const key of without.keys()) expect(outcome.after.map(identity)).toContain(key);
        }),
        { numRuns: 300 },
      );
    });
  }
});

/** Event shapes the six platform jobs read, with the person in the groups, as values, and in neither. */
function platformEvent(person: string, tag: string): Partial<TestEventInput> {
  const session = `s-${person}-${tag === 'x' ? 1 : 2}`;
  if (tag === 'x') {
    return {
      eventName: 'api_latency',
      sessionId: session,
      properties: {
        endpoint: '/api/orders',
        method: 'GET',
        duration_ms: person.length * 10,
        status_code: 200,
      },
    };
  }
  if (tag === 'y') {
    return {
      eventName: 'response_received',
      sessionId: session,
      properties: { model_used: 'gpt-4o', success: true, generation_time_ms: 900, completion_tokens: 40 },
    };
  }
  return { sessionId: session };
}

describe('erasing a subject from the platform jobs', () => {
  it('checks, job by job, what the erasure takes out and what stays', () => {
    const jobs = defaultStreamJobs({ alerts: { threshold: 2 } });
    fc.assert(
      fc.property(streams(minutes(2), platformEvent), (g) => {
        const outcome = runWithErasure(jobs, g);
        expectNoIds(outcome);
        const rowsOf = (rows: WindowResult[]) => (job: string) => rows.filter((r) => r.job === job);
        const after = rowsOf(outcome.after);
        const without = rowsOf(runWithout(jobs, g).filter((r) => r.windowEnd >= outcome.erasedAt));
        // Keyed by person (user_engagement through session_metrics' rows): as if the subject never came.
        for (const job of ['session_metrics', 'user_engagement', 'event_volume_alerts']) {
          expect(sorted(after(job)), job).toEqual(sorted(without(job)));
        }
        // People as values of one group: the distinct count without them (a window of only the subject: 0).
        const active = new Map(without('active_users').map((r) => [r.windowEnd, r.values.activeUsers]));
        for (const row of after('active_users')) {
          expect(row.values.activeUsers).toBe(active.get(row.windowEnd) ?? 0);
        }
        // Per endpoint and per model: the subject's requests stay in the counts and latencies, which name no one.
        const unerased = new StreamEngine(jobs);
        const records = streamRecords(g.events);
        unerased.process(records.slice(0, g.eraseAt));
        const stays = [...unerased.process(records.slice(g.eraseAt)), ...unerased.finish()].filter(
          (r) => r.windowEnd >= outcome.erasedAt,
        );
        for (const job of ['api_metrics', 'ai_response_metrics']) {
          expect(sorted(after(job)), job).toEqual(sorted(stays.filter((r) => r.job === job)));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('reports per job what it erased, leaves the state alone when only finding, and finds nothing after', () => {
    const at = (ms: number) => ({ time: base + ms, arrival: base + ms });
    const events: TestEventInput[] = [
      { ...at(seconds(1)), userId: subject[1], sessionId: 's1' },
      { ...at(seconds(6)), userId: subject[0], sessionId: 's1' },
      { ...at(seconds(7)), userId: 'user-a', sessionId: 's2' },
      { ...at(minutes(6)), userId: subject[0], sessionId: 's1' },
      // Moves the watermark past 10:05: session_metrics' first rows go on to user_engagement's open windows.
      { ...at(minutes(6) + seconds(1)), userId: 'user-a', sessionId: 's2' },
    ];
    const engine = new StreamEngine(defaultStreamJobs());
    engine.process(streamRecords(events));
    const found = engine.findSubject(subject);
    expect(found).toEqual({
      // The subject's session in the open 10:10 window.
      session_metrics: { groups: 1, values: 0 },
      // Both ids' groups in the pane of the 10:05 session rows, which the next hour's windows still hold.
      user_engagement: { groups: 2, values: 0 },
      event_volume_alerts: { groups: 1, values: 0 },
      // The user id in the exact set of the 10:06:10 pane (the 10:00:10 pane left with its last window).
      active_users: { groups: 0, values: 1 },
    });
    expect(engine.findSubject(subject)).toEqual(found);
    expect(engine.eraseSubject(subject)).toEqual(found);
    expect(engine.findSubject(subject)).toEqual({});
    expect(engine.eraseSubject(subject)).toEqual({});
  });
});
