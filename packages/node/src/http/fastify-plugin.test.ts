/**
 * The Fastify plugin against the real platform: one `api_latency` per request, by route template, with exact
 * status codes and sizes, valid against the registered schema; `resource_usage` counts requests in progress.
 */
import { type StoredEvent, validateProperties } from '@deepref/schema';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeeprefClient } from '../client.ts';
import { ResourceSampler } from '../resource-sampler.ts';
import { type RealCollector, startRealCollector } from '../test-support/real-collector.ts';
import { until } from '../test-support/until.ts';
import { trackApiCall } from '../track-api-call.ts';
import { deeprefFastify } from './fastify-plugin.ts';

let collector: RealCollector;
let client: DeeprefClient;
let app: FastifyInstance;
let sampler: ResourceSampler;
let gate: Gate;

/** Holds `expected` requests inside the handler until `open()`; `allIn` resolves once they are all there. */
function newGate(expected: number) {
  let open!: () => void;
  let allIn!: () => void;
  const g = {
    entered: 0,
    open: () => open(),
    opened: new Promise<void>((resolve) => {
      open = resolve;
    }),
    allIn: new Promise<void>((resolve) => {
      allIn = resolve;
    }),
    enter: () => {
      g.entered++;
      if (g.entered === expected) allIn();
    },
  };
  return g;
}
type Gate = ReturnType<typeof newGate>;

beforeAll(async () => {
  collector = await startRealCollector();
  client = new DeeprefClient({ writeKey: collector.writeKey, endpoint: collector.url, flushOnExit: false });
  sampler = new ResourceSampler({ client, intervalMs: 0, service: 'documents-api', instance: 'test-1' });
  app = Fastify();
  await app.register(deeprefFastify, {
    client,
    service: 'documents-api',
    sampler,
    ignoreRoutes: ['/health'],
    identify: (request) => {
      const user = request.headers['x-user'];
      return typeof user === 'string' ? { userId: user } : undefined;
    },
  });
  const lookup = trackApiCall('document_lookup_call', { client })(async (id: string) => ({ id }));
  app.get('/documents/:id', async (request) => lookup((request.params as { id: string }).id));
  app.post('/documents', async (request, reply) =>
    reply.code(201).send({ saved: (request.body as object) !== null }),
  );
  app.get('/health', async () => 'ok');
  app.get('/boom/:id', async () => {
    throw new RangeError('no such page');
  });
  app.get('/slow/:id', async () => {
    gate.enter();
    await gate.opened;
    return { done: true };
  });
  await app.register(
    async (api) => {
      api.get('/orgs/:orgId/docs/:docId', async () => ({ ok: true }));
    },
    { prefix: '/api/v1' },
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await app.close();
  await client.shutdown();
  await collector.close();
});

/**
 * The `api_latency` events once there are `count`: a response can reach the test's fetch before the server
 * has seen its 'finish' event, which is when the plugin records.
 */
async function latencies(count: number): Promise<StoredEvent[]> {
  let events: StoredEvent[] = [];
  await until(async () => {
    await client.flush();
    events = (await collector.events()).filter((event) => event.eventName === 'api_latency');
    return events.length >= count;
  }, `${count} api_latency events`);
  return events;
}

const props = (event: StoredEvent | undefined) => event?.properties as Record<string, unknown>;

describe('the Fastify plugin', () => {
  it('records each request by route template with method, status and exact sizes', async () => {
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const doc = await fetch(`${base}/documents/8c1f-4471?draft=1`, { headers: { 'x-user': 'user-17' } });
    const docBody = await doc.text();
    const body = JSON.stringify({ title: 'Quarterly report' });
    const created = await fetch(`${base}/documents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const createdBody = await created.text();
    const nested = await fetch(`${base}/api/v1/orgs/acme-42/docs/99`);
    await nested.text();
    const boom = await fetch(`${base}/boom/7`);
    await boom.text();
    const missing = await fetch(`${base}/users/123456/secret`);
    await missing.text();
    await (await fetch(`${base}/health`)).text();

    const events = await latencies(5);
    expect(
      events.map((event) => [props(event).method, props(event).endpoint, props(event).status_code]),
    ).toEqual([
      ['GET', '/documents/:id', 200],
      ['POST', '/documents', 201],
      ['GET', '/api/v1/orgs/:orgId/docs/:docId', 200],
      ['GET', '/boom/:id', 500],
      ['GET', '(unmatched)', 404],
    ]);
    const [get, post, , failed] = events.map(props);
    expect(get).toMatchObject({ response_bytes: Buffer.byteLength(docBody), service: 'documents-api' });
    expect(get!.request_bytes).toBeUndefined();
    expect(post).toMatchObject({
      request_bytes: Buffer.byteLength(body),
      response_bytes: createdBody.length,
    });
    expect(failed!.error_type).toBe('RangeError');
    expect(events[0]!.userId).toBe('user-17');
    for (const event of events) {
      expect(validateProperties('api_latency', event.properties)).toEqual({ ok: true });
      // The request id is Fastify's own (req-1, …); every field must be free of the path's ids.
      expect(JSON.stringify(event.properties)).not.toMatch(/8c1f|acme-42|123456|draft/);
    }
  });

  it('gives trackApiCall inside a handler the request id of the request', async () => {
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const before = (await latencies(0)).length;
    await (await fetch(`${base}/documents/abc`)).text();
    const latency = (await latencies(before + 1)).at(-1)!;
    expect(props(latency).endpoint).toBe('/documents/:id');
    const call = (await collector.events())
      .filter((event) => event.eventName === 'document_lookup_call')
      .at(-1)!;
    expect(props(call)).toMatchObject({ status: 'success', request_id: props(latency).request_id });
  });

  it('samples the requests in progress, cpu and memory as resource_usage', async () => {
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    sampler.sample();
    gate = newGate(3);
    const slow = [1, 2, 3].map((i) => fetch(`${base}/slow/${i}`).then((response) => response.text()));
    await gate.allIn;
    const during = sampler.sample();
    gate.open();
    await Promise.all(slow);
    await until(() => sampler.requests.current === 0, 'the responses to finish');
    const afterwards = sampler.sample();
    const idle = sampler.sample();
    expect([during.concurrent_requests, afterwards.concurrent_requests, idle.concurrent_requests]).toEqual([
      3, 3, 0,
    ]);
    expect(during).toMatchObject({ service: 'documents-api', instance: 'test-1' });
    expect(during.memory_mb).toBeGreaterThan(0);
    expect(validateProperties('resource_usage', during)).toEqual({ ok: true });
    await client.flush();
    const stored = (await collector.events()).filter((event) => event.eventName === 'resource_usage');
    // The first sample only closed the interval of the earlier tests.
    expect(stored.slice(1).map((event) => props(event).concurrent_requests)).toEqual([3, 3, 0]);
  });
});
