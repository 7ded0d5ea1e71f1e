/**
 * The browser SDK in real headless Chromium against a real collector (see harness.ts for which): events arrive
 * with their context, survive going offline and reloading, leave with the page by beacon, are sent once by two
 * tabs, and respect consent.
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

const uuidV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let h: Harness;

beforeAll(async () => {
  if (runChromiumTests) h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const stats = (page: Page) => page.evaluate(() => window.deepref.stats() as Stats);
const flush = (page: Page) => page.evaluate(() => window.deepref.flush());
const track = (page: Page, name: string, count: number, properties: Record<string, unknown> = {}) =>
  page.evaluate(
    ({ name, count, properties }) => {
      for (let n = 0; n < count; n++) window.deepref.track(name, { ...properties, n });
    },
    { name, count, properties },
  );

/** How many events the page's IndexedDB queue holds. */
const queuedOnDevice = (page: Page, writeKey: string) =>
  page.evaluate(
    (name) =>
      new Promise<number>((resolve, reject) => {
        const open = indexedDB.open(name);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const count = open.result.transaction('events').objectStore('events').count();
          count.onsuccess = () => resolve(count.result);
        };
      }),
    `deepref:${writeKey}`,
  );

/** Waits until the collector holds `count` events for the key, and returns them. */
const eventsOf = (writeKey: string, count: number) =>
  until(`${count} stored events`, async () => {
    const events = await h.collector.events(writeKey);
    return events.length >= count && events;
  });

describe.skipIf(!runChromiumTests)('browser SDK delivery in Chromium', () => {
  it('delivers every event with its ids, times and the whole context', async () => {
    const writeKey = await h.collector.createSource();
    const context = await h.newContext(
      { writeKey, autocapture: false },
      {
        browser: {
          locale: 'de-DE',
          timezoneId: 'Europe/Berlin',
          viewport: { width: 1111, height: 777 },
          screen: { width: 1920, height: 1080 },
        },
      },
    );
    const page = await context.newPage();
    await page.goto(h.url('/app.html?utm_source=news'), { referer: 'https://search.example/' });
    await page.evaluate(() => {
      window.deepref.track('checkout_step', { step: 2 });
      window.deepref.identify('user-42', { plan: 'pro' });
      window.deepref.track('web_vital', { name: 'LCP', value: 812.5, rating: 'good' });
      return window.deepref.flush();
    });
    const events = await eventsOf(writeKey, 3);
    expect(events.map((e) => e.eventName)).toEqual(['checkout_step', 'identify', 'web_vital']);
    const [step, identify, vital] = events as [StoredEvent, StoredEvent, StoredEvent];

    for (const event of events) {
      expect(event.eventId).toMatch(uuidV7);
      expect(event.sessionId).toMatch(uuid);
      expect(event.anonymousId).toMatch(uuid);
      expect(Date.parse(event.sentAt!)).toBeGreaterThanOrEqual(Date.parse(event.timestamp) - 1000);
      expect(event.context).toEqual({
        page: {
          url: h.url('/app.html?utm_source=news'),
          path: '/app.html',
          search: '?utm_source=news',
          title: 'DeepRef test app',
          referrer: 'https://search.example/',
        },
        userAgent: await page.evaluate(() => navigator.userAgent),
        screen: { width: 1920, height: 1080 },
        viewport: { width: 1111, height: 777 },
        locale: 'de-DE',
        timezone: 'Europe/Berlin',
        library: { name: '@deepref/browser', version: '0.1.0' },
      });
    }
    expect(new Set(events.map((e) => e.sessionId)).size).toBe(1);
    expect(new Set(events.map((e) => e.anonymousId)).size).toBe(1);
    expect(step.userId).toBeUndefined();
    expect(step.properties).toEqual({ step: 2 });
    expect(identify).toMatchObject({ type: 'identify', userId: 'user-42', traits: { plan: 'pro' } });
    expect(vital).toMatchObject({
      userId: 'user-42',
      properties: { name: 'LCP', value: 812.5, rating: 'good' },
    });

    // reset() forgets the user and starts a new anonymous id and session.
    await page.evaluate(() => {
      window.deepref.reset();
      window.deepref.track('after_logout');
      return window.deepref.flush();
    });
    const after = (await eventsOf(writeKey, 4))[3]!;
    expect(after.userId).toBeUndefined();
    expect(after.anonymousId).not.toBe(step.anonymousId);
    expect(after.sessionId).not.toBe(step.sessionId);
    await context.close();
  });

  it('starts a new session, with session_start, after 30 minutes without an event', async () => {
    const writeKey = await h.collector.createSource();
    const context = await h.newContext({
      writeKey,
      autocapture: { pageViews: false, performance: false, webVitals: false },
    });
    const page = await context.newPage();
    await page.goto(h.url('/app.html?utm_medium=email'));
    await track(page, 'before_break', 1);
    // Half an hour and a second pass without an event (the SDK reads the last event's time from storage).
    await page.evaluate(() => {
      const session = JSON.parse(localStorage.getItem('deepref:session')!) as { id: string; last: number };
      localStorage.setItem(
        'deepref:session',
        JSON.stringify({ ...session, last: session.last - 30 * 60_000 - 1000 }),
      );
    });
    await track(page, 'after_break', 1);
    await flush(page);
    const events = await eventsOf(writeKey, 4);
    expect(events.map((e) => e.eventName)).toEqual([
      'session_start',
      'before_break',
      'session_start',
      'after_break',
    ]);
    expect(events[0]!.sessionId).toBe(events[1]!.sessionId);
    expect(events[2]!.sessionId).toBe(events[3]!.sessionId);
    expect(events[2]!.sessionId).not.toBe(events[1]!.sessionId);
    expect(events[2]!.properties).toEqual({ landing_path: '/app.html', utm_medium: 'email' });
    await context.close();
  });

  it('shutdown() sends what is queued and stops the client', async () => {
    const writeKey = await h.collector.createSource();
    const context = await h.newContext({ writeKey, autocapture: false });
    const page = await context.newPage();
    await page.goto(h.url('/app.html'));
    await track(page, 'before_shutdown', 3);
    await page.evaluate(() => window.deepref.shutdown());
    expect((await h.collector.events(writeKey)).map((e) => e.properties.n)).toEqual([0, 1, 2]);
    expect(await page.evaluate(() => window.deepref.stats())).toBeUndefined();
    await context.close();
  });

  const outages = [
    { store: 'IndexedDB', outage: 'the browser offline' },
    { store: 'localStorage', outage: 'the browser offline' },
    { store: 'IndexedDB', outage: 'the collector unreachable' },
  ] as const;
  for (const { store, outage } of outages) {
    it(`with ${outage}, reloading twice and coming back delivers every event exactly once (${store})`, async () => {
      const writeKey = await h.collector.createSource();
      const context = await h.newContext(
        { writeKey, autocapture: false, endpoint: h.gate.url },
        { withoutIndexedDb: store === 'localStorage' },
      );
      if (outage === 'the browser offline') await h.serveOffline(context);
      const page = await context.newPage();
      await page.goto(h.url('/app.html'));
      // Chromium's offline emulation does not stop the beacons sent as a page unloads, which a real outage
      // would; the gate stays shut through the outage in both cases so that none of them leaks through.
      if (outage === 'the browser offline') await context.setOffline(true);
      h.gate.open = false;
      for (const load of [1, 2, 3]) {
        if (load > 1) await page.reload();
        await track(page, 'offline_step', 5, { load });
        // A send attempt during the outage fails and schedules a retry; nothing is lost.
        await flush(page);
      }
      expect(await h.collector.events(writeKey)).toEqual([]);
      expect((await stats(page)).retries).toBeGreaterThan(0);

      if (outage === 'the browser offline') {
        // The `online` event sends at once.
        h.gate.open = true;
        await context.setOffline(false);
      } else {
        h.gate.open = true;
        await flush(page);
      }
      const events = await eventsOf(writeKey, 15);
      const keys = events.map((e) => `${e.properties.load}.${e.properties.n}`);
      expect(keys.sort()).toEqual(
        [1, 2, 3].flatMap((load) => [0, 1, 2, 3, 4].map((n) => `${load}.${n}`)).sort(),
      );
      // The last page sent them all, each once: the collector reported no duplicate.
      await until('the queue to drain', async () => (await stats(page)).delivered === 15);
      expect((await stats(page)).duplicates).toBe(0);
      await context.close();
    });
  }

  it('delivers events tracked right before the page is closed (beacon)', async () => {
    const writeKey = await h.collector.createSource();
    const context = await h.newContext({ writeKey, autocapture: false });
    const page = await context.newPage();
    await page.goto(h.url('/app.html'));
    await track(page, 'last_words', 3);
    await page.close();
    const events = await eventsOf(writeKey, 3);
    expect(events.map((e) => e.properties.n).sort()).toEqual([0, 1, 2]);
    await context.close();
  });

  const locks = [
    { lock: 'Web Locks', setup: {} },
    { lock: 'a lease in IndexedDB', setup: { withoutWebLocks: true } },
    { lock: 'a queue per tab in localStorage', setup: { withoutWebLocks: true, withoutIndexedDb: true } },
  ] as const;
  for (const { lock, setup } of locks) {
    it(`two tabs share one queue and send nothing twice (${lock})`, async () => {
      const writeKey = await h.collector.createSource();
      const context = await h.newContext({ writeKey, autocapture: false }, setup);
      const tabs = [await context.newPage(), await context.newPage()] as const;
      await Promise.all(tabs.map((tab) => tab.goto(h.url('/app.html'))));
      for (const round of [1, 2]) {
        await Promise.all(tabs.map((tab, i) => track(tab, 'tab_event', 40, { tab: i, round })));
        await Promise.all(tabs.map(flush));
      }
      const events = await eventsOf(writeKey, 160);
      expect(events).toHaveLength(160);
      const [first, second] = await Promise.all(tabs.map(stats));
      expect(first!.duplicates + second!.duplicates).toBe(0);
      expect(first!.delivered + second!.delivered).toBe(160);
      await context.close();
    });
  }

  it('retries a network error by itself, then waits as long as a 503 Retry-After asks, losing nothing', async () => {
    const writeKey = await h.collector.createSource();
    // A full batch starts the send, so every attempt below is the SDK's own, none a flush().
    const context = await h.newContext({ writeKey, autocapture: false, batchSize: 7 });
    const failures = ['network', '503'];
    await context.route(`${h.collector.url}/**`, async (route) => {
      const failure = failures.shift();
      if (failure === '503') {
        await route.fulfill({
          status: 503,
          headers: {
            'Retry-After': '30',
            'Access-Control-Allow-Origin': '*',
            'Access-Control-Expose-Headers': 'Retry-After',
          },
          body: '{"error":{"code":"DEEPREF_OVERLOADED","message":"try later"}}',
        });
      } else if (failure === 'network') await route.abort('connectionreset');
      else await route.continue();
    });
    const page = await context.newPage();
    await page.goto(h.url('/app.html'));
    await track(page, 'retried', 7);
    // Every tab of the origin shares the collector's wish: after the 503, the next attempt is due in 30 s.
    const due = () =>
      page.evaluate((key) => {
        const retry = JSON.parse(localStorage.getItem(`deepref:retry:${key}`) ?? '{}') as { at?: number };
        return (retry.at ?? 0) - Date.now();
      }, writeKey);
    await until('the 503 to be answered', async () => failures.length === 0 && (await due()) > 25_000);
    expect(await h.collector.events(writeKey)).toEqual([]);
    expect((await stats(page)).retries).toBe(2);

    // flush() does not wait for it.
    await flush(page);
    const events = await eventsOf(writeKey, 7);
    expect(events.map((e) => e.properties.n)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    await context.close();
  });

  it('drops, and counts, an event the collector rejects as invalid, and delivers the rest', async () => {
    const writeKey = await h.collector.createSource();
    const context = await h.newContext({ writeKey, autocapture: false });
    const page = await context.newPage();
    await page.goto(h.url('/app.html'));
    await page.evaluate(() => {
      window.deepref.track('scroll_depth', { depth_percent: 50 });
      window.deepref.track('scroll_depth', { depth_percent: 'deep' } as never);
      window.deepref.track('scroll_depth', { depth_percent: 75 });
      return window.deepref.flush();
    });
    await until('the batch to be answered', async () => (await stats(page)).delivered === 2);
    expect((await stats(page)).rejected).toBe(1);
    const events = await h.collector.events(writeKey);
    expect(events.map((e) => e.properties.depth_percent)).toEqual([50, 75]);
    // Nothing is left to retry.
    await flush(page);
    expect((await stats(page)).delivered).toBe(2);
    await context.close();
  });

  it('keeps the queue within its byte budget while the collector is unreachable, evicting the oldest', async () => {
    const writeKey = await h.collector.createSource();
    const context = await h.newContext({ writeKey, autocapture: false, maxQueueBytes: 40_000 });
    await context.route(`${h.collector.url}/**`, (route) => route.abort('internetdisconnected'));
    const page = await context.newPage();
    await page.goto(h.url('/app.html'));
    await track(page, 'bulky', 100, { padding: 'x'.repeat(600) });
    await flush(page);
    const evicted = (await stats(page)).dropped.budget;
    expect(evicted).toBeGreaterThan(0);

    await context.unroute(`${h.collector.url}/**`);
    await flush(page);
    const events = await eventsOf(writeKey, 100 - evicted);
    expect(events.map((e) => e.properties.n)).toEqual(
      Array.from({ length: 100 - evicted }, (_, i) => evicted + i),
    );
    await context.close();
  });

  it('stores nothing on the device in cookieless mode', async () => {
    const writeKey = await h.collector.createSource();
    const context = await h.newContext({ writeKey, autocapture: false, cookieless: true });
    const page = await context.newPage();
    await page.goto(h.url('/app.html'));
    await track(page, 'cookieless', 2);
    await flush(page);
    await page.reload();
    await track(page, 'cookieless', 1);
    await flush(page);
    const events = await eventsOf(writeKey, 3);
    expect(new Set(events.map((e) => e.anonymousId)).size).toBe(2);
    expect(
      await page.evaluate(async () => ({
        localStorage: localStorage.length,
        databases: (await indexedDB.databases()).length,
        cookies: document.cookie,
      })),
    ).toEqual({ localStorage: 0, databases: 0, cookies: '' });
    await context.close();
  });
});

describe.skipIf(!runChromiumTests)('browser SDK consent in Chromium', () => {
  it('sends nothing while consent is withheld, then what was granted', async () => {
    const writeKey = await h.collector.createSource();
    const context = await h.newContext({
      writeKey,
      consent: 'pending',
      autocapture: { webVitals: false, performance: false },
    });
    const page = await context.newPage();
    await page.goto(h.url('/app.html'));
    await track(page, 'while_undecided', 3);
    await page.evaluate(() => window.deepref.track('campaign_seen', {}, { purposes: ['marketing'] }));
    await flush(page);
    expect(await h.collector.events(writeKey)).toEqual([]);
    // Nothing was stored on the device either: undecided events wait in memory.
    expect(await queuedOnDevice(page, writeKey)).toBe(0);
    expect(await page.evaluate(() => window.deepref.stats()?.tracked)).toBe(6);

    await page.evaluate(() => {
      window.deepref.setConsent({ analytics: true, marketing: false });
      return window.deepref.flush();
    });
    const events = await eventsOf(writeKey, 5);
    // Autocapture's session_start and page_view waited with the rest; the marketing event never leaves.
    expect(events.map((e) => e.eventName)).toEqual([
      'session_start',
      'page_view',
      'while_undecided',
      'while_undecided',
      'while_undecided',
    ]);
    expect((await stats(page)).dropped.consent).toBe(1);
    await context.close();
  });

  it('sends nothing for a purpose denied, even what was queued before it was withdrawn', async () => {
    const writeKey = await h.collector.createSource();
    const context = await h.newContext({ writeKey, autocapture: false });
    await context.route(`${h.collector.url}/**`, (route) => route.abort('internetdisconnected'));
    const page = await context.newPage();
    await page.goto(h.url('/app.html'));
    await track(page, 'queued_then_withdrawn', 4);
    await flush(page);
    await page.evaluate(() => window.deepref.setConsent({ analytics: false }));
    await track(page, 'after_withdrawal', 2);
    await context.unroute(`${h.collector.url}/**`);
    await page.evaluate(() => {
      window.deepref.track('javascript_error', { message: 'still needed to run the service' });
      return window.deepref.flush();
    });
    const events = await eventsOf(writeKey, 1);
    expect(events.map((e) => e.eventName)).toEqual(['javascript_error']);
    expect((await stats(page)).dropped.consent).toBe(6);
    await context.close();
  });

  it('honours Global Privacy Control by default', async () => {
    const writeKey = await h.collector.createSource();
    const context = await h.newContext({ writeKey, autocapture: false }, { globalPrivacyControl: true });
    const page = await context.newPage();
    await page.goto(h.url('/app.html'));
    await page.evaluate(() => {
      window.deepref.track('feature_used', { feature: 'export' });
      window.deepref.track('javascript_error', { message: 'kept: data_collection' });
      return window.deepref.flush();
    });
    const events = await eventsOf(writeKey, 1);
    expect(events.map((e) => e.eventName)).toEqual(['javascript_error']);
    expect((await stats(page)).dropped.consent).toBe(1);
    await context.close();
  });
});
