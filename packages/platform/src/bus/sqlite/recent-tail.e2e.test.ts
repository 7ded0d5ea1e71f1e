/**
 * The recent tail hands consumers the very objects the collector stored, instead of parsing the stored JSON again.
 * That is only right if those objects equal what their JSON parses back to, for every kind of event the collector
 * takes: demo traffic of the whole taxonomy, Segment calls, and events the PII stage rewrites.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTraffic } from '../../demo/traffic.ts';
import { startTestPlatform, type TestPlatform } from '../../testing/test-platform.ts';
import { readRawRecords } from '../event-log.ts';

let tp: TestPlatform;

beforeAll(async () => {
  tp = await startTestPlatform();
}, 60_000);

afterAll(async () => {
  await tp?.close();
});

describe('records served from the recent tail', () => {
  it('equal their stored JSON parsed back, key for key', async () => {
    for (const batch of generateTraffic({ users: 8, days: 2, seed: 11, now: Date.UTC(2026, 2, 3) })) {
      const response = await tp.post('/api/telemetry/events', batch, {
        headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0' },
      });
      expect(response.status).toBe(200);
    }
    const segment = await tp.post('/v1/batch', {
      sentAt: new Date().toISOString(),
      context: { library: { name: 'analytics-node', version: '6.0.0' } },
      batch: [
        {
          type: 'identify',
          messageId: randomUUID(),
          userId: 'tail-user',
          traits: { email: 'ada@example.com', name: 'Ada Lovelace', phone: '+44 20 7946 0958' },
        },
        {
          type: 'track',
          messageId: randomUUID(),
          anonymousId: 'anon-1',
          event: 'Note Shared',
          properties: { note: 'call me on +44 20 7946 0958', count: 3, nested: { list: [1, 'two', null] } },
          timestamp: '2026-03-01T10:00:00Z',
        },
        { type: 'page', messageId: randomUUID(), userId: 'tail-user', name: 'Pricing' },
      ],
    });
    expect(segment.status).toBe(200);

    const head = await tp.platform.log.head();
    const served = await tp.platform.log.read(0, head);
    const stored = await readRawRecords(tp.platform.log, 0, head);
    expect(served.length).toBeGreaterThan(100);
    expect(served.length).toBe(stored.length);
    for (let i = 0; i < served.length; i++) {
      expect(served[i]!.offset).toBe(stored[i]!.offset);
      expect(served[i]!.event).toStrictEqual(JSON.parse(stored[i]!.body));
    }
  }, 60_000);
});
