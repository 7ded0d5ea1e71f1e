/**
 * What the Chromium tests run on: Debian's Chromium driven by playwright-core (never a downloaded browser), a
 * page server for the test pages and the freshly built bundles, and a collector: the platform's own when
 * packages/platform has one (started in-process with a temporary data directory), else the test collector.
 * `DEEPREF_TEST_COLLECTOR=1` picks the test collector anyway.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, BrowserContextOptions } from 'playwright-core';
import { bundle, packageDir } from '../build/bundle.ts';
import type { InitOptions } from '../client.ts';
import { launchChromium, requireChromium, warnIfChromiumMissing } from './chromium.ts';
import { pages } from './pages.ts';
import { type ReceivedEvent, startTestCollector } from './test-collector.ts';

export { runChromiumTests, until } from './chromium.ts';

warnIfChromiumMissing("the browser SDK's Chromium tests");

export type StoredEvent = ReceivedEvent;

export interface Collector {
  kind: 'platform' | 'test collector';
  url: string;
  /** A new source allowing every origin; its events are kept apart from other tests'. */
  createSource(): Promise<string>;
  /** What the collector stored for the key, in the order it stored it. */
  events(writeKey: string): Promise<StoredEvent[]>;
  close(): Promise<void>;
}

const platformSrc = path.resolve(packageDir, '../platform/src');
export const platformCollectorExists =
  fs.existsSync(path.join(platformSrc, 'collector/routes.ts')) &&
  fs.existsSync(path.join(platformSrc, 'platform.ts'));

async function startPlatformCollector(): Promise<Collector> {
  const { startPlatform } = (await import(
    path.join(platformSrc, 'platform.ts')
  )) as typeof import('../../../platform/src/platform.ts');
  const { defaultConfig } = (await import(
    path.join(platformSrc, 'config.ts')
  )) as typeof import('../../../platform/src/config.ts');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-browser-'));
  const platform = await startPlatform(defaultConfig({ port: 0, dataDir }), { logger: false });
  const sourceIds = new Map<string, string>();
  return {
    kind: 'platform',
    url: platform.url,
    async createSource() {
      const { source, writeKey } = await platform.sources.create({
        name: 'browser-test',
        allowedOrigins: ['*'],
      });
      sourceIds.set(writeKey, source.id);
      return writeKey;
    },
    async events(writeKey) {
      const records = await platform.log.read(0, 1_000_000);
      return records
        .filter((record) => record.event.sourceId === sourceIds.get(writeKey))
        .map((record) => record.event as unknown as StoredEvent);
    },
    async close() {
      await platform.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function startStandInCollector(): Promise<Collector> {
  const collector = await startTestCollector();
  return {
    kind: 'test collector',
    url: collector.url,
    createSource: async () => collector.createSource(),
    events: async (writeKey) => collector.events(writeKey),
    close: () => collector.close(),
  };
}

/** Serves the test pages, the bundles under /sdk/, and /api/ping for the network capture test. */
function pageServer(files: Map<string, Uint8Array>) {
  return (pathname: string): { status: number; contentType: string; body: string | Uint8Array } => {
    const page = pages[pathname];
    if (page) return { status: 200, contentType: 'text/html; charset=utf-8', body: page };
    const file = pathname.startsWith('/sdk/') ? files.get(pathname.slice(5)) : undefined;
    if (file) return { status: 200, contentType: 'text/javascript; charset=utf-8', body: file };
    if (pathname === '/api/ping')
      return { status: 200, contentType: 'application/json', body: '{"ok":true}' };
    // Client-side routes of the test app land on the app itself, as an SPA's server would do.
    return { status: 200, contentType: 'text/html; charset=utf-8', body: pages['/app.html']! };
  };
}

/**
 * A door in front of the collector: a proxy that forwards every request, or, while closed, drops the
 * connection. Unlike routes in the browser, it stops beacons too.
 */
export interface CollectorGate {
  url: string;
  open: boolean;
  close(): Promise<void>;
}

async function startGate(target: string): Promise<CollectorGate> {
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    if (!gate.open) {
      req.socket.destroy();
      return;
    }
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => req.socket.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const gate: CollectorGate = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    open: true,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return gate;
}

export interface ContextSetup {
  /** Options of Playwright's `browser.newContext`. */
  browser?: BrowserContextOptions;
  /** Remove `navigator.locks` (the localStorage lease takes over). */
  withoutWebLocks?: boolean;
  /** Remove `indexedDB` (the localStorage queue takes over). */
  withoutIndexedDb?: boolean;
  /** Send Global Privacy Control. */
  globalPrivacyControl?: boolean;
}

export interface Harness {
  browser: Browser;
  collector: Collector;
  /** The collector behind a gate that a test can close (use `endpoint: h.gate.url`). */
  gate: CollectorGate;
  /** The URL of a test page. */
  url(pathname: string): string;
  /** A fresh context (its own storage) whose pages all `init` with `options`. */
  newContext(
    options: Partial<InitOptions> & { writeKey: string },
    setup?: ContextSetup,
  ): Promise<BrowserContext>;
  /** Serves the test pages from Node inside the browser, so that they load while the browser is offline. */
  serveOffline(context: BrowserContext): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  requireChromium();
  const built = await bundle();
  const files = new Map(built.map((file) => [file.name, file.contents]));
  const serve = pageServer(files);
  const server = http.createServer((req, res) => {
    const { status, contentType, body } = serve(new URL(req.url ?? '/', 'http://pages').pathname);
    res
      .writeHead(status, {
        'Content-Type': contentType,
        'Content-Length': Buffer.byteLength(body),
        'Cache-Control': 'no-store',
      })
      .end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const usePlatform = platformCollectorExists && process.env.DEEPREF_TEST_COLLECTOR !== '1';
  const [collector, browser] = await Promise.all([
    usePlatform ? startPlatformCollector() : startStandInCollector(),
    launchChromium(),
  ]);

  const gate = await startGate(collector.url);

  return {
    browser,
    collector,
    gate,
    url: (pathname) => origin + pathname,
    async newContext(options, setup = {}) {
      const context = await browser.newContext(setup.browser);
      await context.addInitScript(
        ({ options, setup }) => {
          const remove = (target: object, name: string) =>
            Object.defineProperty(target, name, { get: () => undefined, configurable: true });
          if (setup.withoutWebLocks) remove(Navigator.prototype, 'locks');
          if (setup.withoutIndexedDb) remove(window, 'indexedDB');
          if (setup.globalPrivacyControl) {
            Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true });
          }
          (window as { __deepref?: unknown }).__deepref = options;
        },
        { options: { endpoint: collector.url, ...options }, setup },
      );
      return context;
    },
    async serveOffline(context) {
      // A page answered by a route counts as a public page to Chromium, which then asks before it may reach a
      // loopback address (Local Network Access): the collector is one here.
      await context.grantPermissions(['local-network-access'], { origin });
      await context.route(`${origin}/**`, async (route) => {
        const { status, contentType, body } = serve(new URL(route.request().url()).pathname);
        await route.fulfill({
          status,
          contentType,
          body: typeof body === 'string' ? body : Buffer.from(body),
        });
      });
    },
    async close() {
      await browser.close();
      await gate.close();
      await collector.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
