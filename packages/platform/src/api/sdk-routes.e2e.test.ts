/**
 * `/sdk/` through the real HTTP server: the browser SDK built from source on the first request, served with its
 * content type and cache headers; and a clear error naming the build command when it cannot be built.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../testing/test-platform.ts';

describe('GET /sdk/:file', () => {
  let t: TestPlatform;
  let sdkDir: string;

  beforeAll(async () => {
    sdkDir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-sdk-'));
    t = await startTestPlatform({ browserSdkDir: sdkDir });
  });
  afterAll(async () => {
    await t?.close();
    fs.rmSync(sdkDir, { recursive: true, force: true });
  });

  it('builds the SDK on the first request when the folder lacks it, then serves every file with its type', async () => {
    expect(fs.readdirSync(sdkDir)).toEqual([]);
    const script = await fetch(`${t.url}/sdk/deepref.iife.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('cache-control')).toBe('public, max-age=300');
    expect(script.headers.get('access-control-allow-origin')).toBe('*');
    expect(script.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await script.text()).toBe(fs.readFileSync(path.join(sdkDir, 'deepref.iife.js'), 'utf8'));

    for (const file of ['deepref.js', 'autocapture.js', 'vitals.js']) {
      const response = await fetch(`${t.url}/sdk/${file}`);
      expect(response.status, file).toBe(200);
      expect(response.headers.get('content-type'), file).toBe('text/javascript; charset=utf-8');
    }
    const map = await fetch(`${t.url}/sdk/deepref.js.map`);
    expect(map.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect((await map.json()).version).toBe(3);
  });

  it('answers 304 to a browser that has the same file', async () => {
    const first = await fetch(`${t.url}/sdk/deepref.js`);
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^W\/"[0-9a-f]+-[0-9a-f]+"$/);
    const again = await fetch(`${t.url}/sdk/deepref.js`, { headers: { 'if-none-match': etag! } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
  });

  it('serves only the SDK files', async () => {
    for (const file of ['index.ts', 'deepref.css', '..%2Fpackage.json', '%2E%2E%2F%2E%2E%2Fpackage.json']) {
      const response = await fetch(`${t.url}/sdk/${file}`);
      expect(response.status, file).toBe(404);
      expect((await response.json()).error.code, file).toBe('DEEPREF_NOT_FOUND');
    }
  });
});

it('says how to build the SDK when it is missing and cannot be built', async () => {
  // A folder under a file cannot be made, so the build fails whoever runs the test.
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-sdk-')), 'not-a-folder');
  fs.writeFileSync(file, '');
  const t = await startTestPlatform({ browserSdkDir: path.join(file, 'sdk') });
  try {
    const response = await fetch(`${t.url}/sdk/deepref.iife.js`);
    expect(response.status).toBe(503);
    const { error } = await response.json();
    expect(error.code).toBe('DEEPREF_SDK_NOT_BUILT');
    expect(error.message).toMatch(
      /^The browser SDK is not built \(deepref\.js is missing and building it failed: [^\n]*not a directory\)\. Run `npm run build -w @deepref\/browser`, then reload the page\.$/,
    );
  } finally {
    await t.close();
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
});
