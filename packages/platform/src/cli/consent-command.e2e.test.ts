/**
 * `deepref consent` as an operator runs it, against a running platform: a withdrawal recorded as `admin` that the
 * collector honours for the next event, `show`, and a grant that lets the next event through.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsentView } from '../privacy/consent/consent-routes.ts';
import { startTestPlatform, type TestPlatform } from '../testing/test-platform.ts';

const run = promisify(execFile);
const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/deepref.js');

let tp: TestPlatform;
beforeAll(async () => {
  tp = await startTestPlatform();
});
afterAll(async () => {
  await tp?.close();
});

function deepref(...args: string[]) {
  return run(process.execPath, [bin, ...args, '--data-dir', tp.dataDir], { timeout: 60_000 });
}

const search = (userId: string) => ({
  eventId: randomUUID(),
  eventName: 'search_query',
  timestamp: new Date().toISOString(),
  userId,
  properties: { search_id: 's', query_length: 1, result_count: 0 },
});

describe('deepref consent', () => {
  it('withdraws for a subject, shows the state and history, and the collector drops its next event', async () => {
    const userId = `user-${randomUUID()}`;
    const withdrawn = await deepref(
      'consent',
      'withdraw',
      '--subject',
      userId,
      '--purpose',
      'analytics',
      'marketing',
    );
    expect(withdrawn.stdout).toContain(`Consent of ${userId} (mode opt-out; linked ids: ${userId})`);
    expect(withdrawn.stdout).toMatch(/analytics\s+refused \(admin, policy 1, /);
    expect(withdrawn.stdout).toMatch(/data_collection\s+granted \(default of the mode\)/);

    const answer = await tp.post('/api/telemetry/events', [search(userId)]);
    expect(answer.body.results[0].status).toBe('dropped');

    const shown = JSON.parse(
      (await deepref('consent', 'show', '--subject', userId, '--json')).stdout,
    ) as ConsentView;
    expect(shown.state.analytics).toMatchObject({ granted: false, basis: 'record', method: 'admin' });

    const granted = await deepref(
      'consent',
      'grant',
      '--subject',
      userId,
      '--purpose',
      'analytics',
      '--json',
    );
    expect(
      (JSON.parse(granted.stdout) as ConsentView).history.map((r) => [r.purpose, r.granted, r.method]),
    ).toEqual([
      ['analytics', false, 'admin'],
      ['marketing', false, 'admin'],
      ['analytics', true, 'admin'],
    ]);
    expect((await tp.post('/api/telemetry/events', [search(userId)])).body.results[0].status).toBe(
      'accepted',
    );
  });
});
