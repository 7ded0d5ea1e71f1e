/**
 * Autocapture and web vitals in real headless Chromium: each kind produces its registered event with the
 * properties @deepref/schema declares (the collector refuses anything else), and form events never carry what
 * was typed.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stats } from '../delivery/sender.ts';
import type * as Sdk from '../index.ts';
import { type Harness, runChromiumTests, type StoredEvent, startHarness, until } from './harness.ts';

declare global {
  interface Window {
    deepref: typeof Sdk;
  }
}

let h: Harness;

beforeAll(async () => {
  if (runChromiumTests) h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const stats = (page: Page) => page.evaluate(() => window.deepref.stats() as Stats);

/** Waits until the stored events include every name in `names` (as often as listed). */
const eventsWith = (writeKey: string, names: string[]) =>
  until(`events ${names.join(', ')}`, async () => {
    const events = await h.collector.events(writeKey);
    const counts = new Map<string, number>();
    for (const event of events) counts.set(event.eventName, (counts.get(event.eventName) ?? 0) + 1);
    const wanted = new Map<string, number>();
    for (const name of names) wanted.set(name, (wanted.get(name) ?? 0) + 1);
    return [...wanted].every(([name, count]) => (counts.get(name) ?? 0) >= count) && events;
  });

const named = (events: StoredEvent[], name: string) => events.filter((event) => event.eventName === name);

/** Pretends the tab went to the background and came back (headless Chromium never hides a page by itself). */
const switchAway = (page: Page) =>
  page.evaluate(() => {
    for (const state of ['hidden', 'visible']) {
      Object.defineProperty(document, 'visibilityState', { value: state, configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
    }
  });

describe.skipIf(!runChromiumTests)('browser SDK autocapture in Chromium', () => {
  it('records navigation, forms, errors, performance and network requests with their schema properties', async () => {
    const writeKey = await h.collector.createSource();
    const context = await h.newContext({
      writeKey,
      autocapture: { networkRequests: true, webVitals: false },
    });
    const page = await context.newPage();
    // The ESM build, whose autocapture chunk loads with a relative import().
    await page.goto(h.url('/app-esm.html?utm_source=newsletter&utm_campaign=spring'));
    await until('autocapture to load', () =>
      page.evaluate(() => history.pushState.toString().includes('native') === false),
    );

    await page.click('#details-link');
    await page.click('#mail-link');
    await page.click('#out-link');

    await page.click('input[name=email]');
    await page.keyboard.type('secret.person@example.org');
    await page.keyboard.press('Tab');
    await page.keyboard.type('hunter2-password');
    await page.selectOption('select[name=plan]', 'pro');
    await page.click('#submit');

    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    await page.evaluate(() => history.pushState({}, '', '/app/settings?tab=profile'));
    await page.evaluate(() => history.back());
    await until('the back navigation', () => page.evaluate(() => location.pathname === '/app-esm.html'));
    await page.click('#throw');
    await page.click('#reject');
    await page.click('#fetch');
    await switchAway(page);

    const expected = [
      'session_start',
      'page_view',
      'page_view',
      'page_view',
      'page_load_time',
      'link_click',
      'link_click',
      'link_click',
      'field_focus',
      'field_blur',
      'field_change',
      'form_submit',
      'scroll_depth',
      'scroll_depth',
      'scroll_depth',
      'scroll_depth',
      'back_button',
      'javascript_error',
      'javascript_error',
      'network_request',
      'tab_switch',
      'tab_switch',
    ];
    await page.evaluate(() => window.deepref.flush());
    let events = await eventsWith(writeKey, expected);
    expect((await stats(page)).rejected).toBe(0);

    // Nothing typed into the form left the page, under any key.
    const everything = JSON.stringify(events);
    expect(everything).not.toContain('secret.person');
    expect(everything).not.toContain('hunter2');
    expect(everything).not.toContain('s3cr3t');

    expect(named(events, 'session_start')[0]!.properties).toEqual({
      landing_path: '/app-esm.html',
      utm_source: 'newsletter',
      utm_campaign: 'spring',
    });
    expect(named(events, 'page_view').map((e) => e.properties.path)).toEqual([
      '/app-esm.html',
      '/app/settings',
      '/app-esm.html',
    ]);
    expect(named(events, 'page_view')[1]!.properties).toMatchObject({
      search: '?tab=profile',
      referrer: h.url('/app-esm.html?utm_source=newsletter&utm_campaign=spring'),
    });
    expect(named(events, 'back_button')[0]!.properties).toEqual({
      from_path: '/app/settings',
      to_path: '/app-esm.html',
    });
    expect(named(events, 'link_click').map((e) => e.properties)).toEqual([
      {
        href: h.url('/app-esm.html?utm_source=newsletter&utm_campaign=spring#details'),
        link_id: 'details-link',
        text: 'Details',
        outbound: false,
      },
      { href: 'mailto:', link_id: 'mail-link', text: 'Write to us', outbound: false },
      { href: 'https://example.org/pricing?ref=app', link_id: 'out-link', text: 'Pricing', outbound: true },
    ]);
    const focused = named(events, 'field_focus').map((e) => e.properties);
    expect(focused).toContainEqual({ form_id: 'signup', field_name: 'email', field_type: 'email' });
    expect(focused).toContainEqual({ form_id: 'signup', field_name: 'password', field_type: 'password' });
    expect(named(events, 'field_change').map((e) => e.properties)).toContainEqual({
      form_id: 'signup',
      field_name: 'plan',
      field_type: 'select-one',
      is_empty: false,
    });
    expect(named(events, 'field_blur')[0]!.properties).toMatchObject({
      form_id: 'signup',
      field_name: 'email',
      changed: true,
      focus_duration_ms: expect.any(Number),
    });
    expect(named(events, 'form_submit')[0]!.properties).toMatchObject({
      form_id: 'signup',
      field_count: 3,
      error_count: 0,
      duration_ms: expect.any(Number),
    });
    expect(named(events, 'scroll_depth').map((e) => e.properties.depth_percent)).toEqual([25, 50, 75, 100]);
    const [thrown, rejected] = named(events, 'javascript_error').map((e) => e.properties);
    expect(thrown).toMatchObject({
      message: expect.stringContaining('boom from the test page'),
      error_type: 'TypeError',
      stack: expect.stringContaining('TypeError'),
      source: h.url('/app-esm.html?utm_source=newsletter&utm_campaign=spring'),
      line: expect.any(Number),
      user_agent: await page.evaluate(() => navigator.userAgent),
      handled: false,
    });
    expect(rejected).toMatchObject({
      message: 'Unhandled rejection: rejected on purpose',
      error_type: 'RangeError',
    });
    expect(named(events, 'network_request')[0]!.properties).toMatchObject({
      endpoint: h.url('/api/ping'),
      method: 'GET',
      status_code: 200,
      response_bytes: 11,
      duration_ms: expect.any(Number),
    });
    expect(named(events, 'tab_switch').map((e) => e.properties.visibility)).toEqual(['hidden', 'visible']);
    expect(named(events, 'tab_switch')[1]!.properties.hidden_duration_ms).toEqual(expect.any(Number));
    expect(named(events, 'page_load_time')[0]!.properties).toMatchObject({
      duration_ms: expect.any(Number),
      navigation_type: 'navigate',
      path: '/app-esm.html',
    });

    // time_to_interactive is reported when the main thread has been quiet for 5 s, or when the page is hidden.
    await page.close();
    events = await eventsWith(writeKey, [...expected, 'time_to_interactive']);
    expect(named(events, 'time_to_interactive')[0]!.properties).toEqual({
      duration_ms: expect.any(Number),
      path: '/app-esm.html',
    });
    await context.close();
  });

  it('reports the web vitals FCP, LCP, INP, CLS and TTFB with the web-vitals package', async () => {
    const writeKey = await h.collector.createSource();
    const context = await h.newContext({ writeKey, autocapture: { pageViews: false, performance: false } });
    const page = await context.newPage();
    // The script-tag build, whose vitals chunk loads by URL from beside the script.
    await page.goto(h.url('/vitals.html'));
    await page.evaluate(() => window.deepref.flush());
    await eventsWith(writeKey, ['web_vital', 'web_vital']);
    await page.click('#slow');
    await until('the click to be timed', () =>
      page.evaluate(() => (window as { interactions?: number }).interactions! > 0),
    );
    // web-vitals takes the interaction in at the next idle time (at most 1 s later), and a page hidden before
    // that loses its INP: wait for an idle callback queued after that one.
    await page.evaluate(() => new Promise((resolve) => requestIdleCallback(resolve, { timeout: 2000 })));
    // LCP, CLS and INP are final when the page is hidden; the page-exit beacon carries them.
    await page.close();
    const events = await until('all five web vitals', async () => {
      const vitals = named(await h.collector.events(writeKey), 'web_vital');
      const names = new Set(vitals.map((e) => e.properties.name));
      return ['FCP', 'LCP', 'INP', 'CLS', 'TTFB'].every((name) => names.has(name)) && vitals;
    });
    for (const event of events) {
      expect(event.properties).toMatchObject({
        value: expect.any(Number),
        rating: expect.stringMatching(/^(good|needs-improvement|poor)$/),
        id: expect.any(String),
        navigation_type: 'navigate',
        path: '/vitals.html',
      });
    }
    const cls = events.find((e) => e.properties.name === 'CLS')!;
    expect(cls.properties.value).toBeGreaterThan(0);
    const inp = events.find((e) => e.properties.name === 'INP')!;
    expect(inp.properties.value).toBeGreaterThanOrEqual(100);
    await context.close();
  });
});
