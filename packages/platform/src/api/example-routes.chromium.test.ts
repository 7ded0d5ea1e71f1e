/**
 * The example page in headless Chromium against a real platform: a click becomes an event that the page's panel
 * shows and the event log holds, with the same name and properties; the form is captured without its values; and
 * withdrawing consent keeps the next click in the browser. `DEEPREF_SCREENSHOT=1` also saves the page as
 * docs/images/example-page.png.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  launchChromium,
  requireChromium,
  runChromiumTests,
  until,
  warnIfChromiumMissing,
} from '@deepref/browser/testing/chromium';
import type { StoredEvent } from '@deepref/schema';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../testing/test-platform.ts';
import { exampleSourceName } from './example-routes.ts';

warnIfChromiumMissing("the example page's Chromium test");

const screenshotFile = fileURLToPath(new URL('../../../../docs/images/example-page.png', import.meta.url));

let t: TestPlatform;
let browser: Browser;
let sdkDir: string;

beforeAll(async () => {
  if (!runChromiumTests) return;
  requireChromium();
  // An empty folder: the platform builds the SDK from source on the page's first request for it.
  sdkDir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-example-sdk-'));
  [t, browser] = await Promise.all([startTestPlatform({ browserSdkDir: sdkDir }), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
  if (sdkDir) fs.rmSync(sdkDir, { recursive: true, force: true });
});

/** The example source's events in the log, in log order. */
async function loggedExampleEvents(): Promise<StoredEvent[]> {
  const [source] = (await t.platform.sources.list()).filter(
    (s) => s.name === exampleSourceName && !s.revokedAt,
  );
  const records = await t.platform.log.read(0, 100_000);
  return records.map((record) => record.event).filter((event) => event.sourceId === source?.id);
}

/** What the panel shows of the newest event with this name: its id and its properties as displayed. */
async function panelEvent(page: Page, eventName: string) {
  const item = page.locator(`#events li[data-event-name="${eventName}"]`).first();
  await item.waitFor({ timeout: 20_000 });
  return item.evaluate((node: HTMLElement) => ({
    eventId: node.dataset.eventId,
    properties: Object.fromEntries(
      [...node.querySelectorAll<HTMLElement>('.prop')].map((prop) => [
        prop.dataset.prop,
        prop.querySelector('dd')?.textContent,
      ]),
    ),
  }));
}

describe.skipIf(!runChromiumTests)('the example page in Chromium', () => {
  it('shows a clicked event in its panel as the log stored it, captures the form without values, and honours consent', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${t.url}/example`);
    await until('the panel to be live', () =>
      page
        .locator('#live-text')
        .textContent()
        .then((s) => s === 'live'),
    );
    const anonymousId = await page.evaluate(() =>
      (window as { deepref?: { anonymousId(): string } }).deepref!.anonymousId(),
    );

    await page.getByRole('button', { name: 'Create a document' }).click();
    const shown = await panelEvent(page, 'document_create');
    expect(shown.properties).toEqual({
      document_id: 'doc-1',
      document_type: 'note',
      source: 'template',
      template_id: 'meeting-notes',
    });
    const logged = (await loggedExampleEvents()).filter((event) => event.eventName === 'document_create');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ eventId: shown.eventId, type: 'track', anonymousId });
    expect(logged[0]!.properties).toEqual({
      document_id: 'doc-1',
      document_type: 'note',
      source: 'template',
      template_id: 'meeting-notes',
    });

    await page.getByRole('button', { name: 'Run a search' }).click();
    await page.getByRole('button', { name: 'Submit a prompt' }).click();
    const prompt = await panelEvent(page, 'prompt_submission');
    const search = await panelEvent(page, 'search_query');
    expect(search.properties).toEqual({
      search_id: 'search-1',
      query_length: '14',
      result_count: '7',
      search_type: 'documents',
    });
    const byId = new Map((await loggedExampleEvents()).map((event) => [event.eventId, event]));
    expect(byId.get(search.eventId!)?.properties).toEqual({
      search_id: 'search-1',
      query_length: 14,
      result_count: 7,
      search_type: 'documents',
    });
    expect(byId.get(prompt.eventId!)?.properties).toEqual({
      prompt_id: prompt.properties.prompt_id,
      model_used: 'claude-sonnet-4',
      prompt_length: 38,
      context: 'chat',
    });
    expect(prompt.properties.prompt_id).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );

    // Field autocapture: names and types of the fields, never what was typed.
    await page.getByLabel('Name').fill('Ada Lovelace');
    await page.getByLabel('Work email').fill('ada@analytical.example');
    await page.getByLabel('Plan').selectOption('enterprise');
    await page.getByRole('button', { name: 'Start a trial' }).click();
    const submitted = await panelEvent(page, 'form_submit');
    expect(submitted.properties).toMatchObject({ form_id: 'trial-form', field_count: '3', error_count: '0' });
    await panelEvent(page, 'field_change');
    const stored = JSON.stringify(await loggedExampleEvents());
    expect(stored).not.toContain('Ada Lovelace');
    expect(stored).not.toContain('ada@analytical.example');

    // Withdrawn consent: the click is dropped in the browser and counted. Granted again, the next click arrives;
    // the queue sends in order, so once that one is stored, the one before it would have been too.
    // time_to_interactive is the last event the page records by itself; after it, only clicks make events.
    await panelEvent(page, 'time_to_interactive');
    const consentDrops = () =>
      page.evaluate(
        () =>
          (window as { deepref?: { stats(): { dropped: { consent: number } } } }).deepref!.stats().dropped
            .consent,
      );
    await page.getByRole('switch', { name: 'Analytics' }).uncheck();
    const dropsBefore = await consentDrops();
    await page.getByRole('button', { name: 'Create a document' }).click();
    expect(await consentDrops()).toBe(dropsBefore + 1);
    await page.getByRole('switch', { name: 'Analytics' }).check();
    await page.getByRole('button', { name: 'Create a document' }).click();
    await until(
      'doc-3 in the panel',
      async () => (await panelEvent(page, 'document_create')).properties.document_id === 'doc-3',
    );
    const documentIds = (await loggedExampleEvents())
      .filter((event) => event.eventName === 'document_create')
      .map((event) => (event.properties as Record<string, unknown>).document_id);
    expect(documentIds).toEqual(['doc-1', 'doc-3']);

    if (process.env.DEEPREF_SCREENSHOT === '1') {
      fs.mkdirSync(path.dirname(screenshotFile), { recursive: true });
      await page.screenshot({ path: screenshotFile, fullPage: true, animations: 'disabled' });
    }
    expect(pageErrors).toEqual([]);
    await context.close();
  });
});
