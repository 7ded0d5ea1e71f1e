/**
 * The analytics API through the real server: a small dataset sent through the collector and drained into the
 * warehouse, then every route compared with the analytics function it exposes (and with hand-counted figures),
 * bad parameters answered with their codes, write keys refused on every read route, and the OpenAPI page.
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
import { startTestPlatform, type TestPlatform } from '../testing/test-platform.ts';

const now = new Date('2026-11-20T12:00:00Z');
const from = '2026-11-01T00:00:00.000Z';
const to = '2026-11-15T00:00:00.000Z';
const range = { from, to };

let t: TestPlatform;
let cookie: string;

const event = (
  eventName: string,
  userId: string,
  timestamp: string,
  properties: Record<string, unknown> = {},
) => ({
  eventId: randomUUID(),
  eventName,
  timestamp,
  userId,
  sessionId: `s-${userId}`,
  properties,
});

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
  event('purchase', 'u1', '2026-11-05T10:00:00Z'), // before u1's exposure: not a conversion
];

beforeAll(async () => {
  let announced = '';
  t = await startTestPlatform({ now: () => now, announceAdminPassword: (m) => (announced = m) });
  const sent = await t.post('/api/telemetry/events', dataset);
  expect(sent.status).toBe(200);
  expect(new Set(sent.body.results.map((r: { status: string }) => r.status))).toEqual(new Set(['accepted']));
  // Only the warehouse matters here: wait for it to hold the dataset (the stream layer's drain is not needed).
  for (let loaded = 0; loaded < dataset.length; ) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const { rows } = await t.platform.warehouse.query('SELECT count(*) FROM events');
    loaded = Number(rows[0]?.[0]);
  }
  const password = /password: (\S+)/.exec(announced)![1]!;
  const login = await fetch(`${t.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password }),
  });
  cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
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

/** The function's answer as it travels in JSON. */
const json = (value: unknown) => JSON.parse(JSON.stringify(value));

describe('analytics routes on a crafted dataset', () => {
  it('GET /events lists event names with counts, most frequent first', async () => {
    const { status, body } = await get('/events', range);
    expect(status).toBe(200);
    expect(body.events.slice(0, 2)).toEqual([
      { name: 'experiment_exposure', count: 4, registered: false },
      { name: 'report_viewed', count: 3, registered: false },
    ]);
    expect(body.events).toContainEqual({ name: 'signup', count: 2, registered: true });
    expect(body.events.reduce((sum: number, e: { count: number }) => sum + e.count, 0)).toBe(dataset.length);
  });

  it('GET /trends answers what trends() answers, with breakdown and compare', async () => {
    const params = { event: 'report_viewed', interval: 'day', breakdown: 'plan', compare: 'true', ...range };
    const { status, body } = await get('/trends', params);
    expect(status).toBe(200);
    expect(body).toEqual(
      json(
        await trends(t.platform.warehouse, {
          event: 'report_viewed',
          interval: 'day',
          breakdown: 'plan',
          compare: true,
          ...range,
        }),
      ),
    );
    expect(
      body.series.map((s: { breakdownValue: string; total: unknown }) => [s.breakdownValue, s.total]),
    ).toEqual([
      ['free', { count: 2, users: 1 }],
      ['paid', { count: 1, users: 1 }],
    ]);
    expect(body.previous.from).toBe('2026-10-18T00:00:00.000Z');
  });

  it('GET /funnels, /funnels/onboarding and /funnels/trial-to-paid answer what the funnel functions answer', async () => {
    const custom = await get('/funnels', { steps: 'visit,cart', windowHours: '1', ...range });
    expect(custom.body).toEqual(
      json(await funnel(t.platform.warehouse, { steps: ['visit', 'cart'], windowSeconds: 3600, ...range })),
    );
    expect(custom.body.breakdowns[0].steps.map((s: { count: number }) => s.count)).toEqual([2, 1]);

    const onboarding = await get('/funnels/onboarding', range);
    expect(onboarding.body).toEqual(json(await onboardingFunnel(t.platform.warehouse, range)));
    expect(onboarding.body.breakdowns[0].steps.map((s: { count: number }) => s.count)).toEqual([
      2, 2, 1, 0, 0,
    ]);

    const trial = await get('/funnels/trial-to-paid', { windowHours: '48', ...range });
    expect(trial.body).toEqual(
      json(await trialToPaidFunnel(t.platform.warehouse, { ...range, windowSeconds: 48 * 3600 })),
    );
    expect(trial.body.breakdowns[0].steps.map((s: { count: number }) => s.count)).toEqual([1, 1, 0, 0, 0]);
  });

  it('GET /retention answers what retention() answers', async () => {
    const { body } = await get('/retention', { weeks: '0,1', ...range });
    expect(body).toEqual(
      json(
        await retention(t.platform.warehouse, { ...range, weeks: [0, 1], observedUntil: now.toISOString() }),
      ),
    );
    expect(body.cohorts.map((c: { week: string; size: number }) => [c.week, c.size])).toEqual([
      ['2026-11-02T00:00:00.000Z', 2],
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

  it('the routes of the other analytics modules answer what their functions answer', async () => {
    const w = t.platform.warehouse;
    const pathsQuery = { event: 'visit', direction: 'after' as const, depth: 2, ...range };
    const performance = await performanceReport(w, range);
    const cases: [string, Record<string, string>, unknown][] = [
      ['/cohorts/behaviour', range, await behaviourCohorts(w, range)],
      ['/paths', { event: 'visit', depth: '2', ...range }, await paths(w, pathsQuery)],
      ['/adoption', range, await featureAdoption(w, range)],
      ['/revenue', range, await revenue(w, range)],
      ['/performance/api', range, { from, to, endpoints: performance.endpoints }],
      ['/performance/web-vitals', range, { from, to, webVitals: performance.webVitals }],
      ['/ai', range, await aiMetrics(w, range)],
      ['/users/u1/profile', {}, await userProfile(w, { person: 'u1', now: now.toISOString() })],
    ];
    for (const [route, params, expected] of cases) {
      const { status, body } = await get(route, params);
      expect(status, route).toBe(200);
      expect(body, route).toEqual(json(expected));
    }
    expect((await get('/users/nobody/profile')).status).toBe(404);

    // The live cards read the stream jobs' store (not reachable from here) where the warehouse-only call does not;
    // the error rate reads the warehouse in both.
    const live = await get('/realtime');
    expect(live.status).toBe(200);
    expect(live.body.errorRate).toEqual(json((await realtimeCards({ warehouse: w, now })).errorRate));
    expect([live.body.activeUsers.source, live.body.apiLatency.source]).toEqual(['stream', 'stream']);
  });

  it('defaults to the last 30 days up to now', async () => {
    const { body } = await get('/events');
    expect([body.from, body.to]).toEqual(['2026-10-21T12:00:00.000Z', '2026-11-20T12:00:00.000Z']);
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
    ['/events', { from: '2000-01-01', to: '2026-01-01' }, 'DEEPREF_BAD_DATE_RANGE', 'longer than 3660 days'],
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
    const strict = await startTestPlatform({
      ingest: { strict: true },
      announceAdminPassword: (m) => (announced = m),
    });
    try {
      const key = await fetch(`${strict.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: /password: (\S+)/.exec(announced)![1] }),
      });
      const session = (key.headers.get('set-cookie') ?? '').split(';')[0]!;
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
