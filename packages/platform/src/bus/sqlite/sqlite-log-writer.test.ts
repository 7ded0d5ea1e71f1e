import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type AppendRequest,
  LogWriter,
  type LogWriterOptions,
  openLogDatabase,
  writeUuidBytes,
} from './sqlite-log-writer.ts';

const day = 86_400_000;
let dir: string;
let runs = 0;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-'));
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function append(eventIds: string[]): AppendRequest {
  return {
    eventIds,
    bodies: eventIds.map((eventId) => JSON.stringify({ eventId })),
    deadLetters: [],
  };
}

function storedIds(file: string): [string, number][] {
  const db = openLogDatabase(file, 'readonly');
  const rows = db.prepare('SELECT "offset", body FROM events ORDER BY "offset"').raw().all() as [
    number,
    string,
  ][];
  db.close();
  return rows.map(([offset, body]) => [JSON.parse(body).eventId, offset]);
}

const pool = [...Array.from({ length: 10 }, () => randomUUID()), 'a', 'b', 'order-3', 'f'.repeat(32)];

/**
 * What a run does: commit a group (the batches of concurrent callers), reopen, start a filter rebuild, take a step of
 * the filter scan, let time pass.
 */
const step = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('group' as const),
      batches: fc.array(fc.array(fc.nat(pool.length - 1), { maxLength: 6 }), { minLength: 1, maxLength: 4 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('background' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rebuild' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('later' as const), ms: fc.integer({ min: 0, max: 9 * day }) }),
  },
);

const settings = fc.record({
  recentIdsInMemory: fc.integer({ min: 1, max: 6 }),
  // 8 bytes: a filter that is nearly always full, so every path behind a false positive runs.
  dedupFilterBytes: fc.constantFrom(8, 64, 1 << 16),
  dedupScanChunk: fc.constantFrom(1, 3, 1_000),
});

type Step = typeof step extends fc.Arbitrary<infer S> ? S : never;

interface Checks {
  /** Sees each commit's ids, in order, with the offsets it answered (0: duplicate) and the clock. */
  commit(ids: string[], offsets: number[], now: number): void;
  end(file: string): void;
}

/** Runs the steps on a fresh log, with checks made fresh for each run. */
function run(steps: fc.Arbitrary<Step[]>, makeChecks: () => Checks) {
  return fc.property(steps, settings, (list, tuning) => {
    const checks = makeChecks();
    const file = path.join(dir, `run-${++runs}.db`);
    openLogDatabase(file, 'create').close();
    const options: LogWriterOptions = { dedupWindowDays: 7, synchronous: 'NORMAL', ...tuning };
    let writer = new LogWriter(file, options);
    let now = Date.parse('2025-03-01T12:00:00.000Z');
    try {
      for (const s of list) {
        now += 20_000; // lets the age rule move buckets now and then
        if (s.kind === 'reopen') {
          writer.close();
          writer = new LogWriter(file, options);
        } else if (s.kind === 'background') {
          writer.backgroundStep();
        } else if (s.kind === 'rebuild') {
          writer.rebuildDedupFilter();
        } else if (s.kind === 'later') {
          now += s.ms;
        } else {
          const response = writer.commit({
            now,
            appends: s.batches.map((batch) => append(batch.map((i) => pool[i]!))),
            offsets: [],
            replays: [],
          });
          checks.commit(
            s.batches.flat().map((i) => pool[i]!),
            [...response.offsets],
            now,
          );
        }
      }
    } finally {
      writer.close();
    }
    checks.end(file);
  });
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

describe('writeUuidBytes', () => {
  it('reads an id as a uuid exactly when the uuid pattern matches it, into its 16 bytes', () => {
    const oneChar = fc.oneof(
      fc.constantFrom('-', 'g', 'G', 'F', '0', ' ', '\u0130', '\u0146', '\u00b0'),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    );
    const nearUuid = fc.tuple(fc.uuid(), fc.nat(35), oneChar, fc.boolean()).map(([uuid, at, char, upper]) => {
      const id = upper ? uuid.toUpperCase() : uuid;
      return id.slice(0, at) + char + id.slice(at + 1);
    });
    const id = fc.oneof(fc.uuid(), nearUuid, fc.string({ maxLength: 40 }));
    fc.assert(
      fc.property(id, (eventId) => {
        const bytes = new Uint8Array(18);
        const read = writeUuidBytes(eventId, bytes, 1);
        expect(read).toBe(uuidPattern.test(eventId));
        if (read) {
          expect(Buffer.from(bytes.subarray(1, 17)).toString('hex')).toBe(
            eventId.replaceAll('-', '').toLowerCase(),
          );
        }
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('LogWriter', () => {
  it('stores every body as it was given and a uuid as its 16 bytes, in any case and any characters', () => {
    const eventId = fc.oneof(
      fc.uuid().chain((uuid) => fc.constantFrom(uuid, uuid.toUpperCase())),
      fc.string({ maxLength: 40 }),
    );
    // Bodies as JSON.stringify makes them (it escapes lone surrogates).
    const text = fc.string({ unit: 'binary', maxLength: 400 });
    fc.assert(
      // Up to 130 events: none, one or two full multi-row inserts (50 rows each) and the rest one by one.
      fc.property(fc.array(fc.record({ eventId, text }), { maxLength: 130 }), (events) => {
        const file = path.join(dir, `bodies-${++runs}.db`);
        openLogDatabase(file, 'create').close();
        const writer = new LogWriter(file, {
          dedupWindowDays: 7,
          synchronous: 'NORMAL',
          recentIdsInMemory: 8,
        });
        const bodies = events.map((event) => JSON.stringify(event));
        const now = Date.parse('2025-03-01T12:00:00.000Z');
        const ids = events.map((event) => event.eventId);
        let offsets: number[];
        try {
          offsets = [
            ...writer.commit({
              now,
              appends: [{ eventIds: ids, bodies, deadLetters: [] }],
              offsets: [],
              replays: [],
            }).offsets,
          ];
        } finally {
          writer.close();
        }
        const keyOf = (id: string) => (uuidPattern.test(id) ? id.toLowerCase() : `text ${id}`);
        const firsts = new Set<string>();
        const expected: [number, Buffer | string, string, string][] = [];
        const expectedOffsets = ids.map((id, i) => {
          if (firsts.has(keyOf(id))) return 0;
          firsts.add(keyOf(id));
          const stored = uuidPattern.test(id) ? Buffer.from(id.replaceAll('-', ''), 'hex') : id;
          expected.push([expected.length + 1, stored, 'text', bodies[i]!]);
          return expected.length;
        });
        expect(offsets).toEqual(expectedOffsets);
        const db = openLogDatabase(file, 'readonly');
        const rows = db
          .prepare('SELECT "offset", event_id, typeof(body), body FROM events ORDER BY "offset"')
          .raw()
          .all();
        db.close();
        expect(rows).toEqual(expected);
      }),
      { numRuns: 60 },
    );
  });

  it('holds each distinct id exactly once, whatever the batches, groups, reopens and filter states', () => {
    const steps = fc.array(
      step.filter((s) => s.kind !== 'later'),
      { maxLength: 20 },
    );
    fc.assert(
      run(steps, () => {
        const model = new Map<string, number>();
        return {
          commit(ids, offsets) {
            const expected = ids.map((id) => {
              if (model.has(id)) return 0;
              model.set(id, model.size + 1);
              return model.size;
            });
            expect(offsets).toEqual(expected);
          },
          end: (file) => expect(storedIds(file)).toEqual([...model.entries()]),
        };
      }),
      { numRuns: 100 },
    );
  });

  it('never accepts an id twice within the dedup window, and calls duplicate only what it accepted', () => {
    fc.assert(
      run(fc.array(step, { maxLength: 24 }), () => {
        const accepted = new Map<string, number>();
        let head = 0;
        return {
          commit(ids, offsets, now) {
            const inGroup = new Set<string>();
            ids.forEach((id, i) => {
              const last = accepted.get(id);
              if (offsets[i] === 0) {
                expect(last !== undefined || inGroup.has(id), `${id} called a duplicate`).toBe(true);
                return;
              }
              expect(offsets[i]).toBe(++head);
              expect(inGroup.has(id)).toBe(false);
              if (last !== undefined)
                expect(now - last, `${id} accepted again`).toBeGreaterThanOrEqual(7 * day);
              accepted.set(id, now);
              inGroup.add(id);
            });
          },
          end: (file) =>
            expect(storedIds(file).map(([, offset]) => offset)).toEqual(
              Array.from({ length: head }, (_, i) => i + 1),
            ),
        };
      }),
      { numRuns: 100 },
    );
  });

  it('creates a log with 16 KiB pages (fewer WAL writes per group)', () => {
    const file = path.join(dir, 'events.db');
    openLogDatabase(file, 'create').close();
    const db = openLogDatabase(file, 'readonly');
    expect(db.pragma('page_size', { simple: true })).toBe(16_384);
    db.close();
  });

  it('leaves no row of a failed group behind for the next group', () => {
    const file = path.join(dir, 'events.db');
    openLogDatabase(file, 'create').close();
    const writer = new LogWriter(file, { dedupWindowDays: 7, synchronous: 'NORMAL', recentIdsInMemory: 64 });
    const now = Date.parse('2025-03-01T12:00:00.000Z');
    const failed = Array.from({ length: 70 }, () => randomUUID());
    // A dead letter without a reason breaks the NOT NULL rule after the group's events were buffered or inserted.
    const broken = { ...append(failed), deadLetters: [{ reason: null } as never] };
    expect(() => writer.commit({ now, appends: [broken], offsets: [], replays: [] })).toThrow(/NOT NULL/);
    const next = Array.from({ length: 3 }, () => randomUUID());
    const response = writer.commit({ now, appends: [append(next)], offsets: [], replays: [] });
    writer.close();
    expect([...response.offsets]).toEqual([1, 2, 3]);
    expect(storedIds(file)).toEqual(next.map((id, i) => [id, i + 1]));
  });

  it('knows every id after a filter rebuild: those in memory, in the table, and those that came meanwhile', () => {
    const file = path.join(dir, 'events.db');
    openLogDatabase(file, 'create').close();
    const writer = new LogWriter(file, {
      dedupWindowDays: 7,
      synchronous: 'NORMAL',
      recentIdsInMemory: 2,
      dedupScanChunk: 2,
    });
    const now = Date.parse('2025-03-01T12:00:00.000Z');
    const commit = (ids: string[]) => [
      ...writer.commit({ now, appends: [append(ids)], offsets: [], replays: [] }).offsets,
    ];
    const [inTable, inMemory, meanwhile] = [
      Array.from({ length: 5 }, () => randomUUID()),
      [randomUUID(), randomUUID()],
      [randomUUID(), randomUUID()],
    ];
    commit(inTable);
    commit(inMemory); // memory was full: the first five moved to the table
    while (writer.hasBackgroundWork) writer.backgroundStep();
    writer.rebuildDedupFilter();
    writer.backgroundStep();
    commit(meanwhile);
    while (writer.hasBackgroundWork) writer.backgroundStep();
    expect(commit([...inTable, ...inMemory, ...meanwhile])).toEqual(new Array(9).fill(0));
    writer.close();
  });
});
