import type { StoredEvent } from '@deepref/schema';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecentTail } from './recent-tail.ts';

const event = (offset: number) => ({ eventId: `e${offset}` }) as StoredEvent;

/** Adds the offsets in order; returns what the log would hold. */
function fill(tail: RecentTail, offsets: readonly number[]) {
  const records = offsets.map((offset) => ({ offset, body: `{"n":${offset}}`, event: event(offset) }));
  for (const r of records) tail.add(r.offset, r.body, r.event);
  return records;
}

/** Ascending offsets from 1, mostly consecutive, sometimes with a gap. */
const ascendingOffsets = fc
  .array(
    fc.oneof(
      { weight: 5, arbitrary: fc.constant(1) },
      { weight: 1, arbitrary: fc.integer({ min: 2, max: 9 }) },
    ),
    {
      maxLength: 60,
    },
  )
  .map((steps) => {
    let offset = 0;
    return steps.map((step) => (offset += step));
  });

describe('RecentTail', () => {
  it('serves exactly what a read of the log would, or nothing when the read starts before what it holds', () => {
    fc.assert(
      fc.property(
        ascendingOffsets,
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 0, max: 25 }),
        fc.integer({ min: -1, max: 70 }),
        fc.integer({ min: 1, max: 30 }),
        (offsets, bodies, events, after, limit) => {
          const tail = new RecentTail({ bodies, events });
          const all = fill(tail, offsets);
          const expected = all.filter((r) => r.offset > after).slice(0, limit);
          const covers = (held: typeof all) => held.length > 0 && after >= held[0]!.offset - 1;

          const raw = tail.readRaw(after, limit);
          if (covers(bodies === 0 ? [] : all.slice(-bodies))) {
            expect(raw).toEqual(expected.map(({ offset, body }) => ({ offset, body })));
          } else expect(raw).toBeUndefined();

          const read = tail.read(after, limit);
          const withEvents = Math.min(bodies, events);
          if (covers(withEvents === 0 ? [] : all.slice(-withEvents))) {
            expect(read).toEqual(expected.map(({ offset, event }) => ({ offset, event })));
            // The very objects that were stored: nothing parsed again.
            for (const [i, record] of read!.entries()) expect(record.event).toBe(expected[i]!.event);
          } else expect(read).toBeUndefined();
        },
      ),
    );
  });

  it('holds nothing after clear, until new records come', () => {
    const tail = new RecentTail({ bodies: 4, events: 4 });
    fill(tail, [1, 2, 3]);
    tail.clear();
    expect(tail.size).toBe(0);
    expect(tail.read(0, 10)).toBeUndefined();
    fill(tail, [4, 5]);
    expect(tail.read(2, 10)).toBeUndefined();
    expect(tail.read(3, 10)?.map((r) => r.offset)).toEqual([4, 5]);
    expect(tail.read(5, 10)).toEqual([]);
  });

  it('refuses offsets out of order and a capacity that is no whole number', () => {
    const tail = new RecentTail({ bodies: 2, events: 1 });
    fill(tail, [5]);
    expect(() => tail.add(5, '{}', event(5))).toThrow(/ascending offsets/);
    expect(() => new RecentTail({ bodies: -1, events: 0 })).toThrow(/bodies must be a whole number/);
    expect(() => new RecentTail({ bodies: 2, events: 1.5 })).toThrow(/events must be a whole number/);
  });
});
