/**
 * Event time for the live stream, as Azure Stream Analytics applies it at the input (`TIMESTAMP BY`):
 * - an event's time is its (skew-corrected) `timestamp`, or its arrival time (`receivedAt`) when that is missing;
 * - late arrival: an event older than arrival − `lateArrivalToleranceMs` is re-stamped to arrival − tolerance
 *   (policy `adjust`) or dropped (`drop`);
 * - early arrival: an event stamped after arrival + `earlyArrivalToleranceMs` (ASA's early-arrival window, five
 *   minutes) is re-stamped to arrival + tolerance or dropped, by the same policy; else one event from a clock far
 *   ahead (or a sender who writes year 9999) would move the watermark there, and every later event would be out of
 *   order;
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
  /** Stamped later than arrival + this is early: re-stamped or dropped by `latePolicy`. */
  earlyArrivalToleranceMs: number;
  outOfOrderToleranceMs: number;
  latePolicy: LatePolicy;
  /** Older than this on arrival is backfill, not live traffic; `Infinity` to window everything. */
  backfillHorizonMs: number;
}

/** ASA's defaults for the tolerances and the policy; backfill past one day. */
export const defaultEventTimePolicy: EventTimePolicy = {
  lateArrivalToleranceMs: 5_000,
  earlyArrivalToleranceMs: 300_000,
  outOfOrderToleranceMs: 0,
  latePolicy: 'adjust',
  backfillHorizonMs: 86_400_000,
};

export interface EventTimeCounts {
  onTime: number;
  lateAdjusted: number;
  lateDropped: number;
  earlyAdjusted: number;
  earlyDropped: number;
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
  earlyAdjusted: 0,
  earlyDropped: 0,
  outOfOrderAdjusted: 0,
  outOfOrderDropped: 0,
  backfill: 0,
  untimed: 0,
  arrivalFallback: 0,
});

/** An event's time: `Date.parse`, read without it for the stored form (`@deepref/schema`'s `parseIsoMillis`). */
export { parseIsoMillis as parseTime } from '@deepref/schema';

export class EventTimeline {
  readonly policy: EventTimePolicy;
  watermark = Number.NEGATIVE_INFINITY;
  counts: EventTimeCounts = emptyCounts();

  constructor(policy: Partial<EventTimePolicy> = {}) {
    this.policy = { ...defaultEventTimePolicy, ...policy };
  }

  /** The time to window the event at, or undefined when it is not windowed (dropped, backfill, untimed). */
  admit(eventTime: number, arrivalTime: number): number | undefined {
    const {
      lateArrivalToleranceMs: late,
      earlyArrivalToleranceMs: early,
      outOfOrderToleranceMs: outOfOrder,
      latePolicy,
    } = this.policy;
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
    } else if (hasArrival && t > arrivalTime + early) {
      if (latePolicy === 'drop') {
        this.counts.earlyDropped += 1;
        return undefined;
      }
      this.counts.earlyAdjusted += 1;
      t = Math.max(arrivalTime + early, this.watermark);
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
