import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../testing/test-platform.ts';

describe('operations routes', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform();
  });
  afterAll(() => t.close());

  it('answers /health and /ready once the stores are open', async () => {
    expect(await (await fetch(`${t.url}/health`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${t.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('reports the log head and each consumer offset and lag on /metrics', async () => {
    const event = (n: number) => ({
      eventId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      eventName: 'ops_check',
      timestamp: '2026-11-27T00:00:00.000Z',
      userId: 'u',
      properties: {},
    });
    const answer = await t.post('/api/telemetry/events', [event(1), event(2), event(3)]);
    expect(answer.status).toBe(200);
    await t.platform.drain();
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/^deepref_log_head_offset 3$/m);
    expect(metrics).toMatch(/^deepref_events_accepted_total 3$/m);
    expect(metrics).toMatch(/^deepref_consumer_offset\{consumer="warehouse"\} 3$/m);
    expect(metrics).toMatch(/^deepref_consumer_lag_events\{consumer="warehouse"\} 0$/m);
  });
});
