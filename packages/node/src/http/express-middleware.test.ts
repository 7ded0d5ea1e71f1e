/**
 * The Express middleware against the real platform: route templates through mounted routers (with parameters
 * in the mount paths too), 404s, errors and request ids, valid against the registered schema.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type StoredEvent, validateProperties } from '@deepref/schema';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeeprefClient } from '../client.ts';
import { type RealCollector, startRealCollector } from '../test-support/real-collector.ts';
import { until } from '../test-support/until.ts';
import { trackApiCall } from '../track-api-call.ts';
import { type DeeprefExpressMiddleware, deeprefExpress } from './express-middleware.ts';

let collector: RealCollector;
let client: DeeprefClient;
let server: Server;
let telemetry: DeeprefExpressMiddleware;
let base: string;

beforeAll(async () => {
  collector = await startRealCollector();
  client = new DeeprefClient({ writeKey: collector.writeKey, endpoint: collector.url, flushOnExit: false });
  telemetry = deeprefExpress({ client, service: 'web', resourceSampleIntervalMs: 0 });
  const app = express();
  app.use(telemetry);
  app.use(express.json());

  const lookup = trackApiCall('member_lookup_call', { client })(async (id: string) => ({ id }));
  const members = express.Router({ mergeParams: true });
  members.get('/:memberId', async (req, res) => {
    res.json(await lookup(req.params.memberId as string));
  });
  const teams = express.Router({ mergeParams: true });
  teams.use('/:teamId/members', members);
  const orgs = express.Router();
  orgs.get('/docs/:docId', (_req, res) => {
    res.json({ ok: true });
  });
  orgs.use('/teams', teams);

  app.use('/orgs/:orgId', orgs);
  app.get('/documents/:id', (_req, res) => {
    res.send('document');
  });
  app.post('/documents', (req, res) => {
    res.status(201).json({ title: req.body.title });
  });
  app.get(['/files/:fileId', '/attachments/:fileId'], (_req, res) => {
    res.end();
  });
  app.get('/crash/:id', () => {
    throw new Error('handler failed');
  });

  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  telemetry.close();
  await new Promise((resolve) => server.close(resolve));
  await client.shutdown();
  await collector.close();
});

async function latencies(): Promise<StoredEvent[]> {
  await client.flush();
  return (await collector.events()).filter((event) => event.eventName === 'api_latency');
}

/**
 * The `api_latency` events once there are `count`: a response can reach the test's fetch before the server
 * has seen its 'finish' event, which is when the middleware records.
 */
async function latenciesWhen(count: number): Promise<StoredEvent[]> {
  let events: StoredEvent[] = [];
  await until(async () => {
    events = await latencies();
    return events.length >= count;
  }, `${count} api_latency events`);
  return events;
}

const props = (event: StoredEvent | undefined) => event?.properties as Record<string, unknown>;

async function get(path: string, init?: RequestInit): Promise<string> {
  return (await fetch(`${base}${path}`, init)).text();
}

describe('the Express middleware', () => {
  it('records route templates, never the ids in the path, through routers mounted on parameters', async () => {
    const document = await get('/documents/5f0e77');
    const body = JSON.stringify({ title: 'Plan' });
    const created = await get('/documents', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    await get('/orgs/acme-42/docs/9931');
    await get('/orgs/acme-42/teams/t-77/members/m-555');
    await get('/attachments/f-123');
    await get('/crash/c-1');
    await get('/orgs/acme-42/nothing-here/x-9');

    const events = await latenciesWhen(7);
    expect(
      events.map((event) => [props(event).method, props(event).endpoint, props(event).status_code]),
    ).toEqual([
      ['GET', '/documents/:id', 200],
      ['POST', '/documents', 201],
      ['GET', '/orgs/:orgId/docs/:docId', 200],
      ['GET', '/orgs/:orgId/teams/:teamId/members/:memberId', 200],
      ['GET', '/attachments/:fileId', 200],
      ['GET', '/crash/:id', 500],
      ['GET', '(unmatched)', 404],
    ]);
    expect(props(events[0])).toMatchObject({ response_bytes: Buffer.byteLength(document), service: 'web' });
    expect(props(events[1])).toMatchObject({
      request_bytes: Buffer.byteLength(body),
      response_bytes: Buffer.byteLength(created),
    });
    for (const event of events) {
      expect(validateProperties('api_latency', event.properties)).toEqual({ ok: true });
      // The request id is random hex and may contain any of these by chance; every other field must not.
      const { request_id: _random, ...fields } = props(event);
      expect(JSON.stringify(fields)).not.toMatch(/5f0e77|acme|9931|t-77|m-555|f-123|c-1|x-9/);
    }
  });

  it('takes the request id from x-request-id and shares it with trackApiCall in the handler', async () => {
    const before = (await latencies()).length;
    await get('/orgs/o-1/teams/t-1/members/m-1', { headers: { 'x-request-id': 'req-2024-abc' } });
    const latency = (await latenciesWhen(before + 1)).at(-1)!;
    const call = (await collector.events())
      .filter((event) => event.eventName === 'member_lookup_call')
      .at(-1)!;
    expect(props(latency).request_id).toBe('req-2024-abc');
    expect(props(call)).toMatchObject({ request_id: 'req-2024-abc', status: 'success' });
  });
});
