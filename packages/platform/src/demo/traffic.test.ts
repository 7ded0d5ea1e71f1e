import { registeredEvents, validateEnvelope, validateProperties } from '@deepref/schema';
import { beforeAll, describe, expect, it } from 'vitest';
import { mapReferenceBody } from '../collector/wire.ts';
import { type DemoEvent, DemoTraffic, MAX_BATCH_EVENTS } from './traffic.ts';
import { createUser, DAY_MS, type Engagement, onboardingSteps, trialFunnelSteps } from './users.ts';

const now = Date.UTC(2025, 2, 3, 9, 30);
const options = { users: 500, days: 30, seed: 7, now };
const WEEK = 7 * DAY_MS;

/** Everything the tests check, gathered in one streaming pass: the traffic is never held whole. */
interface Observed {
  events: number;
  batches: number;
  largestBatch: number;
  largestBatchBytes: number;
  problems: string[];
  outsideWindow: number;
  repeatedIds: number;
  sessionProblems: string[];
  sessionCount: number;
  serverProblems: string[];
  apiLatencyEvents: number;
  /** userId → event name → first time, for the funnel steps. */
  firstStep: Map<string, Map<string, number>>;
  prompts: Map<string, number>;
  subscriptionsWithoutPayment: number;
  /** Events by name, for the rarer ones. */
  names: Map<string, number>;
  estimate: number;
}

function observe(): Observed {
  const traffic = new DemoTraffic(options);
  const { start, end } = traffic.window;
  const seen = new Set<string>();
  const sessions = new Map<string, { last: number; ended: boolean }>();
  const funnelNames = new Set<string>([...trialFunnelSteps, ...onboardingSteps]);
  const o: Observed = {
    events: 0,
    batches: 0,
    largestBatch: 0,
    largestBatchBytes: 0,
    problems: [],
    outsideWindow: 0,
    repeatedIds: 0,
    sessionProblems: [],
    sessionCount: 0,
    serverProblems: [],
    apiLatencyEvents: 0,
    firstStep: new Map(),
    prompts: new Map(),
    subscriptionsWithoutPayment: 0,
    names: new Map(),
    estimate: traffic.estimateEventCount(),
  };
  const openCheckouts = new Map<string, number>();
  const problem = (list: string[], text: string) => {
    if (list.length < 10) list.push(text);
  };

  for (const batch of traffic.batches()) {
    o.batches++;
    o.events += batch.length;
    o.largestBatch = Math.max(o.largestBatch, batch.length);
    const body = JSON.stringify(batch);
    o.largestBatchBytes = Math.max(o.largestBatchBytes, Buffer.byteLength(body));

    // What the collector receives, mapped by the collector's own code in strict mode (unregistered names refused).
    const received = JSON.parse(body) as DemoEvent[];
    const mapped = mapReferenceBody(received, {
      sourceId: 'demo',
      receivedAt: new Date(end),
      limits: { maxEventBytes: 32 * 1024, strict: true },
    });
    mapped.forEach((result, i) => {
      if (!result.ok) problem(o.problems, `${batch[i]!.eventName}: ${result.reason} ${result.message}`);
    });

    for (const [i, event] of batch.entries()) checkEvent(event, received[i]!);
  }
  for (const [userId, amount] of openCheckouts)
    problem(o.serverProblems, `${userId} paid nothing for ${amount}`);
  o.subscriptionsWithoutPayment = openCheckouts.size;
  return o;

  function checkEvent(event: DemoEvent, received: DemoEvent): void {
    if (event.type === 'identify') {
      if (!event.traits?.account_type) problem(o.problems, 'identify without account_type');
    } else {
      if (!Object.hasOwn(registeredEvents, event.eventName))
        problem(o.problems, `unregistered ${event.eventName}`);
      const properties = validateProperties(event.eventName, event.properties);
      if (!properties.ok) problem(o.problems, `${event.eventName}: ${JSON.stringify(properties.errors)}`);
    }
    // A track call is an item without `type`: the collector makes it one.
    const envelope = validateEnvelope({ type: 'track', ...received });
    if (!envelope.ok) problem(o.problems, `${event.eventName}: ${JSON.stringify(envelope.errors)}`);
    if (!event.userId && !event.anonymousId) problem(o.problems, `${event.eventName} has no identity`);

    o.names.set(event.eventName, (o.names.get(event.eventName) ?? 0) + 1);
    if (seen.has(event.eventId)) o.repeatedIds++;
    seen.add(event.eventId);
    const t = Date.parse(event.timestamp);
    if (!(t >= start && t <= end)) o.outsideWindow++;

    if (event.sessionId) {
      const session = sessions.get(event.sessionId);
      if (!session) {
        o.sessionCount++;
        if (event.eventName !== 'session_start') problem(o.sessionProblems, `opened by ${event.eventName}`);
        sessions.set(event.sessionId, { last: t, ended: false });
      } else {
        if (t < session.last) problem(o.sessionProblems, `${event.eventName} goes back in time`);
        if (session.ended) problem(o.sessionProblems, `${event.eventName} after session_end`);
        session.last = t;
        session.ended = event.eventName === 'session_end';
      }
    } else if (event.context.page || event.context.viewport) {
      problem(o.serverProblems, `${event.eventName} outside a session has a browser context`);
    }
    if (event.eventName === 'api_latency') {
      o.apiLatencyEvents++;
      const endpoint = String(event.properties.endpoint);
      if (event.sessionId || event.context.userAgent || (!event.userId && !event.anonymousId)) {
        problem(o.serverProblems, 'api_latency sent like a browser event');
      }
      if (/(doc|ref)_[0-9a-z]/.test(endpoint)) problem(o.serverProblems, `concrete path ${endpoint}`);
    }

    const userId = event.userId;
    if (!userId) return;
    if (funnelNames.has(event.eventName)) {
      const steps = o.firstStep.get(userId) ?? new Map<string, number>();
      o.firstStep.set(userId, steps);
      if (!steps.has(event.eventName)) steps.set(event.eventName, t);
    }
    if (event.eventName === 'prompt_submission') o.prompts.set(userId, (o.prompts.get(userId) ?? 0) + 1);
    if (event.eventName === 'subscription_complete')
      openCheckouts.set(userId, event.properties.amount as number);
    if (event.eventName === 'payment' && openCheckouts.get(userId) === event.properties.amount) {
      openCheckouts.delete(userId);
    }
  }
}

describe('demo traffic', () => {
  let o: Observed;
  // Half a million events, each through the collector's mapping: generous under a loaded machine.
  beforeAll(() => {
    o = observe();
  }, 240_000);

  it('is the same for the same seed and now, and another seed gives other traffic', () => {
    const firstBatches = (seed: number) => {
      const batches: DemoEvent[][] = [];
      for (const batch of new DemoTraffic({ users: 20, days: 3, seed, now }).batches()) {
        batches.push(batch);
        if (batches.length === 5) break;
      }
      return JSON.stringify(batches);
    };
    expect(firstBatches(1)).toBe(firstBatches(1));
    expect(firstBatches(2)).not.toBe(firstBatches(1));
  });

  it('passes the collector in strict mode: registered names, typed properties, an identity on every event', () => {
    expect(o.events).toBeGreaterThan(100_000);
    expect(o.problems).toEqual([]);
  });

  it('sends batches of at most 50 events and 500 KB', () => {
    expect(o.largestBatch).toBe(MAX_BATCH_EVENTS);
    expect(o.largestBatchBytes).toBeLessThanOrEqual(500 * 1024);
  });

  it('keeps every event inside the window and gives each its own id', () => {
    expect(o.outsideWindow).toBe(0);
    expect(o.repeatedIds).toBe(0);
  });

  it('opens each session with session_start and never goes back in time within it', () => {
    expect(o.sessionCount).toBeGreaterThan(1000);
    expect(o.sessionProblems).toEqual([]);
  });

  it('sends api_latency as the server: route templates, a subject, no session and no browser', () => {
    expect(o.apiLatencyEvents).toBeGreaterThan(10_000);
    expect(o.serverProblems).toEqual([]);
  });

  it('produces 150 to 400 events per user per week', () => {
    const perUserWeek = o.events / options.users / (options.days / 7);
    expect(perUserWeek).toBeGreaterThan(150);
    expect(perUserWeek).toBeLessThan(400);
  });

  it('estimates the event count to within a fifth', () => {
    expect(o.estimate / o.events).toBeGreaterThan(0.8);
    expect(o.estimate / o.events).toBeLessThan(1.2);
  });

  it('takes new users through onboarding with fewer at each step, in order', () => {
    const reached = onboardingSteps.map(
      (_, i) =>
        [...o.firstStep.values()].filter((steps) =>
          onboardingSteps.slice(0, i + 1).every((name, j) => {
            const at = steps.get(name);
            return at !== undefined && (j === 0 || at >= steps.get(onboardingSteps[j - 1]!)!);
          }),
        ).length,
    );
    expect(reached[0]).toBeGreaterThan(100);
    for (let i = 1; i < reached.length; i++) {
      expect(reached[i]).toBeLessThan(reached[i - 1]!);
      expect(reached[i]).toBeGreaterThan(0.7 * reached[i - 1]!);
    }
  });

  it('puts the trial funnel steps in order for every user who subscribes from a trial', () => {
    const converted = [...o.firstStep.values()].filter(
      (steps) => steps.has('subscription_complete') && steps.has('trial_signup'),
    );
    expect(converted.length).toBeGreaterThan(5);
    for (const steps of converted) {
      const times = trialFunnelSteps.map((name) => steps.get(name));
      expect(times.every((t) => t !== undefined)).toBe(true);
      expect([...(times as number[])].sort((a, b) => a - b)).toEqual(times);
    }
  });

  it('brings about a third of finished trials to the payment page and about one in seven to a subscription', () => {
    // Trials that began at least 14 days before the end have had their whole chance to convert.
    const trials = [...o.firstStep.values()].filter(
      (steps) => (steps.get('trial_signup') ?? now) <= now - 14 * DAY_MS,
    );
    const paymentPage = trials.filter((steps) => steps.has('payment_page_view')).length / trials.length;
    const subscribed = trials.filter((steps) => steps.has('subscription_complete')).length / trials.length;
    expect(trials.length).toBeGreaterThan(40);
    expect(paymentPage).toBeGreaterThan(0.2);
    expect(paymentPage).toBeLessThan(0.5);
    expect(subscribed).toBeGreaterThan(0.05);
    expect(subscribed).toBeLessThan(0.3);
  });

  it('sorts users into the behaviour cohorts by AI prompts per week: over 100, 10 to 100, under 10', () => {
    const window = { start: now - options.days * DAY_MS, end: now };
    const inCohort: Record<Engagement, { yes: number; all: number }> = {
      power: { yes: 0, all: 0 },
      casual: { yes: 0, all: 0 },
      dormant: { yes: 0, all: 0 },
    };
    for (let i = 0; i < options.users; i++) {
      const { user } = createUser(options.seed, i, window);
      if (user.isNew) continue;
      const perWeek = ((o.prompts.get(user.userId) ?? 0) * WEEK) / (window.end - window.start);
      const band =
        user.engagement === 'power'
          ? perWeek > 100
          : user.engagement === 'casual'
            ? perWeek >= 10 && perWeek <= 100
            : perWeek < 10;
      inCohort[user.engagement].all++;
      if (band) inCohort[user.engagement].yes++;
    }
    for (const { yes, all } of Object.values(inCohort)) {
      expect(all).toBeGreaterThan(20);
      expect(yes / all).toBeGreaterThan(0.85);
    }
  });

  it('follows every checkout with its payment, and some subscriptions end', () => {
    expect(o.names.get('subscription_complete')).toBeGreaterThan(5);
    expect(o.subscriptionsWithoutPayment).toBe(0);
    expect(o.names.get('subscription_cancel')).toBeGreaterThan(0);
    expect(o.names.get('trial_end')).toBeGreaterThan(0);
  });

  it('identifies signed-in people with their account type, as the analytics user profile reads it', () => {
    expect(o.names.get('identify')).toBeGreaterThan(100);
  });

  it('records security events: failed logins, second factors, an attack now and then', () => {
    expect(o.names.get('login')).toBeGreaterThan(100);
    expect(o.names.get('mfa_challenge')).toBeGreaterThan(10);
    expect(o.names.get('threat_detected')).toBeGreaterThan(0);
  });
});

describe('demo billing', () => {
  it('charges subscriptions a period apart, so that MRR and churn can be computed', () => {
    const days = 75;
    const charges = new Map<string, number[]>();
    for (const batch of new DemoTraffic({ users: 150, days, seed: 11, now }).batches()) {
      for (const event of batch) {
        if (event.eventName !== 'payment' || event.properties.status !== 'succeeded') continue;
        const { plan, interval, amount } = event.properties;
        const key = `${event.userId} ${plan}/${interval}/${amount}`;
        charges.set(key, [...(charges.get(key) ?? []), Date.parse(event.timestamp)]);
      }
    }
    let renewals = 0;
    for (const [key, times] of charges) {
      if (!key.includes('/monthly/')) continue;
      for (let i = 1; i < times.length; i++) {
        // 30 days; 27 or 33 around a failed charge that succeeded when retried three days later.
        expect([27, 30, 33]).toContain((times[i]! - times[i - 1]!) / DAY_MS);
        renewals++;
      }
    }
    expect(renewals).toBeGreaterThan(20);
  }, 120_000);
});

describe('demo traffic memory', () => {
  it('never holds more than one session and one batch, for 2 000 users over 30 days', () => {
    const traffic = new DemoTraffic({ users: 2000, days: 30, seed: 3, now });
    let yielded = 0;
    for (const batch of traffic.batches()) yielded += batch.length;
    expect(traffic.eventsGenerated).toBe(yielded);
    expect(yielded).toBeGreaterThan(1_000_000);
    // A session is a few hundred events at the most; the whole run is millions.
    expect(traffic.peakPendingEvents).toBeLessThan(1500);
  }, 240_000);
});
