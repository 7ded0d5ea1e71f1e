/** The Date-free time readers and writer against the Date code they replace, on the stored form, near misses and anything. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  dateTimeForm,
  daysInMonth,
  decimalDigits,
  formatIsoMillis,
  isStoredIsoTime,
  parseIsoMillis,
} from './iso-time.ts';

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
      fc.tuple(fc.nat(23), fc.constantFrom('0', '9', '-', 'T', ':', '.', 'Z', 'z', ' ', '/', 'a', '+')),
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

describe('decimalDigits', () => {
  it('reads a run of ASCII digits and nothing else', () => {
    expect(decimalDigits('x2024y', 1, 4)).toBe(2024);
    expect(decimalDigits('007', 0, 3)).toBe(7);
    expect(decimalDigits('12a4', 0, 4)).toBe(-1);
    expect(decimalDigits('12/4', 0, 4)).toBe(-1);
    expect(decimalDigits('１２', 0, 2)).toBe(-1);
  });
});

describe('daysInMonth', () => {
  it('counts as Date does in the proleptic Gregorian calendar, year 0 a leap year', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 1, max: 12 }), (year, month) => {
        const lastDay = new Date(0);
        lastDay.setUTCFullYear(year, month, 0);
        expect(daysInMonth(year, month)).toBe(lastDay.getUTCDate());
      }),
      { numRuns: 5_000 },
    );
    expect(daysInMonth(0, 2)).toBe(29);
    expect(daysInMonth(1900, 2)).toBe(28);
    expect(daysInMonth(2000, 2)).toBe(29);
  });
});

/** `dateTimeForm` the straightforward way: a regex for the digits, Date for the ranges. */
function dateTimeFormByDate(text: string): 'valid' | 'out-of-range' | 'other' {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(text);
  if (!match) return 'other';
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second);
  const same =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second;
  return same ? 'valid' : 'out-of-range';
}

/** Each reader, what it does, and the Date-based code it answers as. */
const readers: [string, (text: string) => unknown, (text: string) => unknown][] = [
  [
    'dateTimeForm tells a real instant, a field out of range and anything else apart',
    dateTimeForm,
    dateTimeFormByDate,
  ],
  [
    'isStoredIsoTime is true exactly for the texts toISOString gives back unchanged',
    isStoredIsoTime,
    isStoredByDate,
  ],
  [
    'parseIsoMillis equals Date.parse, days past a month end rolled over as it rolls them',
    parseIsoMillis,
    Date.parse,
  ],
];

describe('the readers against the Date-based code, on the stored form, near misses and any text', () => {
  for (const [behaviour, reader, byDate] of readers) {
    it(behaviour, () => {
      fc.assert(
        fc.property(timeText, (text) => {
          expect(reader(text)).toBe(byDate(text));
        }),
        { numRuns: 20_000 },
      );
    });
  }
});

describe('dateTimeForm', () => {
  it('looks only at the date and time of day, not at what follows the seconds', () => {
    const answers = {
      '2026-11-27T10:00:00Z': 'valid',
      '2026-11-27T10:00:00.123456+05:00': 'valid',
      '0000-02-29T00:00:00Z': 'valid',
      '2026-12-31T23:59:60Z': 'out-of-range',
      '2026-11-27 10:00:00Z': 'other',
      '2026-11-27': 'other',
    };
    for (const [text, form] of Object.entries(answers)) expect(dateTimeForm(text), text).toBe(form);
  });
});

describe('isStoredIsoTime', () => {
  it('refuses what Date.parse rolls over: 24:00, 30 February, 29 February of a common year', () => {
    const refused = ['2024-05-01T24:00:00.000Z', '2024-02-30T10:00:00.000Z', '2023-02-29T10:00:00.000Z'];
    const leapDays = ['2024-02-29T10:00:00.000Z', '2000-02-29T10:00:00.000Z'];
    for (const text of [...refused, '1900-02-29T10:00:00.000Z'])
      expect(isStoredIsoTime(text), text).toBe(false);
    for (const text of leapDays) expect(isStoredIsoTime(text), text).toBe(true);
  });
});

describe('parseIsoMillis', () => {
  it('reads other forms and missing values as Date.parse does', () => {
    for (const text of [
      '2026-03-01T10:00:00Z',
      '2026-03-01T10:00:00.123+02:00',
      '2026-03-01T24:00:00.000Z',
      '2026-02-30T10:00:00.000Z',
      '2026-03-01',
      'not a time',
      '',
      undefined,
    ]) {
      expect(parseIsoMillis(text), String(text)).toBe(Date.parse(text as string));
    }
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
