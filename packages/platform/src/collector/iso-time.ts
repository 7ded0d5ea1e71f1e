/**
 * The collector's times in the form `toISOString` writes (`YYYY-MM-DDTHH:MM:SS.mmmZ`), read and written without a
 * Date object. Every event carries two or three of them, so `Date.parse`, `new Date` and `toISOString` per event
 * were a visible share of the collector's main thread. Each function answers exactly as the Date-based code it
 * replaces (property tests hold them to it) and hands every case outside its fast path to that code.
 */
import { parseTime } from '../stream/event-time.ts';

/** `Date.parse(text)`; read from the character codes when `text` is in the stored form. */
export const parseIsoMillis: (text: string) => number = parseTime;

const daysInMonth = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The value of the `count` decimal digits at `at`, or -1 when one of them is not a digit. */
function digits(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * Whether `text` is already what `new Date(Date.parse(text)).toISOString()` gives back: the stored form with every
 * field in range (no 24:00, no 30 February, which Date.parse rolls over into another text).
 */
export function isStoredIsoTime(text: string): boolean {
  if (
    text.length !== 24 ||
    text.charCodeAt(4) !== 45 /* - */ ||
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(10) !== 84 /* T */ ||
    text.charCodeAt(13) !== 58 /* : */ ||
    text.charCodeAt(16) !== 58 ||
    text.charCodeAt(19) !== 46 /* . */ ||
    text.charCodeAt(23) !== 90 /* Z */
  ) {
    return false;
  }
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23) return false;
  if (minute < 0 || minute > 59 || second < 0 || second > 59 || digits(text, 20, 3) < 0) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 && leap ? 29 : daysInMonth[month]!);
}

/** The first instant `toISOString` writes with a five-digit year (+010000-01-01). */
const year10000 = 253_402_300_800_000;

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
