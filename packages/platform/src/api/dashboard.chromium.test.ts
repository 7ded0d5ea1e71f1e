/**
 * The dashboard in headless Chromium against a real platform: built on the first request, signed into through its
 * own form, first on an empty install (which explains how to send a first event), then after `deepref demo`
 * traffic, when every page must show exactly the figures the API answers. Each page is saved as a screenshot
 * under test-output/dashboard/; `DEEPREF_SCREENSHOT=1` also saves the overview as
 * docs/images/dashboard-overview.png.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import {
  launchChromium,
  requireChromium,
  runChromiumTests,
  until,
  warnIfChromiumMissing,
} from '@deepref/browser/testing/chromium';
import {
  formatChange,
  formatCount,
  formatDecimal,
  formatMoney,
  formatMs,
  formatPercent,
} from '@deepref/dashboard/format';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../cli/demo-command.ts';
import { startTestPlatform, type TestPlatform } from '../testing/test-platform.ts';
import { Accounts, adminUsername } from './auth/accounts.ts';

warnIfChromiumMissing("the dashboard's Chromium test");

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const screenshotDir = path.join(repoRoot, 'test-output', 'dashboard');
const overviewImage = path.join(repoRoot, 'docs', 'images', 'dashboard-overview.png');
const password = 'dashboard-test-password';
const viewport = { width: 1366, height: 768 };

let t: TestPlatform;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let dashboardDir: string;
let cookie: string;
const pageErrors: string[] = [];

class Discard extends Writable {
  override _write(_chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    done();
  }
}

beforeAll(async () => {
  if (!runChromiumTests) return;
  requireChromium();
  // An empty folder: the platform runs the real Vite build on the first request for the dashboard.
  dashboardDir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-dashboard-'));
  [t, browser] = await Promise.all([startTestPlatform({ dashboardDir }), launchChromium()]);
  const accounts = new Accounts(t.platform.meta, () => new Date());
  const admin = await accounts.findUser(adminUsername);
  if (!admin) throw new Error('the platform made no admin account on its first start');
  await accounts.setPassword(admin.id, password);
  context = await browser.newContext({ viewport });
  page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // Console errors such as a refused script or style (CSP); a failed API request shows as an error panel instead,
  // which `settled` checks.
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      pageErrors.push(message.text());
    }
  });
  fs.mkdirSync(screenshotDir, { recursive: true });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  if (dashboardDir) fs.rmSync(dashboardDir, { recursive: true, force: true });
});

/** The API as a program sees it, with its own session. */
// biome-ignore lint/suspicious/noExplicitAny: the test reads whatever JSON the route answers
async function api(route: string, params: Record<string, string | number | boolean> = {}): Promise<any> {
  const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString();
  const response = await fetch(`${t.url}/api/v1/analytics${route}${query ? `?${query}` : ''}`, {
    headers: { cookie },
  });
  const body = await response.json();
  if (response.status !== 200) throw new Error(`${route}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

/** Waits until nothing on the page is loading; fails on an error panel. */
async function settled(): Promise<void> {
  await until(
    'the page to finish loading',
    async () => {
      if ((await page.getByTestId('error').count()) > 0) {
        throw new Error(`the page shows an error: ${await page.getByTestId('error').first().textContent()}`);
      }
      return (
        (await page.locator('main.content h1').count()) > 0 &&
        (await page.getByTestId('loading').count()) === 0
      );
    },
    60_000,
  );
}

async function open(pathAndQuery: string): Promise<void> {
  await page.goto(`${t.url}${pathAndQuery}`);
  await settled();
}

async function text(testId: string, within?: string): Promise<string | null> {
  const scope = within ? page.locator(within) : page;
  return scope.getByTestId(testId).first().textContent();
}

/** The text of every element with this test id inside `within`, in document order. */
async function texts(within: string, testId: string): Promise<string[]> {
  return page.locator(within).getByTestId(testId).allTextContents();
}

async function screenshot(name: string): Promise<void> {
  await page.screenshot({
    path: path.join(screenshotDir, `${name}.png`),
    fullPage: true,
    animations: 'disabled',
  });
}

async function signIn(): Promise<void> {
  await page.goto(`${t.url}/`);
  await page.waitForURL(/\/sign-in\?next=/);
  await page.getByLabel('Username').fill(adminUsername);
  await screenshot('sign-in');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  expect(await page.getByTestId('sign-in-error').textContent()).toBe('Wrong username or password.');
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${t.url}/`);
  await settled();
}

describe.skipIf(!runChromiumTests)('the dashboard in Chromium', () => {
  it('signs in through its form and, on an empty install, explains how to send a first event', async () => {
    await signIn();
    const help = page.getByTestId('getting-started');
    await help.waitFor();
    expect(await help.getByRole('link', { name: 'example page' }).getAttribute('href')).toBe('/example');
    const commands = await help.locator('pre').allTextContents();
    expect(commands).toEqual([
      'npx deepref keys create --name web --origin http://localhost:3000',
      'npx deepref demo --users 50 --days 7',
    ]);
    await screenshot('overview-empty');
  });

  describe('after the demo', () => {
    let from: string;
    let to: string;
    let range: string;

    beforeAll(async () => {
      if (!runChromiumTests) return;
      const login = await fetch(`${t.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: adminUsername, password }),
      });
      expect(login.status).toBe(200);
      cookie = login.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
      const now = Date.now();
      await runDemo({
        users: 30,
        days: 7,
        seed: 7,
        concurrency: 2,
        dataDir: t.dataDir,
        url: t.url,
        writeKey: t.writeKey,
        now,
        stderr: new Discard(),
        stdout: new Discard(),
      });
      await sendExperiment(now);
      await t.platform.drain();
      to = new Date(Math.ceil(now / 3_600_000) * 3_600_000).toISOString();
      from = new Date(Date.parse(to) - 8 * 86_400_000).toISOString();
      range = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
    }, 300_000);

    it('overview: live cards, headline trends and top events equal the API', async () => {
      await open(`/?${range}`);
      await until(
        'the live cards to show what the API answers',
        async () => {
          const live = await api('/realtime');
          const endpoints = live.apiLatency.endpoints as { requests: number; avgLatencyMs: number | null }[];
          const timed = endpoints.filter((e) => e.avgLatencyMs !== null);
          const requests = timed.reduce((sum, e) => sum + e.requests, 0);
          const latency = requests
            ? timed.reduce((sum, e) => sum + e.avgLatencyMs! * e.requests, 0) / requests
            : null;
          return (
            (await text('live-active-users')) === formatCount(live.activeUsers.activeUsers) &&
            (await text('live-api-latency')) === formatMs(latency) &&
            (await text('live-error-rate')) === formatPercent(live.errorRate.errorRate, 2)
          );
        },
        30_000,
      );
      for (const event of ['session_start', 'signup', 'prompt_submission', 'subscription_complete']) {
        const trend = await api('/trends', { event, from, to, interval: 'day', compare: true });
        const count = trend.series[0]?.total.count ?? 0;
        expect(await text(`headline-${event}`), event).toBe(formatCount(count));
        const before = trend.previous.series[0]?.total.count ?? 0;
        if (before > 0) {
          expect(await text(`headline-${event}-change`)).toBe(
            `${formatChange((count - before) / before)} vs previous period`,
          );
        }
      }
      const { events } = await api('/events', { from, to });
      expect(events.length).toBeGreaterThan(10);
      for (const event of events.slice(0, 12)) {
        expect(await text(`top-event-count-${event.name}`), event.name).toBe(formatCount(event.count));
      }
      expect(await page.getByTestId('getting-started').count()).toBe(0);
      await screenshot('overview');
      if (process.env.DEEPREF_SCREENSHOT === '1') {
        await page.screenshot({ path: overviewImage, animations: 'disabled' });
      }
    });

    it('trends: totals and previous period equal the API', async () => {
      await open(`/trends?${range}&event=prompt_submission&interval=day&compare=true`);
      const trend = await api('/trends', {
        event: 'prompt_submission',
        from,
        to,
        interval: 'day',
        compare: true,
      });
      expect(trend.series[0].total.count).toBeGreaterThan(0);
      expect(await text('trend-total-count')).toBe(formatCount(trend.series[0].total.count));
      expect(await text('trend-total-users')).toBe(formatCount(trend.series[0].total.users));
      expect(await text('trend-previous-count')).toBe(
        formatCount(trend.previous.series[0]?.total.count ?? 0),
      );
      await page.getByTestId('trend-chart').locator('canvas').first().waitFor();
      await screenshot('trends');
    });

    it('funnels: each step of the built-in and a custom funnel equals the API', async () => {
      const funnels: { query: string; route: string; params: Record<string, string> }[] = [
        { query: 'funnel=trial-to-paid', route: '/funnels/trial-to-paid', params: {} },
        { query: 'funnel=onboarding', route: '/funnels/onboarding', params: {} },
        {
          query: 'funnel=custom&steps=signup,first_login,first_action',
          route: '/funnels',
          params: { steps: 'signup,first_login,first_action' },
        },
      ];
      for (const funnel of funnels) {
        await open(`/funnels?${range}&${funnel.query}`);
        const answer = await api(funnel.route, { ...funnel.params, from, to, windowHours: 336 });
        const steps = answer.breakdowns[0].steps;
        expect(steps[0].count, funnel.route).toBeGreaterThan(0);
        const table = '[data-testid="funnel-steps-table"]';
        expect(await texts(table, 'step-count')).toEqual(
          steps.map((s: { count: number }) => formatCount(s.count)),
        );
        expect(await texts(table, 'step-from-start')).toEqual(
          steps.map((s: { conversionFromStart: number }) => formatPercent(s.conversionFromStart)),
        );
        expect(await texts(table, 'step-from-previous')).toEqual(
          steps.map((s: { conversionFromPrevious: number }) => formatPercent(s.conversionFromPrevious)),
        );
        expect(await texts(table, 'step-drop-off')).toEqual(
          steps.map((s: { dropOff: number }, i: number) => (i === 0 ? '' : formatCount(s.dropOff))),
        );
        await screenshot(`funnels-${funnel.query.split('&')[0]!.split('=')[1]}`);
      }
    });

    it('trends and funnels: the breakdown field commits on Enter, and the figures split as the API splits them', async () => {
      /** Types `property` into the page's breakdown field and presses Enter, leaving the focus where it is. */
      async function breakDownBy(property: string): Promise<void> {
        const field = page.getByLabel('Breakdown by property');
        await field.fill(property);
        await field.press('Enter');
        await page.waitForURL(new RegExp(`[?&]breakdown=${property}(&|$)`), { timeout: 10_000 });
        expect(await field.evaluate((input) => input === document.activeElement)).toBe(true);
      }

      await open(`/trends?${range}&event=page_view&interval=day`);
      await breakDownBy('path');
      const split = await api('/trends', {
        event: 'page_view',
        from,
        to,
        interval: 'day',
        breakdown: 'path',
      });
      expect(split.series.length).toBeGreaterThan(1);
      const rows = page.getByTestId('trend-series').locator('tbody tr');
      await until('a row per breakdown value', async () => (await rows.count()) === split.series.length);
      await settled();
      for (const [i, series] of split.series.entries()) {
        const row = rows.nth(i);
        expect(await row.getAttribute('data-series')).toBe(series.breakdownValue ?? '(none)');
        expect(await row.getByTestId('series-count').textContent()).toBe(formatCount(series.total.count));
        expect(await row.getByTestId('series-users').textContent()).toBe(formatCount(series.total.users));
      }

      await open(`/funnels?${range}&funnel=onboarding`);
      await breakDownBy('plan');
      const funnel = await api('/funnels/onboarding', { from, to, windowHours: 336, breakdown: 'plan' });
      expect(funnel.breakdowns.length).toBeGreaterThan(1);
      const tables = page.getByTestId('funnel-steps-table');
      await until(
        'a funnel per breakdown value',
        async () => (await tables.count()) === funnel.breakdowns.length,
      );
      await settled();
      for (const [i, breakdown] of funnel.breakdowns.entries()) {
        expect(await tables.nth(i).getByTestId('step-count').allTextContents()).toEqual(
          breakdown.steps.map((step: { count: number }) => formatCount(step.count)),
        );
      }
    });

    it('retention: every cohort and week equals the API', async () => {
      await open(`/retention?${range}`);
      const answer = await api('/retention', { from, to });
      expect(answer.cohorts.length).toBeGreaterThan(0);
      const rows = page.getByTestId('retention-table').locator('tbody tr');
      expect(await rows.count()).toBe(answer.cohorts.length);
      for (const [i, cohort] of answer.cohorts.entries()) {
        const row = rows.nth(i);
        expect(await row.getAttribute('data-cohort')).toBe(cohort.week);
        expect(await row.getByTestId('cohort-size').textContent()).toBe(formatCount(cohort.size));
        for (const cell of cohort.retained) {
          expect(await row.getByTestId(`retained-week-${cell.week}`).textContent()).toBe(
            cell.rate === null ? '' : formatPercent(cell.rate),
          );
        }
      }
      await screenshot('retention');
    });

    it('paths: sessions per step and the top paths equal the API', async () => {
      await open(`/paths?${range}&event=session_start&direction=after&depth=3`);
      const answer = await api('/paths', { event: 'session_start', direction: 'after', depth: 3, from, to });
      expect(answer.sessions).toBeGreaterThan(0);
      expect(await text('paths-sessions')).toBe(formatCount(answer.sessions));
      for (const step of answer.steps.filter((s: { step: number }) => s.step > 0 && s.step <= 3)) {
        expect(await text(`paths-step-${step.step}`)).toBe(formatCount(step.sessions));
      }
      expect(await texts('[data-testid="top-paths"]', 'path-sessions')).toEqual(
        answer.paths.slice(0, 10).map((p: { sessions: number }) => formatCount(p.sessions)),
      );
      await page.getByTestId('paths-sankey').locator('canvas').first().waitFor();
      await screenshot('paths');
    });

    it('revenue: MRR, ARR, churn, NRR, LTV and trial-to-paid equal the API', async () => {
      await open(`/revenue?${range}`);
      const answer = await api('/revenue', { from, to });
      const last = answer.months.at(-1);
      expect(await text('revenue-mrr')).toBe(formatMoney(last.mrr));
      expect(await text('revenue-arr')).toBe(formatMoney(last.arr));
      expect(await text('revenue-churn')).toBe(formatPercent(last.churnRate));
      expect(await text('revenue-nrr')).toBe(formatPercent(last.netRevenueRetention));
      const segments = answer.lifetimeValue as { customers: number; avgLifetimeValue: number }[];
      const customers = segments.reduce((sum, s) => sum + s.customers, 0);
      const ltv = customers
        ? segments.reduce((sum, s) => sum + s.avgLifetimeValue * s.customers, 0) / customers
        : null;
      expect(await text('revenue-ltv')).toBe(formatMoney(ltv));
      expect(await text('revenue-trials')).toBe(formatCount(answer.trialToPaid.trials));
      expect(await text('revenue-converted')).toBe(formatCount(answer.trialToPaid.converted));
      expect(await text('revenue-trial-rate')).toBe(formatPercent(answer.trialToPaid.rate));
      expect(await texts('[data-testid="revenue-months"]', 'month-mrr')).toEqual(
        answer.months.map((m: { mrr: number }) => formatMoney(m.mrr)),
      );
      await screenshot('revenue');
    });

    it('performance: every endpoint row and the web vitals p75 equal the API', async () => {
      await open(`/performance?${range}`);
      const apiAnswer = await api('/performance/api', { from, to });
      expect(apiAnswer.endpoints.length).toBeGreaterThan(0);
      const shown = apiAnswer.endpoints.slice(0, 25);
      expect(await texts('[data-testid="api-table"]', 'endpoint-requests')).toEqual(
        shown.map((e: { requests: number }) => formatCount(e.requests)),
      );
      expect(await texts('[data-testid="api-table"]', 'endpoint-p95')).toEqual(
        shown.map((e: { p95LatencyMs: number }) => formatMs(e.p95LatencyMs)),
      );
      expect(await texts('[data-testid="api-table"]', 'endpoint-error-rate')).toEqual(
        shown.map((e: { errorRate: number }) => formatPercent(e.errorRate, 2)),
      );
      const vitals = await api('/performance/web-vitals', { from, to });
      const lcp = vitals.webVitals.all.metrics.LCP.p75;
      expect(lcp).not.toBeNull();
      expect(await text('vital-LCP', '[data-page="(all)"]')).toBe(formatMs(lcp));
      const cls = vitals.webVitals.all.metrics.CLS.p75;
      expect(await text('vital-CLS', '[data-page="(all)"]')).toBe(cls === null ? '–' : formatDecimal(cls));
      await screenshot('performance');
    });

    it('AI: every model row equals the API', async () => {
      await open(`/ai?${range}`);
      const answer = await api('/ai', { from, to });
      expect(answer.models.length).toBeGreaterThan(0);
      const rows = page.getByTestId('ai-table').locator('tbody tr');
      expect(await rows.count()).toBe(answer.models.length);
      for (const [i, model] of answer.models.entries()) {
        const row = rows.nth(i);
        expect(await row.getAttribute('data-model')).toBe(model.model);
        expect(await row.getByTestId('model-prompts').textContent()).toBe(formatCount(model.prompts));
        expect(await row.getByTestId('model-responses').textContent()).toBe(formatCount(model.responses));
        expect(await row.getByTestId('model-success').textContent()).toBe(formatPercent(model.successRate));
        expect(await row.getByTestId('model-p95').textContent()).toBe(formatMs(model.p95LatencyMs));
      }
      await screenshot('ai');
    });

    it("users: a looked-up person's profile equals the API", async () => {
      const { rows } = await t.platform.warehouse.query(
        `SELECT user_id FROM events WHERE user_id LIKE 'usr_%' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`,
      );
      const userId = String(rows[0]![0]);
      await open(`/users?${range}`);
      await page.getByTestId('user-lookup').fill(userId);
      await page.getByRole('button', { name: 'Look up' }).click();
      await page.waitForURL(new RegExp(`/users/${userId}\\?`));
      await settled();
      const profile = await api(`/users/${encodeURIComponent(userId)}/profile`);
      expect(profile.totalSessions).toBeGreaterThan(0);
      expect(await page.getByTestId('profile').getAttribute('data-person')).toBe(userId);
      expect(await text('profile-sessions')).toBe(formatCount(profile.totalSessions));
      expect(await text('profile-churn-risk')).toBe(formatPercent(profile.churnRisk.score, 0));
      expect(await text('profile-adoption')).toBe(formatPercent(profile.featureAdoptionRate));
      expect(await text('profile-account-type')).toBe(profile.accountType ?? '–');
      await screenshot('users');
    });

    it('experiments: variants, lift, significance and the sample-ratio check equal the API', async () => {
      await open(`/experiments/pricing-page?${range}`);
      const list = await api('/experiments', { from, to });
      expect(list.experiments.map((e: { name: string }) => e.name)).toEqual(['pricing-page']);
      const answer = await api('/experiments/pricing-page', { from, to });
      const rows = page.getByTestId('variant-table').locator('tbody tr');
      expect(await rows.count()).toBe(answer.variants.length);
      for (const [i, variant] of answer.variants.entries()) {
        const row = rows.nth(i);
        expect(await row.getAttribute('data-variant')).toBe(variant.name);
        expect(await row.getByTestId('variant-users').textContent()).toBe(formatCount(variant.users));
        expect(await row.getByTestId('variant-conversions').textContent()).toBe(
          formatCount(variant.conversions),
        );
        expect(await row.getByTestId('variant-rate').textContent()).toBe(formatPercent(variant.rate, 2));
        expect(await row.getByTestId('variant-significant').textContent()).toBe(
          variant.vsControl ? (variant.vsControl.significant ? 'significant' : 'not significant') : '',
        );
      }
      expect(
        answer.variants.map((v: { users: number; conversions: number }) => [v.users, v.conversions]),
      ).toEqual([
        [40, 2],
        [10, 5],
      ]);
      expect(answer.sampleRatio).toMatchObject({ chiSquare: 18, mismatch: true });
      expect(await text('srm-chi-square')).toBe('18');
      expect(await page.getByTestId('srm-warning').count()).toBe(1);
      await screenshot('experiments');
    });

    it('every page opens from the navigation without errors', async () => {
      await open(`/?${range}`);
      const titles = [
        'Trends',
        'Funnels',
        'Retention',
        'Paths',
        'Revenue',
        'Performance',
        'AI',
        'Experiments',
        'Users',
      ];
      for (const title of titles) {
        const name = title.toLowerCase();
        await page.getByTestId(`nav-${name}`).click();
        await page.waitForURL(new RegExp(`/${name}\\?`));
        // The shell shows the new page's title in the same render as its loading state.
        await page.locator('main.content h1', { hasText: new RegExp(`^${title}$`) }).waitFor();
        await settled();
        // The range travels with the navigation.
        expect(await page.getByTestId('range').getAttribute('data-from')).toBe(from);
      }
      expect(pageErrors).toEqual([]);
    });
  });
});

/**
 * An experiment the demo does not make: 40 people see `control` and 10 see `new-layout` (planned half and half, so
 * the sample-ratio check must flag it: χ² = 2 · 15² / 25 = 18), and 2 of control and 5 of the new layout subscribe
 * after it.
 */
async function sendExperiment(now: number): Promise<void> {
  const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
  const events = [];
  for (let n = 0; n < 50; n++) {
    const userId = `experiment-user-${n}`;
    const variant = n < 40 ? 'control' : 'new-layout';
    events.push({
      eventId: crypto.randomUUID(),
      eventName: 'experiment_exposure',
      timestamp: at(120),
      userId,
      properties: { experiment: 'pricing-page', variant },
    });
    if (n < 2 || n >= 45) {
      events.push({
        eventId: crypto.randomUUID(),
        eventName: 'subscription_complete',
        timestamp: at(60),
        userId,
        properties: {
          plan: 'pro',
          interval: 'monthly',
          amount: 29,
          currency: 'USD',
          subscription_id: `sub-${n}`,
          from_trial: false,
        },
      });
    }
  }
  const response = await t.post('/api/telemetry/events', events);
  expect(response.status).toBe(200);
  expect(response.body.results.filter((r: { status: string }) => r.status !== 'accepted')).toEqual([]);
}
