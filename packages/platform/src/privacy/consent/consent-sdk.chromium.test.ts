/**
 * The browser SDK's `setConsent` in headless Chromium, from a page on another origin, against a real platform in
 * opt-in mode: the choice becomes the server-side record (method `sdk`, under the page's anonymous id, then its
 * user once identified), and the gate stores the visitor's events only once analytics is granted.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  launchChromium,
  requireChromium,
  runChromiumTests,
  warnIfChromiumMissing,
} from '@deepref/browser/testing/chromium';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlRequest } from '../../cli/control-client.ts';
import { storedEvents } from '../../testing/e2e-checks.ts';
import { startTestPlatform, type TestPlatform } from '../../testing/test-platform.ts';
import type { ConsentView } from './consent-routes.ts';

warnIfChromiumMissing("the consent SDK's Chromium test");

/** Another origin than the platform's (the port differs), answered by a route. */
const pageOrigin = 'http://127.0.0.1:9';

let t: TestPlatform;
let browser: Browser;
let sdkDir: string;

beforeAll(async () => {
  if (!runChromiumTests) return;
  requireChromium();
  // An empty folder: the platform builds the SDK from source on the first request for it.
  sdkDir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-consent-sdk-'));
  [t, browser] = await Promise.all([
    startTestPlatform({
      browserSdkDir: sdkDir,
      allowedOrigins: [pageOrigin],
      consent: { mode: 'opt-in' },
    }),
    launchChromium(),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
  if (sdkDir) fs.rmSync(sdkDir, { recursive: true, force: true });
});

interface PageSdk {
  init(options: Record<string, unknown>): void;
  track(name: string, properties: Record<string, unknown>): void;
  identify(userId: string): void;
  setConsent(consent: Record<string, boolean>): void;
  flush(): Promise<void>;
  anonymousId(): string;
}
declare const deepref: PageSdk;

/** Tracks a `search_query` whose `search_id` is `marker`, and waits until the queue is delivered. */
async function searchAndFlush(page: Page, marker: string): Promise<void> {
  await page.evaluate(async (searchId) => {
    deepref.track('search_query', { search_id: searchId, query_length: 5, result_count: 1 });
    await deepref.flush();
  }, marker);
}

async function loggedSearchIds(): Promise<unknown[]> {
  return [...(await storedEvents(t)).values()]
    .filter((event) => event.eventName === 'search_query')
    .map((event) => (event.properties as { search_id?: unknown }).search_id);
}

async function view(subjectId: string): Promise<ConsentView> {
  const response = await controlRequest<ConsentView>(t.dataDir, 'GET', `/api/v1/consent/${subjectId}`);
  expect(response.status).toBe(200);
  return response.body;
}

describe.skipIf(!runChromiumTests)('setConsent in Chromium', () => {
  it('writes the server-side record, which the collector honours for the events that follow', async () => {
    const context = await browser.newContext();
    // A page answered by a route is a public page to Chromium, which asks before it may reach a loopback address.
    await context.grantPermissions(['local-network-access'], { origin: pageOrigin });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.route(`${pageOrigin}/`, (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<!doctype html><title>shop</title><script src="${t.url}/sdk/deepref.iife.js"></script>`,
      }),
    );
    // Built from source on this first request, before the page asks for it.
    expect((await fetch(`${t.url}/sdk/deepref.iife.js`)).status).toBe(200);
    await page.goto(`${pageOrigin}/`);
    await page.evaluate(
      ({ writeKey, endpoint }) =>
        deepref.init({ writeKey, endpoint, autocapture: false, flushIntervalMs: 60_000 }),
      { writeKey: t.writeKey, endpoint: t.url },
    );
    const anonymousId = await page.evaluate(() => deepref.anonymousId());

    // The browser's own default lets analytics through; the server, in opt-in mode, has no grant yet.
    await searchAndFlush(page, 'before-grant');
    expect(await loggedSearchIds()).toEqual([]);
    expect((await view(anonymousId)).history).toEqual([]);

    await page.evaluate(() => deepref.setConsent({ analytics: true, marketing: false }));
    await searchAndFlush(page, 'after-grant');
    expect(await loggedSearchIds()).toEqual(['after-grant']);
    const granted = await view(anonymousId);
    expect(
      granted.history.map((r) => [r.subjectId, r.purpose, r.granted, r.method, r.policyVersion]),
    ).toEqual([
      [anonymousId, 'analytics', true, 'sdk', '1'],
      [anonymousId, 'marketing', false, 'sdk', '1'],
    ]);

    // Signed in, then withdrawn: recorded under the user, linked to the anonymous id, and the gate drops the
    // next event even if the browser were to send it.
    await page.evaluate(async () => {
      deepref.identify('user-42');
      await deepref.flush();
      deepref.setConsent({ analytics: false });
      await deepref.flush();
    });
    const withdrawn = await view(anonymousId);
    expect(withdrawn.linkedIds).toEqual(['user-42', anonymousId]);
    expect(withdrawn.history.at(-1)).toMatchObject({
      subjectId: 'user-42',
      purpose: 'analytics',
      granted: false,
      method: 'sdk',
    });
    expect(withdrawn.state.analytics.granted).toBe(false);
    const direct = await t.post('/api/telemetry/events', [
      {
        eventId: crypto.randomUUID(),
        eventName: 'search_query',
        timestamp: new Date().toISOString(),
        anonymousId,
        properties: { search_id: 'sent-anyway', query_length: 5, result_count: 1 },
      },
    ]);
    expect(direct.body.results[0].status).toBe('dropped');
    expect(await loggedSearchIds()).toEqual(['after-grant']);
    expect(pageErrors).toEqual([]);
    await context.close();
  });
});
