/**
 * Erasure and the stream engine's open windows, through the real server: subject X's events sit in windows still
 * open (its sessions' 5 minutes, whose rows would then feed user_engagement's hour), X is erased through the
 * privacy-request API, and then event time moves past every one of those windows. No `stream_results` row, no
 * real-time row and no byte of the checkpoint (or of any other file of the data folder) names X; Y's windows close
 * and write their rows as usual.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlRequest } from '../../cli/control-client.ts';
import { startTestPlatform, type TestPlatform } from '../../testing/test-platform.ts';
import type { ErasureProof } from './dsr-service.ts';
import { fileBytes } from './store-scan.ts';

let tp: TestPlatform;
beforeAll(async () => {
  // Event time is moved on by events stamped hours ahead, which the default early-arrival tolerance (5 minutes)
  // would re-stamp to their arrival + 5 minutes.
  tp = await startTestPlatform({ stream: { earlyArrivalToleranceMs: 24 * 3_600_000 } });
});
afterAll(async () => {
  await tp.close();
});

const tag = randomUUID().slice(0, 8);
const x = { userId: `user-x-${tag}`, anonymousId: `anon-x-${tag}` };
const y = { userId: `user-y-${tag}`, anonymousId: `anon-y-${tag}` };

/**
 * 30 seconds into the next 5-minute window but one: every window holding the events stays open until a later event
 * moves event time on (an event without `sentAt` keeps its time, future or not), wherever the clock stands now.
 */
const FIVE_MINUTES = 300_000;
const start = Math.ceil((Date.now() + FIVE_MINUTES) / FIVE_MINUTES) * FIVE_MINUTES + 30_000;

function eventsOf(p: typeof x) {
  const at = (seconds: number) => new Date(start + seconds * 1000).toISOString();
  return [
    {
      eventId: randomUUID(),
      eventName: 'page_view',
      timestamp: at(0),
      anonymousId: p.anonymousId,
      sessionId: `s-${p.userId}`,
    },
    {
      eventId: randomUUID(),
      eventName: 'page_view',
      timestamp: at(10),
      userId: p.userId,
      anonymousId: p.anonymousId,
      sessionId: `s-${p.userId}`,
    },
    {
      eventId: randomUUID(),
      eventName: 'page_view',
      timestamp: at(20),
      userId: p.userId,
      sessionId: `s-${p.userId}`,
    },
  ];
}

const checkpointFile = () => path.join(tp.dataDir, 'stream', 'checkpoint.json');

function filesNaming(id: string): string[] {
  return fileBytes(tp.dataDir)
    .filter(({ bytes }) => bytes.includes(id))
    .map(({ file }) => path.relative(tp.dataDir, file));
}

async function streamRows(id: string) {
  const result = await tp.platform.warehouse.query(
    'SELECT job, group_key FROM stream_results WHERE strpos(group_values, $1) > 0 ORDER BY job, window_end_ms',
    [JSON.stringify(id)],
  );
  return result.rows.map(([job, key]) => `${job} ${key}`);
}

async function realtimeKeys(job: string): Promise<string[]> {
  const answer = await controlRequest<{ rows: { key: string }[] }>(
    tp.dataDir,
    'GET',
    `/api/realtime/jobs/${job}?limit=1000`,
  );
  expect(answer.status).toBe(200);
  return answer.body.rows.map((row) => row.key);
}

async function control<T>(method: string, route: string, body?: unknown): Promise<T> {
  const answer = await controlRequest<T>(tp.dataDir, method, route, body);
  expect(answer.status, `${method} ${route}`).toBeLessThan(300);
  return answer.body;
}

describe('erasing a subject whose windows are still open', () => {
  it('holds X in the open windows of the checkpoint before the erasure (the scan is not blind)', async () => {
    expect((await tp.post('/api/telemetry/events', [...eventsOf(x), ...eventsOf(y)])).status).toBe(200);
    await tp.platform.drain();
    const bytes = fs.readFileSync(checkpointFile());
    for (const id of [x.userId, x.anonymousId, y.userId]) expect(bytes.includes(id), id).toBe(true);
    // Nothing of theirs has closed yet.
    expect(await streamRows(x.userId)).toEqual([]);
  });

  it('erases X from the stream state through the API, checkpointing at once', async () => {
    const created = await control<{ id: string }>('POST', '/api/v1/dsr', {
      kind: 'erasure',
      userId: x.userId,
    });
    await control('POST', `/api/v1/dsr/${created.id}/verify`, { method: 'test: signed-in session' });
    await control('POST', `/api/v1/dsr/${created.id}/approve`);
    const run = await control<{ state: string; result: ErasureProof }>(
      'POST',
      `/api/v1/dsr/${created.id}/run`,
    );
    expect(run.state).toBe('completed');
    const stream = run.result.stores.find((s) => s.store === 'stream' && s.section === 'stream_state');
    // session_metrics, event_volume_alerts (X's groups) and active_users (X's ids in its exact sets); user_engagement
    // holds nothing yet: it reads session_metrics' rows, and their window has not closed.
    expect(stream).toMatchObject({ found: 3, removed: 3, verification: { remaining: 0 } });
    const bytes = fs.readFileSync(checkpointFile());
    for (const id of [x.userId, x.anonymousId]) expect(bytes.includes(id), id).toBe(false);
    expect(bytes.includes(y.userId)).toBe(true);
  });

  it('writes no row naming X when the windows close, and Y’s as usual', async () => {
    // An event three hours ahead (no sentAt: its time is kept) moves event time past every window holding X or Y.
    const ahead = {
      eventId: randomUUID(),
      eventName: 'page_view',
      timestamp: new Date(start + 3 * 3_600_000).toISOString(),
      userId: `z-${tag}`,
    };
    expect((await tp.post('/api/telemetry/events', [ahead])).status).toBe(200);
    await tp.platform.drain();

    expect(await streamRows(y.userId)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^session_metrics /),
        expect.stringMatching(/^user_engagement /),
      ]),
    );
    expect(await streamRows(x.userId)).toEqual([]);
    expect(await streamRows(x.anonymousId)).toEqual([]);
    const engagement = await realtimeKeys('user_engagement');
    expect(engagement).toContain(y.userId);
    expect(engagement.filter((key) => key.includes(tag) && key.includes('-x-'))).toEqual([]);
    for (const id of [x.userId, x.anonymousId]) expect(filesNaming(id), id).toEqual([]);
  });
});
