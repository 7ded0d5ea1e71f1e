/**
 * Merging accumulators against adding the same values to one, and the flat pane state of count, sum, avg, min and
 * max against the accumulators' own checkpoint form (so checkpoints written before the flat state still restore).
 */
import type { StoredEvent } from '@deepref/schema';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AggregateSpec, avg, count, countDistinct, first, max, min, sum } from './aggregates.ts';
import { StreamEngine } from './stream-engine.ts';
import { type AnyStreamJob, defineStreamJob } from './stream-job.ts';
import { streamRecords } from './stream-test-events.ts';
import { hoppingWindow, minutes, seconds, tumblingWindow } from './windows.ts';

describe('countDistinct merge', () => {
  // Panes of values from a small alphabet, a small threshold: the union crosses it in every position.
  const panes = fc.array(fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 25 }), { maxLength: 8 });

  it('equals adding every value to one accumulator, however often each pane is merged', () => {
    fc.assert(
      fc.property(panes, fc.integer({ min: 1, max: 30 }), fc.nat(3), (values, threshold, repeats) => {
        const spec = countDistinct<number>((v) => v, threshold);
        const paneAccs = values.map((pane) => {
          const acc = spec.create();
          for (const v of pane) acc.add(v, 0);
          return acc;
        });
        // Several windows share the panes, as hopping windows do; each must come out alike.
        for (let r = 0; r <= repeats; r++) {
          const window = spec.create();
          for (const acc of paneAccs) window.merge(acc);
          const direct = spec.create();
          for (const v of values.flat()) direct.add(v, 0);
          expect(window.result()).toBe(direct.result());
          expect(JSON.stringify(spec.restore(window.toJSON()).toJSON())).toBe(
            JSON.stringify(window.toJSON()),
          );
          if (direct.toJSON() && 'hll' in (direct.toJSON() as object)) {
            expect(window.toJSON()).toEqual(direct.toJSON());
          } else {
            expect(new Set((window.toJSON() as { exact: string[] }).exact)).toEqual(
              new Set((direct.toJSON() as { exact: string[] }).exact),
            );
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('flat pane state', () => {
  const v = (e: StoredEvent) => (e.properties as { v?: number }).v;
  const aggregates: Record<string, AggregateSpec<StoredEvent>> = {
    n: count(),
    withV: count(v),
    total: sum(v),
    mean: avg(v),
    low: min(v),
    high: max(v),
    firstV: first(v),
  };
  const events = fc.array(
    fc.record({
      gap: fc.integer({ min: 0, max: 20_000 }),
      key: fc.constantFrom('a', 'b', 'c'),
      // Now and then a value whose sum overflows to ±Infinity (or NaN), which JSON cannot write.
      v: fc.option(fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constantFrom(1e308, -1e308)), {
        nil: undefined,
      }),
    }),
    { maxLength: 40 },
  );

  it.each([
    ['tumbling', tumblingWindow(minutes(1))],
    ['hopping', hoppingWindow(minutes(1), seconds(20))],
  ])('checkpoints each %s pane group as its accumulators would', (_, window) => {
    fc.assert(
      fc.property(events, (generated) => {
        const job = defineStreamJob<StoredEvent>({
          name: 'flat',
          groupBy: { user: (e) => e.userId },
          window,
          aggregates,
        }) as AnyStreamJob;
        let time = Date.UTC(2026, 0, 1);
        const inputs = generated.map((g) => {
          time += g.gap;
          return { time, arrival: time, userId: g.key, properties: g.v === undefined ? {} : { v: g.v } };
        });
        const engine = new StreamEngine([job], { lateArrivalToleranceMs: 60_000 });
        engine.process(streamRecords(inputs));
        const state = engine.toJSON().jobs.flat!.state as {
          state: { panes: [number, [string, string[], unknown[]][]][] };
        };
        // The oracle: every event into its pane's group, held as accumulator objects (no event is late here).
        const paneMs = 20_000;
        const expected = new Map<number, Map<string, ReturnType<AggregateSpec<StoredEvent>['create']>[]>>();
        for (const input of inputs) {
          const paneEnd = Math.ceil(input.time / paneMs) * paneMs;
          const end = window.kind === 'tumbling' ? Math.ceil(input.time / 60_000) * 60_000 : paneEnd;
          if (!expected.has(end)) expected.set(end, new Map());
          const pane = expected.get(end)!;
          if (!pane.has(input.userId))
            pane.set(
              input.userId,
              Object.values(aggregates).map((a) => a.create()),
            );
          const event = streamRecords([input])[0]!.event;
          for (const [i, a] of Object.values(aggregates).entries())
            pane.get(input.userId)![i]!.add(a.of?.(event, input.time), input.time);
        }
        const got = new Map(state.state.panes.map(([end, groups]) => [end, groups]));
        // Closed windows were emitted and freed; each pane still held has exactly its events.
        for (const [end, groups] of got) {
          const pane = expected.get(end)!;
          expect(groups).toEqual([...pane].map(([key, accs]) => [key, [key], accs.map((a) => a.toJSON())]));
        }
        // And the checkpoint, through its JSON text as on disk, restores to the same state.
        const checkpoint = JSON.parse(JSON.stringify(engine.toJSON()));
        const restored = StreamEngine.restore([job], checkpoint, { lateArrivalToleranceMs: 60_000 });
        expect(restored.toJSON()).toEqual(engine.toJSON());
        expect(restored.finish()).toEqual(engine.finish());
      }),
      { numRuns: 200 },
    );
  });
});
