/** The Date-free time helpers against the Date code they replace, on the stored form, near misses and anything. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIsoMillis, isStoredIsoTime, parseIsoMillis } from './iso-time.ts';

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** `YYYY-MM-DDTHH:MM:SS.mmmZ` with fields drawn past their valid ranges, and now and then a character changed. */
const storedLike = fc
  .record({
    year: fc.integer({ min: 0, max: 9999 }),
    month: fc.integer({ min: 0, max: 13 }),
    day: fc.integer({ min: 0, max: 32 }),
    hour: fc.integer({ min: 0, max: 25 }),
    minute: fc.integer({ min: 0, max: 61 }),
    second: fc.integer({ min: 0, max: 61 }),
    ms: fc.integer({ min: 0, max: 999 }),
    change: fc.option(
      fc.tuple(fc.nat(23), fc.constantFrom('0', '9', '-', 'T', ':', '.', 'Z', 'z', ' ', '/')),
    ),
  })
  .map(({ year, month, day, hour, minute, second, ms, change }) => {
    const text = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}.${pad(ms, 3)}Z`;
    return change ? text.slice(0, change[0]) + change[1] + text.slice(change[0] + 1) : text;
  });

const anyInstant = fc
  .date({ min: new Date(Date.UTC(0, 0, 1)), max: new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999)) })
  .filter((date) => !Number.isNaN(date.getTime()))
  .map((date) => date.toISOString());

const timeText = fc.oneof(storedLike, anyInstant, fc.string({ maxLength: 30 }));

/** What the wire format did before: the text is kept when Date.parse reads it back to the same text. */
function isStoredByDate(text: string): boolean {
  const ms = Date.parse(text);
  return (
    !Number.isNaN(ms) &&
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(text) &&
    new Date(ms).toISOString() === text
  );
}

/** The outcome of `f`: its value, or the name of what it threw. */
function outcome<T>(f: () => T): T | string {
  try {
    return f();
  } catch (error) {
    return `threw ${(error as Error).name}`;
  }
}

describe('isStoredIsoTime', () => {
  it('is true exactly for the texts toISOString gives back unchanged', () => {
    fc.assert(
      fc.property(timeText, (text) => {
        expect(isStoredIsoTime(text)).toBe(isStoredByDate(text));
      }),
      { numRuns: 20_000 },
    );
  });

  it('refuses what Date.parse rolls over: 24:00, 30 February, 29 February of a common year', () => {
    expect(isStoredIsoTime('2024-05-01T24:00:00.000Z')).toBe(false);
    expect(isStoredIsoTime('2024-02-30T10:00:00.000Z')).toBe(false);
    expect(isStoredIsoTime('2023-02-29T10:00:00.000Z')).toBe(false);
    expect(isStoredIsoTime('2024-02-29T10:00:00.000Z')).toBe(true);
    expect(isStoredIsoTime('2000-02-29T10:00:00.000Z')).toBe(true);
    expect(isStoredIsoTime('1900-02-29T10:00:00.000Z')).toBe(false);
  });
});

describe('parseIsoMillis', () => {
  it('equals Date.parse', () => {
    fc.assert(
      fc.property(timeText, (text) => {
        expect(Object.is(parseIsoMillis(text), Date.parse(text))).toBe(true);
      }),
      { numRuns: 10_000 },
    );
  });
});

describe('formatIsoMillis', () => {
  const millis = fc.oneof(
    fc.integer({ min: 0, max: 253_402_300_799_999 }),
    fc.integer({ min: -9e15, max: 9e15 }),
    fc.double(),
    fc.constantFrom(0, -0, 253_402_300_800_000, 253_402_300_799_999, -1, 8.64e15, -8.64e15, 8.64e15 + 1, 0.5),
  );

  it('equals new Date(ms).toISOString(), throwing where it throws', () => {
    fc.assert(
      fc.property(millis, (ms) => {
        expect(outcome(() => formatIsoMillis(ms))).toBe(outcome(() => new Date(ms).toISOString()));
      }),
      { numRuns: 20_000 },
    );
  });

  it('stays right across runs of times in and out of one minute', () => {
    const start = Date.UTC(2024, 1, 28, 23, 58, 30);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -200_000, max: 200_000 }), { maxLength: 50 }), (offsets) => {
        for (const offset of offsets) {
          expect(formatIsoMillis(start + offset)).toBe(new Date(start + offset).toISOString());
        }
      }),
    );
  });
});
