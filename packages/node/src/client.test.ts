/**
 * The client's delivery against the test collector, whose faults come on cue: 503 with Retry-After, dropped
 * connections, answers lost after the events were stored, 413, 400, rejected events, a stopped collector.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ClientStats, DeeprefClient } from './client.ts';
import type { ClientOptions } from './client-options.ts';
import type { DeeprefNodeError } from './errors.ts';
import { startTestCollector, type TestCollector } from './test-support/test-collector.ts';
import { until } from './test-support/until.ts';

let collector: TestCollector;
let errors: DeeprefNodeError[];
const clients: DeeprefClient[] = [];

beforeEach(async () => {
  collector = await startTestCollector();
  errors = [];
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.shutdown({ timeoutMs: 100 })));
  await collector.stop();
});

function client(options: Partial<ClientOptions> = {}): DeeprefClient {
  const created = new DeeprefClient({
    writeKey: collector.writeKey,
    endpoint: collector.url,
    flushIntervalMs: 60_000,
    flushOnExit: false,
    retry: { initialDelayMs: 10, maxDelayMs: 100 },
    onError: (error) => errors.push(error),
    ...options,
  });
  clients.push(created);
  return created;
}

function track(c: DeeprefClient, count: number, from = 0): Promise<void>[] {
  return Array.from({ length: count }, (_, i) => c.track('sdk_probe', { seq: from + i }));
}

const seqs = () => collector.events.map((event) => event.properties.seq);
const range = (count: number, from = 0) => Array.from({ length: count }, (_, i) => from + i);

/** Every tracked event is in exactly one place. */
function expectBalanced(stats: ClientStats): void {
  expect(stats.tracked + stats.replayed).toBe(
    stats.accepted +
      stats.duplicates +
      stats.rejected +
      stats.dropped +
      stats.expired +
      stats.queued +
      stats.inFlight +
      stats.blocked,
  );
}

describe('batching', () => {
  it('sends a batch as soon as batchSize events wait, without flush', async () => {
    const c = client({ batchSize: 10 });
    track(c, 25);
    await until(() => c.stats().accepted === 20, 'two batches');
    expect(collector.requests.map((r) => r.events)).toEqual([10, 10]);
    expect(c.stats()).toMatchObject({ accepted: 20, queued: 5, inFlight: 0 });
  });

  it('sends what waits every flushIntervalMs', async () => {
    const c = client({ batchSize: 100, flushIntervalMs: 20 });
    track(c, 3);
    await until(() => c.stats().accepted === 3, 'the interval flush');
    expect(seqs()).toEqual([0, 1, 2]);
    expect(collector.requests).toHaveLength(1);
  });

  it('keeps each request under maxRequestBytes and gzips large bodies', async () => {
    const c = client({ batchSize: 100, maxRequestBytes: 4096, maxEventBytes: 1024 });
    for (let i = 0; i < 40; i++) void c.track('sdk_probe', { seq: i, padding: 'x'.repeat(200) });
    await c.flush();
    expect(seqs()).toEqual(range(40));
    const sizes = collector.requests.map((r) => r.events);
    expect(sizes.reduce((a, b) => a + b)).toBe(40);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(Math.floor(4096 / 300));
    expect(collector.requests.every((r) => r.gzip)).toBe(true);
  });

  it('stamps sentAt at send time and the library in the context', async () => {
    const c = client();
    void c.track('sdk_probe', { seq: 0 }, { userId: 'user-7', timestamp: new Date('2024-11-23T08:00:00Z') });
    await c.flush();
    const [event] = collector.events;
    expect(event).toMatchObject({
      eventName: 'sdk_probe',
      timestamp: '2024-11-23T08:00:00.000Z',
      userId: 'user-7',
      context: { library: { name: '@deepref/node', version: '0.1.0' } },
    });
    expect(Date.parse(event!.sentAt!)).toBeGreaterThan(Date.parse('2024-11-23T08:00:00Z'));
  });
});

describe('retries', () => {
  it('retries a 503 after its Retry-After and delivers once', async () => {
    collector.fail(1, { kind: 'status', status: 503, retryAfter: '0' });
    const c = client();
    track(c, 5);
    await c.flush();
    expect(collector.requests.map((r) => r.status)).toEqual([503, 200]);
    expect(seqs()).toEqual(range(5));
    expect(c.stats()).toMatchObject({ accepted: 5, retries: 1 });
    expect(errors.map((e) => e.code)).toEqual(['DEEPREF_NODE_DELIVERY_RETRYING']);
  });

  it('retries dropped connections, 429s and 500s', async () => {
    collector.fail(2, { kind: 'drop' });
    collector.fail(1, { kind: 'status', status: 429 });
    collector.fail(1, { kind: 'status', status: 500 });
    const c = client();
    track(c, 7);
    await c.flush();
    expect(seqs()).toEqual(range(7));
    expect(c.stats()).toMatchObject({ accepted: 7, retries: 4 });
  });

  it('stores an event once when the answer was lost after it was stored', async () => {
    collector.fail(1, { kind: 'store-then-drop' });
    const c = client();
    track(c, 6);
    await c.flush();
    expect(seqs()).toEqual(range(6));
    expect(collector.duplicates).toBe(6);
    expect(c.stats()).toMatchObject({ accepted: 0, duplicates: 6, retries: 1 });
  });

  it('keeps everything while the collector is down and delivers it when it is back', async () => {
    await collector.stop();
    const c = client({ batchSize: 10 });
    track(c, 35);
    await until(() => c.stats().retries >= 2, 'failed attempts');
    await collector.start();
    await c.flush();
    expect(seqs()).toEqual(range(35));
    expectBalanced(c.stats());
  });

  it('splits a batch the collector finds too large', async () => {
    collector.fail(1, { kind: 'status', status: 413 });
    const c = client();
    track(c, 9);
    await c.flush();
    expect(collector.requests.map((r) => [r.status, r.events])).toEqual([
      [413, 0],
      [200, 5],
      [200, 4],
    ]);
    expect(seqs()).toEqual(range(9));
  });

  it('keeps events while the write key is refused', async () => {
    const c = client({ writeKey: 'wrong-key' });
    track(c, 4);
    void c.flush();
    await until(() => c.stats().retries >= 2, 'refused attempts');
    expect(c.stats()).toMatchObject({ accepted: 0, rejected: 0, dropped: 0, inFlight: 4 });
    expect(errors[0]?.code).toBe('DEEPREF_NODE_UNAUTHORIZED');
    const stats = await c.shutdown({ timeoutMs: 50 });
    expect(stats).toMatchObject({ dropped: 4, inFlight: 0 });
    expect(errors.at(-1)?.code).toBe('DEEPREF_NODE_SHUTDOWN_INCOMPLETE');
    expectBalanced(stats);
  });
});

describe('what is not retried', () => {
  it('counts events the collector rejected, and does not send them again', async () => {
    collector.rejectEventName('bad_event');
    const c = client();
    void c.track('sdk_probe', { seq: 0 });
    void c.track('bad_event', {});
    void c.track('sdk_probe', { seq: 1 });
    await c.flush();
    expect(seqs()).toEqual([0, 1]);
    expect(collector.requests).toHaveLength(1);
    expect(c.stats()).toMatchObject({ accepted: 2, rejected: 1, retries: 0 });
    expect(errors.map((e) => e.code)).toEqual(['DEEPREF_NODE_EVENT_REJECTED']);
    expect(errors[0]?.message).toContain('schema_violation');
  });

  it('counts a batch refused with 400 as rejected', async () => {
    collector.fail(1, { kind: 'status', status: 400 });
    const c = client();
    track(c, 3);
    await c.flush();
    expect(c.stats()).toMatchObject({ accepted: 0, rejected: 3, queued: 0, inFlight: 0 });
    expect(collector.requests).toHaveLength(1);
  });

  it('refuses an event over maxEventBytes at track time', async () => {
    const c = client({ maxEventBytes: 1024 });
    void c.track('sdk_probe', { seq: 0, padding: 'x'.repeat(2000) });
    void c.track('sdk_probe', { seq: 1 });
    await c.flush();
    expect(seqs()).toEqual([1]);
    expect(c.stats()).toMatchObject({ tracked: 2, accepted: 1, rejected: 1 });
    expect(errors.map((e) => e.code)).toEqual(['DEEPREF_NODE_EVENT_TOO_LARGE']);
  });

  it('refuses properties that are not JSON', async () => {
    const c = client();
    void c.track('sdk_probe', { seq: 1n } as never);
    expect(c.stats()).toMatchObject({ tracked: 1, rejected: 1 });
    expect(errors.map((e) => e.code)).toEqual(['DEEPREF_NODE_EVENT_UNSERIALIZABLE']);
  });

  it('drops events older than maxEventAgeMs instead of sending them', async () => {
    const c = client({ maxEventAgeMs: 60_000 });
    void c.track('sdk_probe', { seq: 0 }, { timestamp: new Date(Date.now() - 120_000) });
    void c.track('sdk_probe', { seq: 1 });
    await c.flush();
    expect(seqs()).toEqual([1]);
    expect(c.stats()).toMatchObject({ accepted: 1, expired: 1 });
  });
});

describe('a full queue', () => {
  it('drops the oldest waiting events, and counts them', async () => {
    await collector.stop();
    const c = client({ batchSize: 2, maxQueueEvents: 2 });
    track(c, 10);
    expect(c.stats()).toMatchObject({ inFlight: 2, queued: 2, dropped: 6 });
    expect(errors.filter((e) => e.code === 'DEEPREF_NODE_QUEUE_FULL')).toHaveLength(1);
    await collector.start();
    await c.flush();
    expect(seqs()).toEqual([0, 1, 8, 9]);
    expectBalanced(c.stats());
  });

  it('blocks track() until there is room, losing nothing', async () => {
    await collector.stop();
    const c = client({ batchSize: 2, maxQueueEvents: 2, overflow: 'block' });
    const admitted: number[] = [];
    const tracked = track(c, 6).map((promise, i) => promise.then(() => admitted.push(i)));
    await Promise.resolve();
    expect(c.stats()).toMatchObject({ inFlight: 2, queued: 2, blocked: 2, dropped: 0 });
    expect(admitted).toEqual([0, 1, 2, 3]);
    await collector.start();
    await Promise.all(tracked);
    await c.flush();
    expect(seqs()).toEqual(range(6));
    expect(c.stats()).toMatchObject({ accepted: 6, dropped: 0, blocked: 0 });
  });
});

describe('a client with a spill directory', () => {
  let directory: string;

  beforeEach(() => {
    directory = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-client-spill-'));
  });

  afterEach(() => {
    fs.rmSync(directory, { recursive: true, force: true });
  });

  it('holds more than maxQueueEvents on disk while the collector is down, and sends it all in order', async () => {
    await collector.stop();
    const c = client({ batchSize: 5, maxQueueEvents: 10, spill: { directory, fsync: 'always' } });
    track(c, 100);
    expect(c.stats()).toMatchObject({ inFlight: 5, queued: 95, spilled: 85, dropped: 0 });
    await collector.start();
    await c.flush();
    expect(seqs()).toEqual(range(100));
    const stats = await c.shutdown();
    expect(stats).toMatchObject({ accepted: 100, queued: 0 });
    expect(fs.readdirSync(directory)).toEqual([]);
  });

  it('applies the overflow policy at spill.maxBytes, and leaves what it could not send for the next client', async () => {
    await collector.stop();
    const c = client({ batchSize: 5, maxQueueEvents: 10, spill: { directory, maxBytes: 20 * 200 } });
    track(c, 60);
    const full = c.stats();
    expect(full.dropped).toBeGreaterThan(0);
    expectBalanced(full);
    const left = await c.shutdown({ timeoutMs: 50 });
    expect(left).toMatchObject({ dropped: full.dropped, accepted: 0 });
    expect(left.queued + left.inFlight).toBe(60 - full.dropped);

    await collector.start();
    const next = client({ spill: { directory } });
    expect(next.stats().replayed).toBe(60 - full.dropped);
    await next.flush();
    // The oldest were dropped: what arrives is the first batch (in flight when the queue filled) and the newest.
    const arrived = seqs();
    expect(arrived).toHaveLength(60 - full.dropped);
    expect(arrived.slice(0, 5)).toEqual(range(5));
    expect(arrived.slice(5)).toEqual(range(60 - full.dropped - 5, full.dropped + 5));
  });
});

describe('flush and shutdown', () => {
  it('flush resolves once every event tracked before it is stored', async () => {
    const c = client({ batchSize: 7 });
    track(c, 30);
    await c.flush();
    expect(seqs()).toEqual(range(30));
    await c.flush();
    expect(collector.requests).toHaveLength(5);
  });

  it('shutdown delivers everything, then refuses new events', async () => {
    const c = client({ batchSize: 1000, maxQueueEvents: 1000 });
    track(c, 120);
    const stats = await c.shutdown();
    expect(seqs()).toEqual(range(120));
    expect(stats).toMatchObject({ tracked: 120, accepted: 120, queued: 0, inFlight: 0 });
    void c.track('sdk_probe', { seq: 999 });
    expect(c.stats()).toMatchObject({ tracked: 121, dropped: 1 });
    expect(errors.map((e) => e.code)).toEqual(['DEEPREF_NODE_CLIENT_CLOSED']);
    expect(await c.shutdown()).toEqual(stats);
  });

  it('types the properties of registered events (checked by tsc)', () => {
    const typeChecks = (c: DeeprefClient) => {
      void c.track('api_latency', {
        endpoint: '/documents/:id',
        method: 'GET',
        status_code: 200,
        duration_ms: 3,
      });
      // @ts-expect-error duration_ms is a number
      void c.track('api_latency', { endpoint: '/x', method: 'GET', status_code: 200, duration_ms: '3' });
      // @ts-expect-error method is required
      void c.track('api_latency', { endpoint: '/x', status_code: 200, duration_ms: 3 });
      void c.track('my_custom_event', { anything: ['goes'] });
    };
    expect(typeChecks).toBeTypeOf('function');
  });

  it('rejects invalid options with a message that says what to fix', () => {
    expect(() => new DeeprefClient({ writeKey: '', endpoint: collector.url })).toThrow(
      '`writeKey` is required',
    );
    expect(() => new DeeprefClient({ writeKey: 'k', endpoint: 'localhost:8080' })).toThrow(
      '`endpoint` must be http or https',
    );
    expect(() => new DeeprefClient({ writeKey: 'k', endpoint: collector.url, batchSize: 0 })).toThrow(
      '`batchSize` must be a positive integer',
    );
  });
});
