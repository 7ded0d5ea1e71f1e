/**
 * Realistic synthetic traffic for `deepref demo`: N users over the last D days, day by day (so the event time
 * moves forward as a backfill would), as batches of at most 50 events in the reference wrapper's format.
 * Deterministic for a seed and a `now`; memory stays bounded by one session plus one batch, whatever N and D.
 */
import { Random } from './random.ts';
import type { DemoEvent } from './session.ts';
import { userDay } from './user-day.ts';
import { createUser, DAY_MS, type DemoUser, type Engagement, type UserState, type Window } from './users.ts';

export type { DemoEvent } from './session.ts';

export interface TrafficOptions {
  users: number;
  days: number;
  seed: number;
  /** End of the window; default the current time. */
  now?: Date | number;
  /** Events per batch, at most 50 (the reference wrapper's batch size). */
  batchSize?: number;
}

export const MAX_BATCH_EVENTS = 50;

const DAY_STREAM = 0x646179; // "day"

/**
 * Events per day a user spends in the window, by engagement, and per signup session, measured on this
 * generator (1 000 users, 28 days); only the progress bar's total depends on them.
 */
const eventsPerDay: Record<Engagement, number> = { power: 248, casual: 52, dormant: 5.5 };
const eventsPerSignup = 45;

export class DemoTraffic {
  readonly window: Window;
  private readonly batchSize: number;
  private generated = 0;
  private peakPending = 0;

  constructor(private readonly options: TrafficOptions) {
    if (!Number.isInteger(options.users) || options.users < 1)
      throw new RangeError('users must be a positive integer');
    if (!Number.isInteger(options.days) || options.days < 1)
      throw new RangeError('days must be a positive integer');
    const end = options.now === undefined ? Date.now() : new Date(options.now).getTime();
    this.window = { start: end - options.days * DAY_MS, end };
    this.batchSize = Math.min(MAX_BATCH_EVENTS, Math.max(1, options.batchSize ?? MAX_BATCH_EVENTS));
  }

  /** Events generated so far. */
  get eventsGenerated(): number {
    return this.generated;
  }

  /**
   * The most events the generator has held at once (the batch being filled plus the session being cut into
   * batches). Bounded by one session plus one batch: the test of bounded memory reads it.
   */
  get peakPendingEvents(): number {
    return this.peakPending;
  }

  /** A cheap estimate of the number of events, for a progress bar: users' active days times a measured rate. */
  estimateEventCount(): number {
    let total = 0;
    for (const { user } of this.people()) total += expectedEvents(user, this.window);
    return Math.round(total);
  }

  /** The traffic, day by day and user by user within a day. Each array is a fresh batch of 1 to 50 events. */
  *batches(): Generator<DemoEvent[]> {
    const { seed, days } = this.options;
    const people = [...this.people()];
    let batch: DemoEvent[] = [];
    for (let day = 0; day < days; day++) {
      const start = this.window.start + day * DAY_MS;
      const dayWindow: Window = { start, end: Math.min(start + DAY_MS, this.window.end) };
      for (const { user, state } of people) {
        const rng = new Random(seed, DAY_STREAM, user.index, day);
        for (const events of userDay(user, state, rng, dayWindow, this.window.end)) {
          this.generated += events.length;
          this.peakPending = Math.max(this.peakPending, batch.length + events.length);
          for (const event of events) {
            batch.push(event);
            if (batch.length === this.batchSize) {
              yield batch;
              batch = [];
            }
          }
        }
      }
    }
    if (batch.length > 0) yield batch;
  }

  /** The users, in order. */
  *users(): Generator<DemoUser> {
    for (const { user } of this.people()) yield user;
  }

  private *people(): Generator<{ user: DemoUser; state: UserState }> {
    for (let i = 0; i < this.options.users; i++) yield createUser(this.options.seed, i, this.window);
  }
}

function expectedEvents(user: DemoUser, window: Window): number {
  if (!user.isNew) return ((window.end - window.start) / DAY_MS) * eventsPerDay[user.engagement];
  // Who leaves during onboarding has only the signup session.
  if (user.onboardingReach < 5) return eventsPerSignup;
  return eventsPerSignup + ((window.end - user.signupAt) / DAY_MS) * eventsPerDay[user.engagement];
}

/** Shorthand: the batches of `new DemoTraffic(options)`. */
export function generateTraffic(options: TrafficOptions): Generator<DemoEvent[]> {
  return new DemoTraffic(options).batches();
}
