/** The pipeline's edge stages, with a stub log: what each stage sees, and what reaches the log and the results. */
import type { StoredEvent } from '@deepref/schema';
import { describe, expect, it } from 'vitest';
import type { AppendBatch, EventLog } from '../bus/event-log.ts';
import { defaultIngestConfig } from '../config.ts';
import { createMetrics } from '../ops/metrics.ts';
import { createIngestPipeline, type EdgeStage } from './pipeline.ts';

const source = { id: 'src', name: 'test', allowedOrigins: [], createdAt: '' };
const context = { source, receivedAt: new Date('2024-05-01T12:00:00.000Z'), request: {} };

function stubLog(appended: AppendBatch[]): EventLog {
  return {
    append: async (batch: AppendBatch) => {
      appended.push(batch);
      return batch.events.map(() => ({ status: 'accepted' as const, offset: 0 }));
    },
  } as unknown as EventLog;
}

/** A stage that records the names it saw and drops the events whose name is in `drop`. */
function dropping(name: string, drop: string[], seen: string[][]): EdgeStage {
  return {
    name,
    apply: (events: readonly StoredEvent[]) => {
      seen.push(events.map((event) => event.eventName));
      return events.map((event) =>
        drop.includes(event.eventName)
          ? { dropped: { code: `${name}_drop`, message: `dropped by ${name}` } }
          : { event: { ...event, properties: { ...(event.properties as object), [name]: true } } },
      );
    },
  };
}

describe('edge stages', () => {
  const body = ['a', 'b', 'c', 'd'].map((eventName) => ({ eventName, userId: 'u', properties: {} }));

  /** A pipeline with the two dropping stages, what they saw and what reached the log. */
  function withStages(first: string[], second: string[]) {
    const appended: AppendBatch[] = [];
    const seen: string[][] = [];
    const pipeline = createIngestPipeline({
      log: stubLog(appended),
      config: defaultIngestConfig,
      metrics: createMetrics(),
      edgeStages: [dropping('first', first, seen), dropping('second', second, seen)],
    });
    return { pipeline, appended, seen };
  }

  it('run in order; a dropped event reaches no later stage and no log, and results keep the request order', async () => {
    const { pipeline, appended, seen } = withStages(['b'], ['d']);
    const items = pipeline.map({ kind: 'reference' }, [...body, 'not an event'], context);
    const results = await pipeline.store(items, context);

    expect(seen).toEqual([
      ['a', 'b', 'c', 'd'],
      ['a', 'c', 'd'],
    ]);
    expect(appended).toHaveLength(1);
    expect(appended[0]!.events.map((event) => [event.eventName, event.properties])).toEqual([
      ['a', { first: true, second: true }],
      ['c', { first: true, second: true }],
    ]);
    expect(results.map((result) => result.status)).toEqual([
      'accepted',
      'dropped',
      'accepted',
      'dropped',
      'rejected',
    ]);
    expect(results[1]).toMatchObject({ reason: 'first_drop', message: 'dropped by first' });
    expect(results[3]).toMatchObject({ reason: 'second_drop' });
  });

  it('stops once every event is dropped, and appends nothing', async () => {
    const { pipeline, appended, seen } = withStages(['a', 'b', 'c', 'd'], []);
    const results = await pipeline.store(pipeline.map({ kind: 'reference' }, body, context), context);
    expect(seen).toHaveLength(1);
    expect(appended).toHaveLength(0);
    expect(results.every((result) => result.status === 'dropped')).toBe(true);
  });

  it('fails the request when a stage answers for a different number of events', async () => {
    const pipeline = createIngestPipeline({
      log: stubLog([]),
      config: defaultIngestConfig,
      metrics: createMetrics(),
      edgeStages: [{ name: 'short', apply: () => [] }],
    });
    await expect(pipeline.store(pipeline.map({ kind: 'reference' }, body, context), context)).rejects.toThrow(
      'edge stage short returned 0 decisions for 4 events',
    );
  });
});
