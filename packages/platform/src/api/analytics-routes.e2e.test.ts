/**
 * The analytics API through the real server, once per adapter set (embedded: DuckDB; scale-out: PostgreSQL): a
 * crafted dataset sent through the collector and drained into the warehouse, then every route checked against
 * figures counted by hand from the dataset and against the analytics function it exposes (called in the
 * warehouse's own dialect), bad parameters answered with their codes, write keys refused on every read route, and
 * the OpenAPI page.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aiMetrics } from '../analytics/ai-metrics.ts';
import { behaviourCohorts } from '../analytics/behaviour-cohorts.ts';
import { featureAdoption } from '../analytics/feature-adoption.ts';
import { funnel, onboardingFunnel, trialToPaidFunnel } from '../analytics/funnels.ts';
import { paths } from '../analytics/paths.ts';
import { performanceReport } from '../analytics/performance.ts';
import { realtimeCards } from '../analytics/realtime.ts';
import { retention } from '../analytics/retention.ts';
import { revenue } from '../analytics/revenue.ts';
import { trends } from '../analytics/trends.ts';
import { userProfile } from '../analytics/user-profile.ts';
import { type AdapterSet, adapterSets } from '../testing/adapter-sets.ts';
import { signIn } from '../testing/admin-session.ts';
import type { TestPlatform } from '../testing/test-platform.ts';

const now = new Date('2026-11-20T12:00:00Z');
const from = '2026-11-01T00:00:00.000Z';
const to = '2026-11-15T00:00:00.000Z';
const range = { from, to };

const event = (
  eventName: string,
  userId: string,
  timestamp: string,
  properties: Record<string, unknown> = {},
  sessionId = `s-${userId}`,
) => ({ eventId: randomUUID(), eventName, timestamp, userId, sessionId, properties });

/** Fixed ids, so that reactions name their response. */
const prompt1 = '00000000-0000-4000-8000-0000000000a1';
const prompt2 = '00000000-0000-4000-8000-0000000000a2';
const response1 = '00000000-0000-4000-8000-0000000000b1';
const response2 = '00000000-0000-4000-8000-0000000000b2';
const apiCall = (userId: string, timestamp: string, duration_ms: number, status_code: number) =>
  event(
    'api_latency',
    userId,
    timestamp,
    { endpoint: '/v1/items', method: 'GET', status_code, duration_ms },
    `api-${userId}`,
  );
const webVital = (timestamp: string, name: string, value: number) =>
  event('web_vital', 'u2', timestamp, { name, value, path: '/home' }, 'vitals-u2');
const prompt = (userId: string, timestamp: string, prompt_id: string) =>
  event(
    'prompt_submission',
    userId,
    timestamp,
    { prompt_id, model_used: 'm1', prompt_length: 40 },
    `ai-${userId}`,
  );
const aiEvent = (eventName: string, timestamp: string, properties: Record<string, unknown>) =>
  event(eventName, 'u3', timestamp, properties, 'ai-u3');

/**
 * Four people in the first two weeks of November 2026 (Monday 2 and Monday 9), and two API calls on the 20th for
 * the live error-rate card. No two events of a session share a time, so every order is the same on each engine.
 */
const dataset = [
  event('report_viewed', 'u1', '2026-11-02T10:00:00Z', { plan: 'free' }),
  event('report_viewed', 'u1', '2026-11-02T11:00:00Z', { plan: 'free' }),
  event('report_viewed', 'u2', '2026-11-03T09:00:00Z', { plan: 'paid' }),
  event('signup', 'u1', '2026-11-02T08:00:00Z', { method: 'email' }),
  event('email_verify', 'u1', '2026-11-02T08:10:00Z'),
  event('first_login', 'u1', '2026-11-02T09:00:00Z'),
  event('signup', 'u2', '2026-11-03T08:00:00Z', { method: 'google' }),
  event('email_verify', 'u2', '2026-11-03T08:30:00Z'),
  event('trial_signup', 'u3', '2026-11-04T00:00:00Z'),
  event('first_ai_interaction', 'u3', '2026-11-04T01:00:00Z'),
  event('visit', 'u1', '2026-11-05T10:00:00Z'),
  event('cart', 'u1', '2026-11-05T10:05:00Z'),
  event('visit', 'u2', '2026-11-05T11:00:00Z'),
  event('experiment_exposure', 'u1', '2026-11-06T10:00:00Z', { experiment: 'cta', variant: 'a' }),
  event('experiment_exposure', 'u2', '2026-11-06T10:00:00Z', { experiment: 'cta', variant: 'a' }),
  event('experiment_exposure', 'u3', '2026-11-06T10:00:00Z', { experiment: 'cta', variant: 'b' }),
  event('experiment_exposure', 'u4', '2026-11-06T10:00:00Z', { experiment: 'cta', variant: 'b' }),
  event('purchase', 'u3', '2026-11-07T10:00:00Z'),
  event('purchase', 'u1', '2026-11-05T09:59:00Z'), // before u1's exposure: not a conversion
  // Features: u1 and u2 adopt `export` 2 days 2 hours and 2 days after signing up; u3 (no signup) uses `share`.
  event('feature_used', 'u1', '2026-11-04T10:00:00Z', { feature: 'export' }, 'features-u1'),
  event('feature_used', 'u1', '2026-11-06T12:00:00Z', { feature: 'export' }, 'features-u1'),
  event('feature_used', 'u2', '2026-11-05T08:00:00Z', { feature: 'export' }, 'features-u2'),
  event('feature_used', 'u3', '2026-11-09T12:00:00Z', { feature: 'share' }, 'features-u3'),
  // Revenue: u2 pays 30 a month and adds 20; u1 pays 120 a year (10 a month), then cancels.
  event(
    'subscription_complete',
    'u2',
    '2026-11-03T12:00:00Z',
    { plan: 'pro', interval: 'monthly', amount: 30, currency: 'USD' },
    'billing-u2',
  ),
  event(
    'subscription_upgrade',
    'u2',
    '2026-11-10T12:00:00Z',
    { from_plan: 'pro', to_plan: 'team', mrr_change: 20, currency: 'USD' },
    'billing-u2',
  ),
  event(
    'subscription_complete',
    'u1',
    '2026-11-05T12:00:00Z',
    { plan: 'pro', interval: 'annual', amount: 120, currency: 'USD' },
    'billing-u1',
  ),
  event('subscription_cancel', 'u1', '2026-11-12T09:00:00Z', { plan: 'pro' }, 'billing-u1'),
  // One endpoint: 100, 200, 300 and 400 ms, the last a server error.
  apiCall('u1', '2026-11-10T10:00:00Z', 100, 200),
  apiCall('u1', '2026-11-10T10:01:00Z', 200, 200),
  apiCall('u1', '2026-11-10T10:02:00Z', 300, 200),
  apiCall('u1', '2026-11-10T10:03:00Z', 400, 500),
  webVital('2026-11-10T09:00:00Z', 'LCP', 1000),
  webVital('2026-11-10T09:01:00Z', 'LCP', 2000),
  webVital('2026-11-10T09:02:00Z', 'LCP', 3000),
  webVital('2026-11-10T09:03:00Z', 'LCP', 4000),
  webVital('2026-11-10T09:04:00Z', 'CLS', 0.1),
  // AI: u3 asks twice (one answer fails, then is regenerated; the other is edited and rated 4); u4 asks ten times.
  prompt('u3', '2026-11-09T09:00:00Z', prompt1),
  prompt('u3', '2026-11-09T09:10:00Z', prompt2),
  aiEvent('response_received', '2026-11-09T09:01:00Z', {
    prompt_id: prompt1,
    response_id: response1,
    model_used: 'm1',
    success: true,
    generation_time_ms: 1000,
    prompt_tokens: 10,
    completion_tokens: 100,
  }),
  aiEvent('response_received', '2026-11-09T09:11:00Z', {
    prompt_id: prompt2,
    response_id: response2,
    model_used: 'm1',
    success: false,
    generation_time_ms: 3000,
    prompt_tokens: 10,
    completion_tokens: 300,
  }),
  aiEvent('response_edited', '2026-11-09T09:02:00Z', { response_id: response1 }),
  aiEvent('ai_feedback', '2026-11-09T09:03:00Z', { response_id: response1, rating: 4 }),
  aiEvent('response_regenerated', '2026-11-09T09:12:00Z', {
    prompt_id: prompt2,
    response_id: response2,
    attempt: 2,
  }),
  ...Array.from({ length: 10 }, (_, i) =>
    prompt('u4', `2026-11-11T10:0${i}:00Z`, `00000000-0000-4000-8000-0000000000c${i}`),
  ),
  // The live error-rate card's hour (after the range): a server error and a client error.
  apiCall('u2', '2026-11-20T11:30:00Z', 50, 503),
  apiCall('u2', '2026-11-20T11:45:00Z', 50, 404),
];

/** The events of the dataset in the range. */
const inRange = dataset.filter((e) => e.timestamp >= from && e.timestamp < to);

/** The function's answer as it travels in JSON. */
const json = (value: unknown) => JSON.parse(JSON.stringify(value));

for (const adapters of adapterSets) {
  describe(`analytics routes (${adapters.name})`, () => analyticsRoutesSuite(adapters));
}

function analyticsRoutesSuite(adapters: AdapterSet) {
  let t: TestPlatform;
  let cookie: string;
  /** The admin password the platform announced on its first start. */
  let announced = '';

  beforeAll(async () => {
    t = await adapters.start({ now: () => now, announceAdminPassword: (m) => (announced = m) });
    const sent = await t.post('/api/telemetry/events', dataset);
    expect(sent.status).toBe(200);
    expect(new Set(sent.body.results.map((r: { status: string }) => r.status))).toEqual(
      new Set(['accepted']),
    );
    await t.platform.drain();
    const { rows } = await t.platform.warehouse.query('SELECT count(*) FROM events');
    expect(Number(rows[0]?.[0])).toBe(dataset.length);
    cookie = await signIn(t.url, announced);
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  async function get(
    route: string,
    params: Record<string, string> = {},
    // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the route answers
  ): Promise<{ status: number; body: any }> {
    const query = new URLSearchParams(params).toString();
    const response = await fetch(`${t.url}/api/v1/analytics${route}${query ? `?${query}` : ''}`, {
      headers: { cookie },
    });
    return { status: response.status, body: await response.json() };
  }

  describe('analytics routes on a crafted dataset', () => {
    /** The platform's warehouse and its dialect, as the routes use them. */
    const library = () => ({ w: t.platform.warehouse, d: t.platform.dialect });

    it('GET /events lists event names with counts, most frequent first, ties by name', async () => {
      const { status, body } = await get('/events', range);
      expect(status).toBe(200);
      expect(body.events.slice(0, 5)).toEqual([
        { name: 'prompt_submission', count: 12, registered: true },
        { name: 'web_vital', count: 5, registered: true },
        { name: 'api_latency', count: 4, registered: true },
        { name: 'experiment_exposure', count: 4, registered: false },
        { name: 'feature_used', count: 4, registered: true },
      ]);
      expect(body.events).toContainEqual({ name: 'report_viewed', count: 3, registered: false });
      expect(body.events).toContainEqual({ name: 'signup', count: 2, registered: true });
      expect(body.events.reduce((sum: number, e: { count: number }) => sum + e.count, 0)).toBe(
        inRange.length,
      );
    });

    it('GET /trends counts per day and per breakdown value, and the period before', async () => {
      const params = {
        event: 'report_viewed',
        interval: 'day',
        breakdown: 'plan',
        compare: 'true',
        ...range,
      };
      const { status, body } = await get('/trends', params);
      expect(status).toBe(200);
      const { w, d } = library();
      expect(body).toEqual(
        json(
          await trends(
            w,
            { event: 'report_viewed', interval: 'day', breakdown: 'plan', compare: true, ...range },
            d,
          ),
        ),
      );
      expect(
        body.series.map((s: { breakdownValue: string; total: unknown }) => [s.breakdownValue, s.total]),
      ).toEqual([
        ['free', { count: 2, users: 1 }],
        ['paid', { count: 1, users: 1 }],
      ]);
      const free = body.series[0].points.filter((p: { count: number }) => p.count > 0);
      expect(free).toEqual([{ bucket: '2026-11-02T00:00:00.000Z', count: 2, users: 1 }]);
      expect(body.series[0].points).toHaveLength(14);
      expect(body.previous.from).toBe('2026-10-18T00:00:00.000Z');
      expect(body.previous.series.map((s: { total: { count: number } }) => s.total.count)).toEqual([0]);
    });

    it('GET /funnels, /funnels/onboarding and /funnels/trial-to-paid count the people at each step', async () => {
      const { w, d } = library();
      const custom = await get('/funnels', { steps: 'visit,cart', windowHours: '1', ...range });
      expect(custom.body).toEqual(
        json(await funnel(w, { steps: ['visit', 'cart'], windowSeconds: 3600, ...range }, d)),
      );
      const [visitStep, cartStep] = custom.body.breakdowns[0].steps;
      expect([visitStep.count, cartStep.count]).toEqual([2, 1]);
      expect([cartStep.conversionFromStart, cartStep.medianSecondsFromPrevious]).toEqual([0.5, 300]);

      const onboarding = await get('/funnels/onboarding', range);
      expect(onboarding.body).toEqual(json(await onboardingFunnel(w, range, d)));
      const onboardingSteps = onboarding.body.breakdowns[0].steps;
      expect(onboardingSteps.map((s: { count: number }) => s.count)).toEqual([2, 2, 1, 0, 0]);
      // u1 verified after 10 minutes, u2 after 30.
      expect(onboardingSteps[1].medianSecondsFromPrevious).toBe(1200);

      const trial = await get('/funnels/trial-to-paid', { windowHours: '48', ...range });
      expect(trial.body).toEqual(json(await trialToPaidFunnel(w, { ...range, windowSeconds: 48 * 3600 }, d)));
      expect(trial.body.breakdowns[0].steps.map((s: { count: number }) => s.count)).toEqual([1, 1, 0, 0, 0]);
    });

    it('GET /retention follows the signup cohort into the next week', async () => {
      const { w, d } = library();
      const { body } = await get('/retention', { weeks: '0,1', ...range });
      expect(body).toEqual(
        json(await retention(w, { ...range, weeks: [0, 1], observedUntil: now.toISOString() }, d)),
      );
      expect(body.cohorts).toEqual([
        {
          week: '2026-11-02T00:00:00.000Z',
          segment: null,
          size: 2,
          retained: [
            { week: 0, people: 2, rate: 1 },
            { week: 1, people: 2, rate: 1 },
          ],
        },
      ]);
    });

    it('GET /experiments and /experiments/:name read the exposures and compare the variants', async () => {
      const list = await get('/experiments', range);
      expect(list.body.experiments).toEqual([
        {
          name: 'cta',
          variants: [
            { name: 'a', users: 2 },
            { name: 'b', users: 2 },
          ],
          users: 4,
          firstSeen: '2026-11-06T10:00:00.000Z',
          lastSeen: '2026-11-06T10:00:00.000Z',
        },
      ]);
      const { status, body } = await get('/experiments/cta', { conversionEvent: 'purchase', ...range });
      expect(status).toBe(200);
      expect(body.control).toBe('a');
      expect(
        body.variants.map((v: { name: string; users: number; conversions: number }) => [
          v.name,
          v.users,
          v.conversions,
        ]),
      ).toEqual([
        ['a', 2, 0],
        ['b', 2, 1],
      ]);
      expect(body.variants[1].vsControl.absoluteLift).toBe(0.5);
      expect(body.sampleRatio.mismatch).toBe(false);
      const missing = await get('/experiments/nope', range);
      expect(missing.status).toBe(404);
    });

    it('GET /cohorts/behaviour splits each week’s active people by AI interactions', async () => {
      const { w, d } = library();
      const { status, body } = await get('/cohorts/behaviour', range);
      expect(status).toBe(200);
      expect(body).toEqual(json(await behaviourCohorts(w, range, d)));
      expect(body.weeks).toEqual([
        { week: '2026-10-26T00:00:00.000Z', activePeople: 0, power: 0, casual: 0, dormant: 0 },
        { week: '2026-11-02T00:00:00.000Z', activePeople: 4, power: 0, casual: 0, dormant: 4 },
        // u4's ten prompts make a casual user; u3's two prompts and a regeneration, a dormant one.
        { week: '2026-11-09T00:00:00.000Z', activePeople: 4, power: 0, casual: 1, dormant: 3 },
      ]);
    });

    it('GET /paths follows the sessions after an event', async () => {
      const { w, d } = library();
      const { status, body } = await get('/paths', { event: 'visit', depth: '2', ...range });
      expect(status).toBe(200);
      expect(body).toEqual(
        json(await paths(w, { event: 'visit', direction: 'after', depth: 2, ...range }, d)),
      );
      expect(body.sessions).toBe(2);
      expect(body.steps).toEqual([
        { step: 1, sessions: 2, dropOff: 0 },
        { step: 2, sessions: 1, dropOff: 1 },
      ]);
      expect(body.paths).toEqual([
        { events: ['visit', 'cart', 'experiment_exposure'], sessions: 1 },
        { events: ['visit', 'experiment_exposure'], sessions: 1 },
      ]);
    });

    it('GET /adoption counts each feature’s users, uses and time to first use after signup', async () => {
      const { w, d } = library();
      const { status, body } = await get('/adoption', range);
      expect(status).toBe(200);
      expect(body).toEqual(json(await featureAdoption(w, range, d)));
      expect([body.activePeople, body.signups]).toEqual([4, 2]);
      expect(body.features).toEqual([
        {
          feature: 'export',
          users: 2,
          uses: 3,
          adoptionRate: 0.5,
          usesPerUser: 1.5,
          newUsers: 2,
          signupsAdopted: 2,
          // 2 days 2 hours and 2 days.
          medianSecondsToFirstUse: (180_000 + 172_800) / 2,
        },
        {
          feature: 'share',
          users: 1,
          uses: 1,
          adoptionRate: 0.25,
          usesPerUser: 1,
          newUsers: 1,
          signupsAdopted: 0,
          medianSecondsToFirstUse: null,
        },
      ]);
      expect(body.onboarding).toEqual((await get('/funnels/onboarding', range)).body);
    });

    it('GET /revenue rebuilds the month’s MRR and its movements', async () => {
      const { w, d } = library();
      const { status, body } = await get('/revenue', range);
      expect(status).toBe(200);
      expect(body).toEqual(json(await revenue(w, range, d)));
      expect(body.months).toEqual([
        {
          month: '2026-11-01T00:00:00.000Z',
          startMrr: 0,
          mrr: 50,
          arr: 600,
          mrrGrowth: 50,
          newMrr: 40,
          reactivationMrr: 0,
          expansionMrr: 20,
          contractionMrr: 0,
          churnedMrr: 10,
          startCustomers: 0,
          customers: 1,
          newCustomers: 2,
          churnedCustomers: 1,
          churnRate: null,
          customerChurnRate: null,
          netRevenueRetention: null,
        },
      ]);
    });

    it('GET /performance/api and /performance/web-vitals give latency percentiles and page vitals', async () => {
      const { w, d } = library();
      const report = json(await performanceReport(w, range, d));
      const api = await get('/performance/api', range);
      expect(api.status).toBe(200);
      expect(api.body).toEqual({ from, to, endpoints: report.endpoints });
      expect(api.body.endpoints).toEqual([
        {
          endpoint: '/v1/items',
          method: 'GET',
          requests: 4,
          avgLatencyMs: 250,
          // Continuous percentiles of 100, 200, 300, 400: ranks 0.95 · 3 and 0.99 · 3 (DuckDB's last bit may differ).
          p95LatencyMs: expect.closeTo(385, 9),
          p99LatencyMs: expect.closeTo(397, 9),
          errorRate: 0.25,
          requestsPerSecond: 4 / (14 * 86_400),
        },
      ]);
      const vitals = await get('/performance/web-vitals', range);
      expect(vitals.status).toBe(200);
      expect(vitals.body).toEqual({ from, to, webVitals: report.webVitals });
      const home = vitals.body.webVitals.pages;
      expect(home.map((p: { path: string }) => p.path)).toEqual(['/home']);
      expect(home[0].metrics.LCP).toEqual({ p75: 3250, samples: 4 });
      expect(home[0].metrics.CLS).toEqual({ p75: 0.1, samples: 1 });
      expect(home[0].metrics.INP).toEqual({ p75: null, samples: 0 });
      expect(vitals.body.webVitals.all.metrics).toEqual(home[0].metrics);
    });

    it('GET /ai gives each model’s prompts, success, latency, speed and reactions', async () => {
      const { w, d } = library();
      const { status, body } = await get('/ai', range);
      expect(status).toBe(200);
      expect(body).toEqual(json(await aiMetrics(w, range, d)));
      expect(body.models).toEqual([
        {
          model: 'm1',
          prompts: 12,
          responses: 2,
          successRate: 0.5,
          avgLatencyMs: 2000,
          p95LatencyMs: 2900,
          // 400 tokens in 4 seconds.
          tokensPerSecond: 100,
          regenerationRate: 0.5,
          editRate: 0.5,
          ratings: 1,
          avgRating: 4,
          ratingCounts: [0, 0, 0, 1, 0],
        },
      ]);
      expect(body.promptsPerDay).toHaveLength(14);
      expect(body.promptsPerDay.filter((day: { prompts: number }) => day.prompts > 0)).toEqual([
        { day: '2026-11-09T00:00:00.000Z', prompts: 2, byModel: { m1: 2 } },
        { day: '2026-11-11T00:00:00.000Z', prompts: 10, byModel: { m1: 10 } },
      ]);
    });

    it('GET /users/:userId/profile builds one person’s profile up to `now`', async () => {
      const { w, d } = library();
      const { status, body } = await get('/users/u1/profile');
      expect(status).toBe(200);
      expect(body).toEqual(json(await userProfile(w, { person: 'u1', now: now.toISOString() }, d)));
      const own = dataset.filter((e) => e.userId === 'u1');
      expect(body.person).toBe('u1');
      expect([body.created, body.lastActive]).toEqual([
        '2026-11-02T08:00:00.000Z',
        '2026-11-12T09:00:00.000Z',
      ]);
      expect(body.totalSessions).toBe(new Set(own.map((e) => e.sessionId)).size);
      expect(body.hourlyEvents.reduce((sum: number, n: number) => sum + n, 0)).toBe(own.length);
      expect(body.hourlyEvents[10]).toBe(own.filter((e) => e.timestamp.slice(11, 13) === '10').length);
      expect(body.mostUsedFeatures).toEqual([{ feature: 'export', uses: 2 }]);
      // export of export and share.
      expect(body.featureAdoptionRate).toBe(0.5);
      expect((await get('/users/nobody/profile')).status).toBe(404);
    });

    it('GET /realtime reads the live error rate of the last hour from the warehouse', async () => {
      const { w, d } = library();
      const live = await get('/realtime');
      expect(live.status).toBe(200);
      expect(live.body.errorRate).toEqual({
        requests: 2,
        serverErrors: 1,
        clientErrors: 1,
        errorRate: 0.5,
        from: '2026-11-20T11:00:00.000Z',
        to: '2026-11-20T12:00:00.000Z',
        source: 'warehouse',
      });
      // The other two cards read the stream jobs' store (not reachable from here) where the warehouse-only call
      // does not; without a store both read the warehouse, which holds no event in their last minutes.
      expect([live.body.activeUsers.source, live.body.apiLatency.source]).toEqual(['stream', 'stream']);
      const fromWarehouse = await realtimeCards({ warehouse: w, now }, d);
      expect(live.body.errorRate).toEqual(json(fromWarehouse.errorRate));
      expect([fromWarehouse.activeUsers.activeUsers, fromWarehouse.apiLatency.endpoints]).toEqual([0, []]);
    });

    it('GET /api/alerts reads the stream alerts table of the warehouse', async () => {
      const answer = await fetch(`${t.url}/api/alerts`, { headers: { cookie } });
      expect(answer.status).toBe(200);
      expect(await answer.json()).toEqual({ alerts: [] });
    });

    it('defaults to the last 30 days up to now', async () => {
      const { body } = await get('/events');
      expect([body.from, body.to]).toEqual(['2026-10-21T12:00:00.000Z', '2026-11-20T12:00:00.000Z']);
      expect(body.events.reduce((sum: number, e: { count: number }) => sum + e.count, 0)).toBe(
        dataset.length,
      );
    });
  });

  describe('bad parameters', () => {
    it.each([
      [
        '/trends',
        { event: 'report_viewed', interval: 'year' },
        'DEEPREF_INVALID_QUERY',
        'interval must be equal to one of the allowed values (hour, day, week, month)',
      ],
      ['/trends', { interval: 'day' }, 'DEEPREF_INVALID_QUERY', "must have required property 'event'"],
      [
        '/trends',
        { event: 'x', from: '2026-11-10', to: '2026-11-01' },
        'DEEPREF_BAD_DATE_RANGE',
        'must be before',
      ],
      ['/events', { from: 'last tuesday' }, 'DEEPREF_BAD_DATE_RANGE', 'is not an ISO 8601 date'],
      // Date.parse would read these as 2 March, 2001 and a year past 9999 (where week arithmetic threw a 500).
      ['/events', { from: '2026-02-30' }, 'DEEPREF_BAD_DATE_RANGE', '`from` (2026-02-30) is not an ISO 8601'],
      ['/events', { to: '1' }, 'DEEPREF_BAD_DATE_RANGE', '`to` (1) is not an ISO 8601 date'],
      [
        '/cohorts/behaviour',
        { from: '275760-09-01', to: '275760-09-13' },
        'DEEPREF_BAD_DATE_RANGE',
        '`to` (275760-09-13) is not an ISO 8601 date',
      ],
      // PostgreSQL has no year 0; a week bucket late in 9999 starts in year 10000.
      [
        '/events',
        { to: '0000-01-05' },
        'DEEPREF_BAD_DATE_RANGE',
        '`from` (-000001-12-06T00:00:00.000Z) is outside 0001-01-01T00:00:00.000Z to 9999-01-01T00:00:00.000Z',
      ],
      [
        '/cohorts/behaviour',
        { from: '9999-12-01', to: '9999-12-31' },
        'DEEPREF_BAD_DATE_RANGE',
        '`from` (9999-12-01T00:00:00.000Z) is outside',
      ],
      [
        '/users/u1/profile',
        { now: '2026-11-01T24:00:00Z' },
        'DEEPREF_BAD_DATE_RANGE',
        '`now` (2026-11-01T24:00:00Z)',
      ],
      [
        '/events',
        { from: '2000-01-01', to: '2026-01-01' },
        'DEEPREF_BAD_DATE_RANGE',
        'longer than 3660 days',
      ],
      ['/paths', { event: 'visit', depth: '11' }, 'DEEPREF_INVALID_QUERY', 'depth must be <= 10'],
      ['/funnels', { steps: 'visit' }, 'DEEPREF_BAD_REQUEST', 'A funnel needs 2 to 20 steps'],
      ['/trends', { event: 'x', breakdown: 'a b' }, 'DEEPREF_BAD_REQUEST', 'is not a valid property name'],
    ])('%s %j → 400 %s', async (route, params, code, message) => {
      const { status, body } = await get(route, params);
      expect(status).toBe(400);
      expect(body.error.code).toBe(code);
      expect(body.error.message).toContain(message);
    });

    it('refuses an unregistered event name when the platform runs strict', async () => {
      let announced = '';
      const strict = await adapters.start({
        ingest: { strict: true },
        announceAdminPassword: (m) => (announced = m),
      });
      try {
        const session = await signIn(strict.url, announced);
        const ask = (query: string) =>
          fetch(`${strict.url}/api/v1/analytics${query}`, { headers: { cookie: session } });
        const unknown = await ask('/trends?event=report_viewed');
        expect(unknown.status).toBe(400);
        expect((await unknown.json()).error.code).toBe('DEEPREF_UNKNOWN_EVENT');
        const funnelStep = await ask('/funnels?steps=signup,made_up');
        expect((await funnelStep.json()).error.code).toBe('DEEPREF_UNKNOWN_EVENT');
        expect((await ask('/trends?event=signup')).status).toBe(200);
      } finally {
        await strict.close();
      }
    }, 60_000);
  });

  describe('readers only', () => {
    /** Every GET route that reads data, from the OpenAPI document (so a new read route is checked too). */
    async function readRoutes(): Promise<string[]> {
      const spec = await (await fetch(`${t.url}/docs/json`)).json();
      return Object.entries(spec.paths as Record<string, Record<string, unknown>>)
        .filter(
          ([path, operations]) =>
            'get' in operations &&
            (path.startsWith('/api/v1/analytics') ||
              path.startsWith('/api/realtime') ||
              path === '/api/alerts' ||
              path.startsWith('/api/v1/auth/')),
        )
        .map(([path]) => path.replace(/\{[^}]+\}/g, 'x'));
    }

    it('refuses a write key on every read route (Bearer and Basic alike) and anyone without credentials', async () => {
      const routes = await readRoutes();
      expect(routes.length).toBeGreaterThanOrEqual(23);
      const basic = `Basic ${Buffer.from(`${t.writeKey}:`).toString('base64')}`;
      for (const route of [...routes, '/example/events?anonymousId=a']) {
        for (const authorization of [`Bearer ${t.writeKey}`, basic]) {
          const answer = await fetch(`${t.url}${route}`, { headers: { authorization } });
          expect(answer.status, `${route} ${authorization.slice(0, 6)}`).toBe(403);
          expect((await answer.json()).error.code).toBe('DEEPREF_WRITE_KEY_CANNOT_READ');
        }
        const anonymous = await fetch(`${t.url}${route}`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
        expect(anonymous.status, route).toBe(401);
        expect((await anonymous.json()).error.code).toBe('DEEPREF_NOT_SIGNED_IN');
      }
    });
  });

  describe('the dashboard’s session', () => {
    it('names the signed-in admin at /auth/me until the session signs out', async () => {
      const session = await signIn(t.url, announced);
      const me = () => fetch(`${t.url}/api/v1/auth/me`, { headers: { cookie: session } });
      const before = await me();
      expect(before.status).toBe(200);
      expect(await before.json()).toMatchObject({ user: { username: 'admin' }, via: 'session' });
      const out = await fetch(`${t.url}/api/v1/auth/logout`, {
        method: 'POST',
        headers: { cookie: session },
      });
      expect(out.status).toBe(204);
      expect((await me()).status).toBe(401);
      // Other sessions stay signed in.
      expect((await get('/events', range)).status).toBe(200);
    });
  });

  describe('the OpenAPI page', () => {
    it('lists the auth, analytics, real-time and collector paths at /docs/json and serves Swagger UI at /docs', async () => {
      const spec = await (await fetch(`${t.url}/docs/json`)).json();
      const analytics = Object.keys(spec.paths).filter((p) => p.startsWith('/api/v1/analytics/'));
      expect(analytics.sort()).toEqual(
        [
          'adoption',
          'ai',
          'cohorts/behaviour',
          'events',
          'experiments',
          'experiments/{name}',
          'funnels',
          'funnels/onboarding',
          'funnels/trial-to-paid',
          'paths',
          'performance/api',
          'performance/web-vitals',
          'realtime',
          'retention',
          'revenue',
          'trends',
          'users/{userId}/profile',
        ]
          .map((p) => `/api/v1/analytics/${p}`)
          .sort(),
      );
      for (const path of [
        '/api/v1/auth/login',
        '/api/realtime/active-users',
        '/api/alerts',
        '/api/telemetry/events',
        '/v1/{call}',
      ]) {
        expect(spec.paths, path).toHaveProperty([path]);
      }
      expect(spec.paths['/api/telemetry/events'].post.tags).toEqual(['collector']);
      const interval = spec.paths['/api/v1/analytics/trends'].get.parameters.find(
        (p: { name: string }) => p.name === 'interval',
      );
      expect(interval.schema.enum).toEqual(['hour', 'day', 'week', 'month']);
      expect(spec.paths).not.toHaveProperty(['/example']);
      const ui = await fetch(`${t.url}/docs/`);
      expect(ui.status).toBe(200);
      expect(await ui.text()).toContain('swagger');
    });
  });
}
