import { expect, it } from 'vitest';
import { DeeprefError } from '../errors.ts';
import { describeEachWarehouse, useWarehouse } from '../testing/warehouses.ts';
import { paths } from './paths.ts';
import { type CraftedEvent, craftedRecords } from './test-records.ts';

/** A session's events, one minute apart from `start`. */
function session(id: string, start: string, names: string[]): CraftedEvent[] {
  const t0 = new Date(start).getTime();
  return names.map((event, i) => ({
    event,
    at: new Date(t0 + i * 60_000).toISOString(),
    person: `person-${id}`,
    session: id,
  }));
}

/** A session whose `tied` events all happen at `start`, then one `rest` event a minute apart. */
function tied(id: string, start: string, tiedNames: string[], rest: string[]): CraftedEvent[] {
  const t0 = new Date(start).getTime();
  return [
    ...tiedNames.map((event) => ({ event, at: start, person: `person-${id}`, session: id })),
    ...session(id, new Date(t0 + 60_000).toISOString(), rest),
  ];
}

const sq = 'search_query';
const src = 'search_result_clicked';
const dc = 'document_create';
const de = 'document_edit';
const pv = 'page_view';

const events: CraftedEvent[] = [
  // The repeated search collapses into one step; api_latency is never a step.
  ...session('s1', '2026-11-02T09:00:00Z', [pv, sq, sq, src, dc, 'api_latency', de]),
  ...session('s2', '2026-11-02T10:00:00Z', [pv, sq, dc]),
  ...session('s3', '2026-11-02T11:00:00Z', [sq, pv]),
  ...session('s4', '2026-11-02T12:00:00Z', [pv, pv]), // no anchor
  ...session('s5', '2026-11-02T13:00:00Z', [pv, sq]), // ends at the anchor
  ...session('s6', '2026-11-02T14:00:00Z', [sq, src, de]),
  ...session('s7', '2026-11-03T14:00:00Z', [sq, src, de]),
  ...session('s8', '2026-11-10T14:00:00Z', [sq, dc]), // after the range
  // Three events at the first anchor's time, told apart by their log offset (their order here).
  ...tied('s9', '2026-11-04T10:00:00Z', [pv, 'tie_before', 'tie_anchor', 'tie_after'], ['tie_anchor', de]),
];
const range = { from: '2026-11-02T00:00:00Z', to: '2026-11-09T00:00:00Z' };

describeEachWarehouse('paths', (engine) => {
  const db = useWarehouse(engine, craftedRecords(events));

  it('follows sessions after an event, with drop-off, Sankey nodes and links, and top paths', async () => {
    const result = await paths(
      db.warehouse,
      { ...range, event: sq, direction: 'after', depth: 2 },
      db.dialect,
    );
    // Anchor sessions s1 s2 s3 s5 s6 s7 = 6. Step 1: src (s1 s6 s7), dc (s2), pv (s3) = 5; s5 ended.
    // Step 2: dc (s1), de (s6 s7) = 3; s2 and s3 ended.
    expect(result.sessions).toBe(6);
    expect(result.steps).toEqual([
      { step: 1, sessions: 5, dropOff: 1 },
      { step: 2, sessions: 3, dropOff: 2 },
    ]);
    expect(result.nodes).toEqual([
      { id: '0:search_query', step: 0, event: sq, sessions: 6 },
      { id: '1:search_result_clicked', step: 1, event: src, sessions: 3 },
      { id: '1:document_create', step: 1, event: dc, sessions: 1 },
      { id: '1:page_view', step: 1, event: pv, sessions: 1 },
      { id: '2:document_edit', step: 2, event: de, sessions: 2 },
      { id: '2:document_create', step: 2, event: dc, sessions: 1 },
    ]);
    expect(result.links).toEqual([
      { source: '0:search_query', target: '1:search_result_clicked', sessions: 3 },
      { source: '1:search_result_clicked', target: '2:document_edit', sessions: 2 },
      { source: '0:search_query', target: '1:document_create', sessions: 1 },
      { source: '0:search_query', target: '1:page_view', sessions: 1 },
      { source: '1:search_result_clicked', target: '2:document_create', sessions: 1 },
    ]);
    expect(result.paths).toEqual([
      { events: [sq, src, de], sessions: 2 },
      { events: [sq], sessions: 1 },
      { events: [sq, dc], sessions: 1 },
      { events: [sq, pv], sessions: 1 },
      { events: [sq, src, dc], sessions: 1 },
    ]);
  });

  it('follows sessions back from an event', async () => {
    const result = await paths(
      db.warehouse,
      { ...range, event: dc, direction: 'before', depth: 2 },
      db.dialect,
    );
    // s1: … pv sq src [dc]; s2: pv sq [dc]. s8 is outside the range.
    expect(result.sessions).toBe(2);
    expect(result.steps).toEqual([
      { step: -1, sessions: 2, dropOff: 0 },
      { step: -2, sessions: 2, dropOff: 0 },
    ]);
    expect(result.links).toEqual([
      { source: '-1:search_query', target: '0:document_create', sessions: 1 },
      { source: '-1:search_result_clicked', target: '0:document_create', sessions: 1 },
      { source: '-2:page_view', target: '-1:search_query', sessions: 1 },
      { source: '-2:search_query', target: '-1:search_result_clicked', sessions: 1 },
    ]);
    expect(result.paths).toEqual([
      { events: [pv, sq, dc], sessions: 1 },
      { events: [sq, src, dc], sessions: 1 },
    ]);
  });

  it('merges rare events into (other) and can keep repeats', async () => {
    const merged = await paths(
      db.warehouse,
      { ...range, event: sq, direction: 'after', depth: 1, maxNodesPerStep: 2 },
      db.dialect,
    );
    // Step 1 has three events (src 3, dc 1, pv 1): src stays, dc and pv become (other).
    expect(merged.links).toEqual([
      { source: '0:search_query', target: '1:search_result_clicked', sessions: 3 },
      { source: '0:search_query', target: '1:(other)', sessions: 2 },
    ]);
    const repeats = await paths(
      db.warehouse,
      { ...range, event: sq, direction: 'after', depth: 1, collapseRepeats: false },
      db.dialect,
    );
    // s1's second search is now its step 1.
    expect(repeats.nodes.filter((n) => n.step === 1).map((n) => [n.event, n.sessions])).toEqual([
      [src, 2],
      [dc, 1],
      [pv, 1],
      [sq, 1],
    ]);
  });

  it('orders events at the same time as the anchor by log offset', async () => {
    const after = await paths(
      db.warehouse,
      { ...range, event: 'tie_anchor', direction: 'after', depth: 3 },
      db.dialect,
    );
    expect(after.sessions).toBe(1);
    expect(after.paths).toEqual([{ events: ['tie_anchor', 'tie_after', 'tie_anchor', de], sessions: 1 }]);
    const before = await paths(
      db.warehouse,
      { ...range, event: 'tie_anchor', direction: 'before', depth: 3 },
      db.dialect,
    );
    expect(before.steps).toEqual([
      { step: -1, sessions: 1, dropOff: 0 },
      { step: -2, sessions: 1, dropOff: 0 },
      { step: -3, sessions: 0, dropOff: 1 },
    ]);
    expect(before.paths).toEqual([{ events: [pv, 'tie_before', 'tie_anchor'], sessions: 1 }]);
  });

  it('refuses a bad direction or depth', async () => {
    for (const bad of [
      { ...range, event: sq, direction: 'sideways' as 'after', depth: 2 },
      { ...range, event: sq, direction: 'after' as const, depth: 0 },
      { ...range, event: sq, direction: 'after' as const, depth: 11 },
    ]) {
      await expect(paths(db.warehouse, bad, db.dialect)).rejects.toThrow(DeeprefError);
    }
  });
});
