/**
 * The collector's limits and error codes end to end: request and event size, body formats and encodings, write
 * keys (unknown, missing, revoked while running), CORS, and overload. Every refusal is `{ error: { code, message } }`
 * from the one catalog. Runs once per adapter set.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdapterSet, adapterSets } from '../testing/adapter-sets.ts';
import {
  deadLettersAfter,
  expectHealthy,
  expectStoresAgree,
  lastDeadLetterId,
  scrapeMetrics,
  storedEvents,
  waitFor,
} from '../testing/e2e-checks.ts';
import type { TestPlatform } from '../testing/test-platform.ts';

const limit = 500 * 1024;
const tooLarge = {
  error: {
    code: 'DEEPREF_PAYLOAD_TOO_LARGE',
    message: 'The request body is larger than the limit of 512000 bytes. Send fewer events per request.',
  },
};
const unknownKey = {
  error: {
    code: 'DEEPREF_UNKNOWN_WRITE_KEY',
    message: 'The write key is unknown or revoked. Create one with `deepref keys create --name NAME`.',
  },
};

function customEvent(properties: Record<string, unknown> = {}) {
  return {
    eventId: randomUUID(),
    eventName: 'limit_probe',
    timestamp: '2026-03-01T12:00:00.000Z',
    userId: 'user-limits',
    properties,
  };
}

/** A JSON array of events of about 20 KB each, padded with trailing blanks to exactly `bytes`. */
function bodyOfExactly(bytes: number): { text: string; eventIds: string[] } {
  const events = [];
  let size = 2;
  while (size + 21_000 < bytes) {
    const event = customEvent({ filler: 'f'.repeat(20_000) });
    events.push(event);
    size += Buffer.byteLength(JSON.stringify(event)) + 1;
  }
  const json = JSON.stringify(events);
  expect(Buffer.byteLength(json)).toBeLessThanOrEqual(bytes);
  return { text: json + ' '.repeat(bytes - Buffer.byteLength(json)), eventIds: events.map((e) => e.eventId) };
}

/** POSTs with `Transfer-Encoding: chunked` and no Content-Length, as a streaming client does. */
function postChunked(
  tp: TestPlatform,
  route: string,
  chunks: Buffer[],
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${tp.url}${route}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${Buffer.from(`${tp.writeKey}:`).toString('base64')}`,
      },
    });
    request.on('error', reject);
    request.on('response', (response) => {
      const parts: Buffer[] = [];
      response.on('data', (part: Buffer) => parts.push(part));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(parts).toString()) }),
      );
    });
    // The server may answer 413 and stop reading before the last chunk: a reset after the answer is expected.
    for (const chunk of chunks) request.write(chunk);
    request.end();
  });
}

for (const adapters of adapterSets) {
  describe(`collector limits and error codes (${adapters.name})`, () => {
    limitsSuite(adapters);
    overloadSuite(adapters);
  });
}

function limitsSuite(adapters: AdapterSet) {
  let tp: TestPlatform;
  beforeAll(async () => {
    tp = await adapters.start({ allowedOrigins: ['https://app.example.com'] });
  });
  afterAll(async () => {
    await tp?.close();
  });

  describe('sizes', () => {
    it('takes a request of exactly 500 KB and refuses one byte more with 413', async () => {
      const atLimit = bodyOfExactly(limit);
      const accepted = await tp.post('/api/telemetry/events', atLimit.text);
      expect(accepted.status).toBe(200);
      expect(accepted.body.results).toEqual(
        atLimit.eventIds.map((eventId) => ({ eventId, status: 'accepted' })),
      );

      const overLimit = bodyOfExactly(limit + 1);
      const refused = await tp.post('/api/telemetry/events', overLimit.text);
      expect(refused.status).toBe(413);
      expect(refused.body).toEqual(tooLarge);

      const events = await storedEvents(tp);
      expect(atLimit.eventIds.every((id) => events.has(id))).toBe(true);
      expect(overLimit.eventIds.some((id) => events.has(id))).toBe(false);
    });

    it('refuses a streamed body without Content-Length once it passes 500 KB', async () => {
      const { text, eventIds } = bodyOfExactly(limit + 40_000);
      const bytes = Buffer.from(text);
      const chunks = [];
      for (let at = 0; at < bytes.length; at += 64 * 1024) chunks.push(bytes.subarray(at, at + 64 * 1024));
      const refused = await postChunked(tp, '/api/telemetry/events', chunks);
      expect(refused).toEqual({ status: 413, body: tooLarge });
      const events = await storedEvents(tp);
      expect(eventIds.some((id) => events.has(id))).toBe(false);
      await expectHealthy(tp);
    });

    it('accepts gzip, and refuses gzip that inflates past 500 KB however small it is on the wire', async () => {
      const small = [customEvent({ packed: 'yes' })];
      const gzipped = await tp.post('/api/telemetry/events', small, { gzip: true });
      expect(gzipped.status).toBe(200);
      expect(gzipped.body.results).toEqual([{ eventId: small[0]!.eventId, status: 'accepted' }]);
      expect((await storedEvents(tp)).get(small[0]!.eventId)?.properties).toEqual({ packed: 'yes' });

      const bomb = `[${JSON.stringify(customEvent())}${' '.repeat(limit)}]`;
      expect(gzipSync(bomb).length).toBeLessThan(2_000);
      const refused = await tp.post('/api/telemetry/events', bomb, { gzip: true });
      expect(refused.status).toBe(413);
      expect(refused.body).toEqual(tooLarge);
    });

    it('dead-letters a Segment call over 32 KB with size_violation and answers 200', async () => {
      const lastId = await lastDeadLetterId(tp);
      const messageId = randomUUID();
      const call = {
        userId: 'user-limits',
        event: 'Big',
        messageId,
        properties: { blob: 'b'.repeat(33_000) },
      };
      const response = await tp.post('/v1/track', call);
      const size = Buffer.byteLength(JSON.stringify({ ...call, type: 'track' }));
      expect(response.status).toBe(200);
      expect(response.body.results).toEqual([
        {
          eventId: messageId,
          status: 'rejected',
          reason: 'size_violation',
          message: `the event is ${size} bytes of JSON; the limit is 32768`,
        },
      ]);
      const [letter] = await deadLettersAfter(tp, lastId);
      expect(letter).toMatchObject({ reason: 'size_violation', eventId: messageId, eventName: 'Big' });
    });
  });

  describe('formats and encodings', () => {
    it('answers malformed JSON with 400 DEEPREF_MALFORMED_JSON and where it broke', async () => {
      const response = await tp.post('/api/telemetry/events', '[{"eventName":"a",}]');
      expect(response.status).toBe(400);
      expect(response.body).toEqual({
        error: {
          code: 'DEEPREF_MALFORMED_JSON',
          message:
            'The request body is not valid JSON: expected a double-quoted property name at position 18.',
        },
      });
    });

    it('answers an unsupported content type with 415', async () => {
      const response = await tp.post('/api/telemetry/events', '<events/>', {
        contentType: 'application/xml',
      });
      expect(response.status).toBe(415);
      expect(response.body).toEqual({
        error: {
          code: 'DEEPREF_UNSUPPORTED_MEDIA_TYPE',
          message: 'Content type application/xml is not supported. Send application/json or text/plain.',
        },
      });
    });

    it('answers a body without a content type with 415', async () => {
      const response = await fetch(`${tp.url}/v1/batch`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${tp.writeKey}:`).toString('base64')}` },
        body: new Uint8Array(Buffer.from('{"batch":[]}')),
      });
      expect(response.status).toBe(415);
      expect(await response.json()).toEqual({
        error: {
          code: 'DEEPREF_UNSUPPORTED_MEDIA_TYPE',
          message: 'Content type (none) is not supported. Send application/json or text/plain.',
        },
      });
    });

    it('answers an unsupported content encoding with 415 and corrupt gzip with 400', async () => {
      const brotli = await tp.post('/api/telemetry/events', '[]', { headers: { 'content-encoding': 'br' } });
      expect(brotli.status).toBe(415);
      expect(brotli.body).toEqual({
        error: {
          code: 'DEEPREF_UNSUPPORTED_ENCODING',
          message: 'Content encoding br is not supported. Send identity or gzip.',
        },
      });
      const corrupt = gzipSync(JSON.stringify([customEvent()])).subarray(0, 20);
      const truncated = await tp.post('/api/telemetry/events', corrupt, {
        headers: { 'content-encoding': 'gzip' },
      });
      expect(truncated.status).toBe(400);
      expect(truncated.body).toEqual({
        error: {
          code: 'DEEPREF_BAD_ENCODING',
          message: 'The request body could not be decoded: the gzip stream is corrupt or truncated.',
        },
      });
    });

    it('answers a body that is no batch with 400 DEEPREF_INVALID_BODY', async () => {
      const response = await tp.post('/v1/batch', { events: [] });
      expect(response.status).toBe(400);
      expect(response.body).toEqual({
        error: {
          code: 'DEEPREF_INVALID_BODY',
          message:
            'The request body does not have the expected shape: expected an object with a `batch` array.',
        },
      });
    });

    it('answers an unknown Segment call with 404', async () => {
      const response = await tp.post('/v1/unknown', { userId: 'u' });
      expect(response.status).toBe(404);
      expect(response.body).toEqual({
        error: { code: 'DEEPREF_NOT_FOUND', message: 'Segment call /v1/unknown was not found.' },
      });
    });
  });

  describe('write keys', () => {
    it('answers an unknown key with 401 DEEPREF_UNKNOWN_WRITE_KEY', async () => {
      const response = await tp.post('/api/telemetry/events', [customEvent()], { writeKey: 'drk_not-a-key' });
      expect(response.status).toBe(401);
      expect(response.body).toEqual(unknownKey);
    });

    it('answers a request without a key with 401 DEEPREF_MISSING_WRITE_KEY', async () => {
      const response = await tp.post('/api/telemetry/events', [customEvent()], { writeKey: null });
      expect(response.status).toBe(401);
      expect(response.body).toEqual({
        error: {
          code: 'DEEPREF_MISSING_WRITE_KEY',
          message: 'No write key. Send it as the HTTP Basic user or as `writeKey` in the body.',
        },
      });
    });

    it('takes the key from the query string, for sendBeacon', async () => {
      const event = customEvent();
      const response = await tp.post(`/api/telemetry/events?writeKey=${tp.writeKey}`, [event], {
        writeKey: null,
        contentType: 'text/plain;charset=UTF-8',
      });
      expect(response.status).toBe(200);
      expect(response.body.results).toEqual([{ eventId: event.eventId, status: 'accepted' }]);
    });

    it('refuses a key revoked while the platform runs, within the registry cache time', async () => {
      const { source, writeKey } = await tp.platform.sources.create({ name: `revoked-${randomUUID()}` });
      const before = await tp.post('/api/telemetry/events', [customEvent()], { writeKey });
      expect(before.status).toBe(200);

      expect(await tp.platform.sources.revoke(source.id)).toBe(1);
      // The registry caches a key for one second; poll for the refusal rather than sleeping a fixed time.
      const sentAfterRevoke: string[] = [];
      await waitFor('the revoked key to be refused', async () => {
        const event = customEvent();
        const response = await tp.post('/api/telemetry/events', [event], { writeKey });
        if (response.status === 200) return false;
        sentAfterRevoke.push(event.eventId);
        expect(response.status).toBe(401);
        expect(response.body).toEqual(unknownKey);
        return true;
      });
      const again = await tp.post('/api/telemetry/events', [customEvent()], { writeKey });
      expect(again.status).toBe(401);
      const events = await storedEvents(tp);
      expect(sentAfterRevoke.some((id) => events.has(id))).toBe(false);
    });
  });

  describe('CORS', () => {
    it('answers a preflight with the methods, headers and max age browsers need', async () => {
      for (const route of ['/api/telemetry/events', '/v1/batch']) {
        const response = await fetch(`${tp.url}${route}`, {
          method: 'OPTIONS',
          headers: {
            origin: 'https://app.example.com',
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'content-type, authorization',
          },
        });
        expect(response.status).toBe(204);
        expect(Object.fromEntries(response.headers)).toMatchObject({
          'access-control-allow-origin': 'https://app.example.com',
          'access-control-allow-methods': 'POST, OPTIONS',
          'access-control-allow-headers': 'Content-Type, Authorization, Content-Encoding',
          'access-control-max-age': '86400',
          vary: 'Origin',
        });
        expect(response.headers.has('access-control-allow-credentials')).toBe(false);
      }
    });

    it('takes a request from an allowed origin and refuses another with 403', async () => {
      const allowed = customEvent();
      const fromApp = await tp.post('/api/telemetry/events', [allowed], {
        headers: { origin: 'https://app.example.com' },
      });
      expect(fromApp.status).toBe(200);
      expect(fromApp.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      expect(fromApp.headers.get('access-control-expose-headers')).toBe('Retry-After');

      const refused = customEvent();
      const fromElsewhere = await tp.post('/api/telemetry/events', [refused], {
        headers: { origin: 'https://evil.example.net' },
      });
      expect(fromElsewhere.status).toBe(403);
      expect(fromElsewhere.body).toEqual({
        error: {
          code: 'DEEPREF_ORIGIN_NOT_ALLOWED',
          message: 'Origin https://evil.example.net is not allowed for this write key.',
        },
      });
      // The refusal is readable by the page, so an SDK can report it.
      expect(fromElsewhere.headers.get('access-control-allow-origin')).toBe('https://evil.example.net');

      const events = await storedEvents(tp);
      expect(events.has(allowed.eventId)).toBe(true);
      expect(events.has(refused.eventId)).toBe(false);
    });

    it('refuses every browser origin for a server-only key', async () => {
      const { writeKey } = await tp.platform.sources.create({ name: `server-${randomUUID()}` });
      const fromBrowser = await tp.post('/api/telemetry/events', [customEvent()], {
        writeKey,
        headers: { origin: 'https://app.example.com' },
      });
      expect(fromBrowser.status).toBe(403);
      expect(fromBrowser.body.error.code).toBe('DEEPREF_ORIGIN_NOT_ALLOWED');
      const fromServer = await tp.post('/api/telemetry/events', [customEvent()], { writeKey });
      expect(fromServer.status).toBe(200);
    });
  });

  it('counts every refused request on /metrics, and the stores agree with the log', async () => {
    const metrics = await scrapeMetrics(tp);
    const refused = (code: string) => metrics.value('deepref_requests_refused_total', { code });
    expect(refused('DEEPREF_PAYLOAD_TOO_LARGE')).toBe(3);
    expect(refused('DEEPREF_MALFORMED_JSON')).toBe(1);
    expect(refused('DEEPREF_UNSUPPORTED_MEDIA_TYPE')).toBe(2);
    expect(refused('DEEPREF_UNSUPPORTED_ENCODING')).toBe(1);
    expect(refused('DEEPREF_BAD_ENCODING')).toBe(1);
    expect(refused('DEEPREF_INVALID_BODY')).toBe(1);
    expect(refused('DEEPREF_MISSING_WRITE_KEY')).toBe(1);
    expect(refused('DEEPREF_ORIGIN_NOT_ALLOWED')).toBe(2);
    expect(refused('DEEPREF_UNKNOWN_WRITE_KEY')).toBeGreaterThanOrEqual(3);
    expect(await expectStoresAgree(tp)).toBeGreaterThan(0);
  });
}

function overloadSuite(adapters: AdapterSet) {
  describe('overload', () => {
    let tp: TestPlatform;
    beforeAll(async () => {
      tp = await adapters.start({ ingest: { maxPendingEvents: 4 } });
    });
    afterAll(async () => {
      await tp?.close();
    });

    it('answers 503 with Retry-After past the buffer, storing every event it acked and none it refused', async () => {
      const lastId = await lastDeadLetterId(tp);
      const accepted: string[] = [];
      const refused: string[] = [];
      let acceptedRequests = 0;
      // Requests that land in one turn of the event loop share the buffer; a few rounds make one certain.
      for (let round = 0; round < 20 && refused.length === 0; round++) {
        const batches = Array.from({ length: 40 }, () => [
          customEvent(),
          customEvent(),
          customEvent(),
          'invalid',
        ]);
        const answers = await Promise.all(batches.map((batch) => tp.post('/api/telemetry/events', batch)));
        for (const [i, answer] of answers.entries()) {
          const ids = batches[i]!.slice(0, 3).map((event) => (event as { eventId: string }).eventId);
          if (answer.status === 200) {
            acceptedRequests++;
            expect(answer.body.results.map((r: { status: string }) => r.status)).toEqual([
              'accepted',
              'accepted',
              'accepted',
              'rejected',
            ]);
            accepted.push(...ids);
          } else {
            expect(answer.status).toBe(503);
            expect(answer.headers.get('retry-after')).toBe('1');
            expect(answer.body).toEqual({
              error: {
                code: 'DEEPREF_OVERLOADED',
                message: 'The collector is at its buffer limit. Retry after 1 seconds.',
                retryAfter: 1,
              },
            });
            refused.push(...ids);
          }
        }
      }
      expect(refused.length).toBeGreaterThan(0);
      expect(accepted.length).toBeGreaterThan(0);

      const events = await storedEvents(tp);
      expect(accepted.filter((id) => !events.has(id))).toEqual([]);
      expect(refused.filter((id) => events.has(id))).toEqual([]);
      expect(events.size).toBe(accepted.length);
      // A refused request's dead letters are not kept either: the request had no effect.
      expect(await deadLettersAfter(tp, lastId)).toHaveLength(acceptedRequests);
      const metrics = await scrapeMetrics(tp);
      expect(metrics.value('deepref_requests_refused_total', { code: 'DEEPREF_OVERLOADED' })).toBe(
        refused.length / 3,
      );
      await expectHealthy(tp);
    });
  });
}
