/**
 * Event time for the live stream, as Azure Stream Analytics applies it at the input (`TIMESTAMP BY`):
 * - an event's time is its (skew-corrected) `timestamp`, or its arrival time (`receivedAt`) when that is missing;
 * - late arrival: an event older than arrival − `lateArrivalToleranceMs` is re-stamped to arrival − tolerance
 *   (policy `adjust`) or dropped (`drop`);
 * - out of order: the watermark is the largest event time seen − `outOfOrderToleranceMs` (and never less than the
 *   latest arrival − late-arrival tolerance); an event stamped before the watermark is re-stamped to the watermark
 *   or dropped, by the same policy. Windows that end before the watermark are final.
 * Each event lands in exactly one counter: on time, late (adjusted/dropped), out of order (adjusted/dropped), or
 * backfill. Backfill is an event older than `backfillHorizonMs` on arrival (a historical import): the live stream
 * leaves it to a recomputation over the warehouse rather than re-stamping it to "now" (DESIGN.md, "Event time").
 */
export type LatePolicy = 'adjust' | 'drop';

export interface EventTimePolicy {
  lateArrivalToleranceMs: number;
  outOfOrderToleranceMs: number;
  latePolicy: LatePolicy;
  /** Older than this on arrival is backfill, not live traffic; `Infinity` to window everything. */
  backfillHorizonMs: number;
}

/** ASA's defaults for the tolerances and the policy; backfill past one day. */
export const defaultEventTimePolicy: EventTimePolicy = {
  lateArrivalToleranceMs: 5_000,
  outOfOrderToleranceMs: 0,
  latePolicy: 'adjust',
  backfillHorizonMs: 86_400_000,
};

export interface EventTimeCounts {
  onTime: number;
  lateAdjusted: number;
  lateDropped: number;
  outOfOrderAdjusted: number;
  outOfOrderDropped: number;
  backfill: number;
  /** Events with neither a valid timestamp nor an arrival time; never windowed. */
  untimed: number;
  /** Events windowed by arrival time because their own timestamp was missing or invalid. */
  arrivalFallback: number;
}

export interface EventTimeSnapshot {
  watermark: number | null;
  counts: EventTimeCounts;
}

export const emptyCounts = (): EventTimeCounts => ({
  onTime: 0,
  lateAdjusted: 0,
  lateDropped: 0,
  outOfOrderAdjusted: 0,
  outOfOrderDropped: 0,
  backfill: 0,
  untimed: 0,
  arrivalFallback: 0,
});

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

/** Two decimal digits at `i`, or a negative number when either is not a digit. */
function twoDigits(text: string, i: number): number {
  const a = text.charCodeAt(i) - 48;
  const b = text.charCodeAt(i + 1) - 48;
  return a >>> 0 > 9 || b >>> 0 > 9 ? -1 : a * 10 + b;
}

/**
 * `Date.parse(text)`, fast for the form every collector writes (`toISOString()`: `YYYY-MM-DDTHH:MM:SS.mmmZ`): read
 * from the character codes, no allocation. Any other form, or a field out of range, goes to `Date.parse`. The result
 * equals `Date.parse`'s for every input, including its roll-over of days past a month's end (`…-02-30` is March 2).
 */
export function parseTime(text: string | undefined): number {
  if (
    typeof text !== 'string' ||
    text.length !== 24 ||
    text.charCodeAt(4) !== 45 || // -
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(10) !== 84 || // T
    text.charCodeAt(13) !== 58 || // :
    text.charCodeAt(16) !== 58 ||
    text.charCodeAt(19) !== 46 || // .
    text.charCodeAt(23) !== 90 // Z
  ) {
    return Date.parse(text as string);
  }
  const century = twoDigits(text, 0);
  const yearOfCentury = twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  const hour = twoDigits(text, 11);
  const minute = twoDigits(text, 14);
  const second = twoDigits(text, 17);
  const ms10 = twoDigits(text, 20);
  const ms1 = text.charCodeAt(22) - 48;
  if (
    century < 0 ||
    yearOfCentury < 0 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > 31 ||
    hour < 0 ||
    hour > 23 ||
    minute < 0 ||
    minute > 59 ||
    second < 0 ||
    second > 59 ||
    ms10 < 0 ||
    ms1 >>> 0 > 9
  ) {
    return Date.parse(text);
  }
  const days = daysFromCivil(century * 100 + yearOfCentury, month, day);
  return days * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1_000 + ms10 * 10 + ms1;
}

export class EventTimeline {
  readonly policy: EventTimePolicy;
  watermark = Number.NEGATIVE_INFINITY;
  counts: EventTimeCounts = emptyCounts();

  constructor(policy: Partial<EventTimePolicy> = {}) {
    this.policy = { ...defaultEventTimePolicy, ...policy };
  }

  /** The time to window the event at, or undefined when it is not windowed (dropped, backfill, untimed). */
  admit(eventTime: number, arrivalTime: number): number | undefined {
    const { lateArrivalToleranceMs: late, outOfOrderToleranceMs: outOfOrder, latePolicy } = this.policy;
    let t = eventTime;
    if (Number.isNaN(t)) {
      if (Number.isNaN(arrivalTime)) {
        this.counts.untimed += 1;
        return undefined;
      }
      t = arrivalTime;
      this.counts.arrivalFallback += 1;
    }
    const hasArrival = !Number.isNaN(arrivalTime);
    if (hasArrival && t < arrivalTime - this.policy.backfillHorizonMs) {
      this.counts.backfill += 1;
      return undefined;
    }
    if (hasArrival && t < arrivalTime - late) {
      if (latePolicy === 'drop') {
        this.counts.lateDropped += 1;
        return undefined;
      }
      this.counts.lateAdjusted += 1;
      t = Math.max(arrivalTime - late, this.watermark);
    } else if (t < this.watermark) {
      if (latePolicy === 'drop') {
        this.counts.outOfOrderDropped += 1;
        return undefined;
      }
      this.counts.outOfOrderAdjusted += 1;
      t = this.watermark;
    } else {
      this.counts.onTime += 1;
    }
    if (t - outOfOrder > this.watermark) this.watermark = t - outOfOrder;
    if (hasArrival && arrivalTime - late > this.watermark) this.watermark = arrivalTime - late;
    return t;
  }

  toJSON(): EventTimeSnapshot {
    return { watermark: Number.isFinite(this.watermark) ? this.watermark : null, counts: { ...this.counts } };
  }

  static restore(snapshot: EventTimeSnapshot, policy: Partial<EventTimePolicy>): EventTimeline {
    const timeline = new EventTimeline(policy);
    timeline.watermark = snapshot.watermark ?? Number.NEGATIVE_INFINITY;
    timeline.counts = { ...emptyCounts(), ...snapshot.counts };
    return timeline;
  }
}
