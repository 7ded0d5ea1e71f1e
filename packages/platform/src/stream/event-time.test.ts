/** `parseTime`, the engine's timestamp reader, against `Date.parse` on the form it reads fast and on near misses. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTime } from './event-time.ts';

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** `YYYY-MM-DDTHH:MM:SS.mmmZ` with every field drawn past its valid range, so both paths are exercised. */
const isoLike = fc
  .record({
    year: fc.integer({ min: 0, max: 9999 }),
    month: fc.integer({ min: 0, max: 13 }),
    day: fc.integer({ min: 0, max: 32 }),
    hour: fc.integer({ min: 0, max: 25 }),
    minute: fc.integer({ min: 0, max: 60 }),
    second: fc.integer({ min: 0, max: 61 }),
    ms: fc.integer({ min: 0, max: 999 }),
  })
  .map(
    (f) =>
      `${pad(f.year, 4)}-${pad(f.month, 2)}-${pad(f.day, 2)}T${pad(f.hour, 2)}:${pad(f.minute, 2)}:` +
      `${pad(f.second, 2)}.${pad(f.ms, 3)}Z`,
  );

describe('parseTime', () => {
  it('equals Date.parse on every ISO instant a collector writes', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date(Date.UTC(0, 0, 1)), max: new Date(Date.UTC(9999, 11, 31)) }),
        (d) => {
          if (Number.isNaN(d.getTime())) return;
          const text = d.toISOString();
          expect(parseTime(text)).toBe(Date.parse(text));
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('equals Date.parse on fields out of range (NaN, or a day rolled over into the next month)', () => {
    fc.assert(
      fc.property(isoLike, (text) => {
        expect(Object.is(parseTime(text), Date.parse(text))).toBe(true);
      }),
      { numRuns: 5_000 },
    );
  });

  it('equals Date.parse when one character of the fixed form is replaced', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date(Date.UTC(1900, 0, 1)), max: new Date(Date.UTC(2100, 0, 1)) }),
        fc.nat(23),
        fc.constantFrom(' ', '-', ':', '.', 'T', 'Z', '/', 'a', '0', '9', '+'),
        (d, at, c) => {
          if (Number.isNaN(d.getTime())) return;
          const iso = d.toISOString();
          const text = iso.slice(0, at) + c + iso.slice(at + 1);
          expect(Object.is(parseTime(text), Date.parse(text))).toBe(true);
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it('reads other forms and missing values as Date.parse does', () => {
    for (const text of [
      '2026-03-01T10:00:00Z',
      '2026-03-01T10:00:00.123+02:00',
      '2026-03-01T24:00:00.000Z',
      '2026-03-01',
      'not a time',
      '',
      undefined,
    ]) {
      expect(Object.is(parseTime(text), Date.parse(text as string)), String(text)).toBe(true);
    }
  });
});
