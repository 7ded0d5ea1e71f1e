/**
 * `/` and `/assets/` through a real HTTP server: the dashboard built once on the first request when its folder
 * lacks it, `index.html` for every page path (not for unknown paths), hashed files cached for good, nothing outside
 * the folder, and a page naming the build command when the build fails. The build here is a stand-in that
 * writes two files; the Chromium test (dashboard.chromium.test.ts) runs the real Vite build.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { dashboardRoutes } from './dashboard-routes.ts';

const indexHtml = '<!doctype html><script type="module" src="/assets/index-AbC123.js"></script>';
const script = 'console.log("dashboard")';

let app: FastifyInstance | undefined;
let dir: string | undefined;

afterEach(async () => {
  await app?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  app = undefined;
  dir = undefined;
});

async function serve(build: (dir: string) => Promise<void>): Promise<{ url: string; dir: string }> {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-dashboard-'));
  app = Fastify({ logger: false });
  await app.register(dashboardRoutes, { dir: path.join(dir, 'dist'), build });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, dir };
}

async function writeBuild(target: string): Promise<void> {
  fs.mkdirSync(path.join(target, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(target, 'assets', 'index-AbC123.js'), script);
  fs.writeFileSync(path.join(target, 'index.html'), indexHtml);
}

describe('the dashboard routes', () => {
  it('builds once on the first requests, then answers index.html for every page path', async () => {
    let builds = 0;
    const { url } = await serve(async (target) => {
      builds++;
      await writeBuild(target);
    });
    const pages = await Promise.all(
      ['/', '/trends?event=signup', '/experiments/pricing-test', '/sign-in'].map((p) => fetch(`${url}${p}`)),
    );
    expect(builds).toBe(1);
    for (const page of pages) {
      expect(page.status, page.url).toBe(200);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(page.headers.get('cache-control')).toBe('no-cache');
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(await page.text()).toBe(indexHtml);
    }
    const unknown = await fetch(`${url}/no-such-page`);
    expect(unknown.status).toBe(404);
  });

  it('serves hashed assets for a year, and only files of the assets folder', async () => {
    const { url } = await serve(writeBuild);
    const asset = await fetch(`${url}/assets/index-AbC123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await asset.text()).toBe(script);
    for (const file of [
      'index-Zz9.js',
      '..%2Findex.html',
      '%2E%2E%2F%2E%2E%2Fpackage.json',
      'index.html',
      '.env',
    ]) {
      expect((await fetch(`${url}/assets/${file}`)).status, file).toBe(404);
    }
  });

  it('names the build command when the build fails, and tries again on the next request', async () => {
    let attempts = 0;
    const { url } = await serve(async (target) => {
      attempts++;
      if (attempts === 1) throw new Error('vite: cannot find module react\nat somewhere');
      await writeBuild(target);
    });
    const failed = await fetch(`${url}/`);
    expect(failed.status).toBe(503);
    expect(failed.headers.get('cache-control')).toBe('no-store');
    const page = await failed.text();
    expect(page).toContain('Building it failed: vite: cannot find module react</p>');
    expect(page).toContain('<code>npm run build -w @deepref/dashboard</code>');
    const retried = await fetch(`${url}/`);
    expect(retried.status).toBe(200);
    expect(attempts).toBe(2);
  });
});
