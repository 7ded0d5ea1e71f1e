/**
 * Times in the form `toISOString` writes (`YYYY-MM-DDTHH:MM:SS.mmmZ`, the stored form), read and written without a
 * Date object or a regular expression. Every event carries two or three of them, checked by the schema, read and
 * rewritten by the collector, read again by the stream and the storage, so `Date.parse`, `new Date`, `toISOString`
 * and the regexes were a visible share of each. Each function answers exactly as the Date-based code it replaces
 * (property tests hold them to it) and hands every case outside its fast path to that code.
 */

/** The value of the `count` decimal digits at `at`, or -1 when one of them is not a digit; all within `text`. */
export function decimalDigits(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

const monthDays = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The days of `month` (1–12) in `year` of the proleptic Gregorian calendar (year 0 is a leap year). */
export function daysInMonth(year: number, month: number): number {
  if (month !== 2) return monthDays[month]!;
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
}

/** Two decimal digits at `at`, or a negative number when either is not a digit: no loop, the hot readers' unit. */
function twoDigits(text: string, at: number): number {
  const tens = text.charCodeAt(at) - 48;
  const ones = text.charCodeAt(at + 1) - 48;
  return tens >>> 0 > 9 || ones >>> 0 > 9 ? -1 : tens * 10 + ones;
}

/** Four decimal digits at `at`, or a negative number when one is not a digit. */
function fourDigits(text: string, at: number): number {
  const high = twoDigits(text, at);
  const low = twoDigits(text, at + 2);
  return (high | low) < 0 ? -1 : high * 100 + low;
}

/** What `timeOfDayMillis` gives when a digit is not there, and when a field is past its range. */
const notDigits = -1;
const pastRange = -2;

/**
 * The milliseconds since midnight to the `HH:MM:SS` at 11 (separators checked apart); `notDigits`, or `pastRange`
 * for a time no clock shows (24:00, minute 60, a leap second).
 */
function timeOfDayMillis(text: string): number {
  const hour = twoDigits(text, 11);
  const minute = twoDigits(text, 14);
  const second = twoDigits(text, 17);
  // One unsigned test a field on the way every stored time takes; which failure it was, only when one fails.
  if (hour >>> 0 > 23 || minute >>> 0 > 59 || second >>> 0 > 59) {
    return (hour | minute | second) < 0 ? notDigits : pastRange;
  }
  return hour * 3_600_000 + minute * 60_000 + second * 1_000;
}

/** Whether `text` has the separators of `YYYY-MM-DDTHH:MM:SS` at their places. */
function hasDateTimeSeparators(text: string): boolean {
  return (
    text.charCodeAt(4) === 45 /* - */ &&
    text.charCodeAt(7) === 45 &&
    text.charCodeAt(10) === 84 /* T */ &&
    text.charCodeAt(13) === 58 /* : */ &&
    text.charCodeAt(16) === 58
  );
}

/**
 * How `text` begins: 'valid' with `YYYY-MM-DDTHH:MM:SS` naming a real instant; 'out-of-range' with the digits in
 * place but a field past its range (30 February, 24:00, a leap second), which a date-time format check may pass and
 * a database refuses; 'other' when it does not begin so at all. What follows the seconds is the caller's to check.
 */
export function dateTimeForm(text: string): 'valid' | 'out-of-range' | 'other' {
  if (!hasDateTimeSeparators(text)) return 'other';
  const year = fourDigits(text, 0);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  const time = timeOfDayMillis(text);
  if ((year | month | day) < 0 || time === notDigits) return 'other';
  const inRange =
    time >= 0 && month >= 1 && month <= 12 && day >= 1 && (day <= 28 || day <= daysInMonth(year, month));
  return inRange ? 'valid' : 'out-of-range';
}

/** Whether `text` has the stored form's length and ends `.mmmZ`. */
function hasStoredTail(text: string): boolean {
  return (
    text.length === 24 &&
    text.charCodeAt(19) === 46 /* . */ &&
    text.charCodeAt(23) === 90 /* Z */ &&
    twoDigits(text, 20) >= 0 &&
    (text.charCodeAt(22) - 48) >>> 0 <= 9
  );
}

/**
 * Whether `text` is already what `new Date(Date.parse(text)).toISOString()` gives back: the stored form with every
 * field in range (no 24:00, no 30 February, which Date.parse rolls over into another text).
 */
export function isStoredIsoTime(text: string): boolean {
  return hasStoredTail(text) && dateTimeForm(text) === 'valid';
}

/** Days from 1970-01-01 to the given proleptic Gregorian date; a day past the month's end rolls over. */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  return (
    era * 146_097 +
    yearOfEra * 365 +
    Math.floor(yearOfEra / 4) -
    Math.floor(yearOfEra / 100) +
    dayOfYear -
    719_468
  );
}

/**
 * `Date.parse(text)`, read from the character codes when `text` is in the stored form, no allocation. Any other
 * form, or a field out of range, goes to `Date.parse`. The result equals `Date.parse`'s for every input, including
 * its roll-over of days past a month's end (`…-02-30` is March 2), which is computed here rather than handed on.
 */
export function parseIsoMillis(text: string | undefined): number {
  if (
    typeof text !== 'string' ||
    text.length !== 24 ||
    !hasDateTimeSeparators(text) ||
    text.charCodeAt(19) !== 46 /* . */ ||
    text.charCodeAt(23) !== 90 /* Z */
  ) {
    return Date.parse(text as string);
  }
  const century = twoDigits(text, 0);
  const yearOfCentury = twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  const time = timeOfDayMillis(text);
  const ms10 = twoDigits(text, 20);
  const ms1 = text.charCodeAt(22) - 48;
  if (
    century < 0 ||
    yearOfCentury < 0 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > 31 ||
    time < 0 ||
    ms10 < 0 ||
    ms1 >>> 0 > 9
  ) {
    return Date.parse(text);
  }
  const days = daysFromCivil(century * 100 + yearOfCentury, month, day);
  return days * 86_400_000 + time + ms10 * 10 + ms1;
}

/**
 * The instants a stored time can name: the years 0000 to 9999, RFC 3339's four-digit years, which every warehouse
 * reads. `toISOString` writes any other with a six-digit year (`-000001-…`, `+010000-…`).
 */
export const firstStorableMillis = -62_167_219_200_000; // 0000-01-01T00:00:00.000Z
export const lastStorableMillis = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

/** The first instant `toISOString` writes with a five-digit year (+010000-01-01). */
const year10000 = lastStorableMillis + 1;

// `SS.` and `mmmZ` ready made: a time is its minute's prefix and two of these, two string joins.
const secondsDot = Array.from({ length: 60 }, (_, n) => `${String(n).padStart(2, '0')}.`);
const millisZ = Array.from({ length: 1000 }, (_, n) => `${String(n).padStart(3, '0')}Z`);

// The times of a batch mostly fall in one minute: its `YYYY-MM-DDTHH:MM:` is written once for the run of them.
let cachedMinute = Number.NaN;
let cachedMinutePrefix = '';

/** `new Date(ms).toISOString()`, throwing as it does for an invalid time. */
export function formatIsoMillis(ms: number): string {
  if (!(ms >= 0 && ms < year10000) || !Number.isInteger(ms)) return new Date(ms).toISOString();
  const minute = Math.floor(ms / 60_000);
  if (minute !== cachedMinute) {
    cachedMinutePrefix = new Date(minute * 60_000).toISOString().slice(0, 17);
    cachedMinute = minute;
  }
  const inMinute = ms - minute * 60_000;
  const second = Math.floor(inMinute / 1000);
  return cachedMinutePrefix + secondsDot[second]! + millisZ[inMinute - second * 1000]!;
}
