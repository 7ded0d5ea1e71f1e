/**
 * `/example` and `/example/events` through the real HTTP server: the example source's key and origins, its
 * replacement at every start, and a read-back that shows one visitor's latest example events and nothing else.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../testing/test-platform.ts';
import { exampleSourceName, ownOrigins } from './example-routes.ts';

const platforms: TestPlatform[] = [];
afterEach(async () => {
  for (const platform of platforms.splice(0)) await platform.close();
});

async function start(options: Parameters<typeof startTestPlatform>[0] = {}) {
  const platform = await startTestPlatform(options);
  platforms.push(platform);
  return platform;
}

async function openExample(t: TestPlatform): Promise<{ html: string; writeKey: string }> {
  const response = await fetch(`${t.url}/example`);
  expect(response.status).toBe(200);
  const html = await response.text();
  const config = JSON.parse(
    /<script type="application\/json" id="example-config">(.*?)<\/script>/.exec(html)![1]!,
  );
  return { html, writeKey: config.writeKey };
}

const activeExampleSources = async (t: TestPlatform) =>
  (await t.platform.sources.list()).filter((s) => s.name === exampleSourceName && !s.revokedAt);

function documentCreate(anonymousId: string, n: number) {
  return {
    eventId: randomUUID(),
    eventName: 'document_create',
    timestamp: new Date(Date.UTC(2026, 2, 1, 12, 0, n)).toISOString(),
    anonymousId,
    properties: { document_id: `doc-${n}` },
  };
}

const readBack = async (t: TestPlatform, anonymousId: string) => {
  const response = await fetch(`${t.url}/example/events?anonymousId=${encodeURIComponent(anonymousId)}`);
  expect(response.status).toBe(200);
  expect(response.headers.get('cache-control')).toBe('no-store');
  return (await response.json()) as { events: { eventId: string; properties: Record<string, unknown> }[] };
};

describe('the example page', () => {
  it('is served with a key of the example source, which browsers may use only from the platform itself', async () => {
    const t = await start();
    const { html, writeKey } = await openExample(t);
    expect(writeKey).toMatch(/^drk_/);
    expect(html).toContain('<script src="/sdk/deepref.iife.js"></script>');

    const [source] = await activeExampleSources(t);
    const port = new URL(t.url).port;
    expect(source?.allowedOrigins).toEqual([
      `http://localhost:${port}`,
      `http://127.0.0.1:${port}`,
      `http://[::1]:${port}`,
    ]);

    const event = documentCreate(randomUUID(), 1);
    const fromElsewhere = await t.post('/api/telemetry/events', [event], {
      writeKey,
      headers: { origin: 'https://elsewhere.example' },
    });
    expect(fromElsewhere.status).toBe(403);
    expect(fromElsewhere.body.error.code).toBe('DEEPREF_ORIGIN_NOT_ALLOWED');
    const fromItself = await t.post('/api/telemetry/events', [event], {
      writeKey,
      headers: { origin: `http://localhost:${port}` },
    });
    expect(fromItself.status).toBe(200);
    expect(fromItself.body.results).toEqual([{ eventId: event.eventId, status: 'accepted' }]);
  });

  it('makes one example source per process, and the next start revokes it', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-example-'));
    const first = await startTestPlatform({ dataDir });
    const [a, b] = await Promise.all([openExample(first), openExample(first)]);
    expect(b.writeKey).toBe(a.writeKey);
    expect(await activeExampleSources(first)).toHaveLength(1);
    await first.close();

    // Same data directory: the second start finds the first one's example source.
    const second = await startTestPlatform({ dataDir });
    try {
      // Revoked at start, before anyone opens the page again.
      expect(await activeExampleSources(second)).toEqual([]);
      const old = await second.post('/api/telemetry/events', [documentCreate('visitor', 1)], {
        writeKey: a.writeKey,
      });
      expect(old.status).toBe(401);
      const { writeKey } = await openExample(second);
      expect(writeKey).not.toBe(a.writeKey);
      expect(await activeExampleSources(second)).toHaveLength(1);
      const examples = (await second.platform.sources.list()).filter((s) => s.name === exampleSourceName);
      expect(examples).toHaveLength(2);
    } finally {
      await second.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('GET /example/events', () => {
  it("returns the visitor's last 20 example events, newest first, with their properties", async () => {
    const t = await start();
    const { writeKey } = await openExample(t);
    const visitor = randomUUID();
    const other = randomUUID();
    const sent = Array.from({ length: 25 }, (_, n) => documentCreate(visitor, n + 1));
    // One request per event, interleaved with another visitor's and another source's, so that the log mixes them.
    for (const [n, event] of sent.entries()) {
      expect((await t.post('/api/telemetry/events', [event], { writeKey })).status).toBe(200);
      if (n % 5 === 0) {
        await t.post('/api/telemetry/events', [documentCreate(other, n)], { writeKey });
        await t.post('/api/telemetry/events', [documentCreate(visitor, 100 + n)]); // the test source's key
      }
    }

    const { events } = await readBack(t, visitor);
    expect(events.map((e) => e.eventId)).toEqual(
      sent
        .slice(-20)
        .reverse()
        .map((e) => e.eventId),
    );
    expect(events[0]).toEqual({
      offset: expect.any(Number),
      eventId: sent[24]!.eventId,
      eventName: 'document_create',
      timestamp: '2026-03-01T12:00:25.000Z',
      receivedAt: expect.any(String),
      properties: { document_id: 'doc-25' },
    });
    expect((await readBack(t, other)).events).toHaveLength(5);
    expect((await readBack(t, randomUUID())).events).toEqual([]);
  });

  it('shows nothing before the example page was opened, not even the visitor’s events of other sources', async () => {
    const t = await start();
    const visitor = randomUUID();
    expect((await t.post('/api/telemetry/events', [documentCreate(visitor, 1)])).status).toBe(200);
    expect((await readBack(t, visitor)).events).toEqual([]);
    await openExample(t);
    expect((await readBack(t, visitor)).events).toEqual([]);
  });

  it('needs an anonymous id', async () => {
    const t = await start();
    const missing = await fetch(`${t.url}/example/events`);
    expect(missing.status).toBe(400);
    expect((await missing.json()).error.message).toBe(
      "querystring must have required property 'anonymousId'",
    );
    const tooLong = await fetch(`${t.url}/example/events?anonymousId=${'x'.repeat(257)}`);
    expect(tooLong.status).toBe(400);
  });
});

describe('ownOrigins', () => {
  it('names the loopback aliases for a loopback address, and the address itself otherwise', () => {
    const loopback = ['http://localhost:8080', 'http://127.0.0.1:8080', 'http://[::1]:8080'];
    expect(ownOrigins('127.0.0.1', 8080)).toEqual(loopback);
    expect(ownOrigins('localhost', 8080)).toEqual(loopback);
    expect(ownOrigins('10.1.2.3', 80)).toEqual(['http://10.1.2.3']);
    expect(ownOrigins('fd00::7', 8080)).toEqual(['http://[fd00::7]:8080']);
  });

  it("adds the machine's addresses when listening on all of them", () => {
    const ipv4 = Object.values(os.networkInterfaces())
      .flat()
      .filter((address) => address?.family === 'IPv4')
      .map((address) => `http://${address!.address}:9000`);
    expect(ownOrigins('0.0.0.0', 9000).sort()).toEqual(
      [...new Set(['http://localhost:9000', 'http://[::1]:9000', ...ipv4, 'http://127.0.0.1:9000'])].sort(),
    );
  });
});
