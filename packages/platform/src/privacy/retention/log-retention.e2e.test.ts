/**
 * The retention job on the event log through the real platform, once per adapter set (the SQLite log; the JetStream
 * log, whose warehouse loader keeps one consumer per partition): once every consumer has passed the events and they
 * are past the shortest event retention, the job removes them all from the log but the newest. The log stamps
 * events with the real time, so the job runs with its clock (`Date` only) moved 100 days on.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type AdapterSet, adapterSets } from '../../testing/adapter-sets.ts';
import type { TestPlatform } from '../../testing/test-platform.ts';
import type { RetentionLine } from './retention.ts';

for (const adapters of adapterSets) {
  describe(`retention of the event log (${adapters.name})`, () => logRetentionSuite(adapters));
}

function logRetentionSuite(adapters: AdapterSet) {
  let tp: TestPlatform;

  beforeAll(async () => {
    tp = await adapters.start();
  });
  afterAll(async () => {
    await tp?.close();
  });

  it('removes every event all consumers have passed once past the shortest retention, but the newest', async () => {
    // Twelve users: spread over the partitions of a partitioned log, some partitions left without any.
    const batch = Array.from({ length: 12 }, (_, i) => ({
      eventId: randomUUID(),
      eventName: 'page_view',
      timestamp: new Date().toISOString(),
      userId: `u-log-retention-${i}`,
      sessionId: 's-log-retention',
      properties: { page_url: 'https://a.example/' },
    }));
    const response = await tp.post('/api/telemetry/events', batch);
    expect(response.status).toBe(200);
    await tp.platform.drain();
    const offsets = (await tp.platform.log.read(0, 100)).map((record) => record.offset);
    expect(offsets).toHaveLength(12);

    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 100 * 86_400_000);
    let lines: RetentionLine[];
    try {
      const run = await tp.platform.scheduler.run('retention');
      expect(run.status).toBe('succeeded');
      lines = (run.report as { lines: RetentionLine[] }).lines;
    } finally {
      vi.useRealTimers();
    }
    expect(lines.find((line) => line.store === 'log.events')).toMatchObject({ found: 11, removed: 11 });
    expect((await tp.platform.log.read(0, 100)).map((record) => record.offset)).toEqual([offsets.at(-1)]);
  });
}
