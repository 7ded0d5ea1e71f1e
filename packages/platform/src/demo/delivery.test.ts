import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { deliver, eventsEndpoint, retryAfterMs } from './delivery.ts';

interface Received {
  authorization: string | undefined;
  contentType: string | undefined;
  events: { eventId: string; sentAt?: string }[];
}

type Answer = (
  events: Received['events'],
  n: number,
  req: http.IncomingMessage,
  res: http.ServerResponse,
) => void;

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A stand-in collector on a free local port that records every request and answers with `answer`. */
async function collector(answer: Answer): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const events = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Received['events'];
      received.push({
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        events,
      });
      answer(events, received.length, req, res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

const accepted = (events: Received['events']) => ({
  results: events.map((e) => ({ eventId: e.eventId, status: 'accepted' })),
});

function batchesOf(count: number, size: number) {
  return Array.from({ length: count }, (_, b) =>
    Array.from({ length: size }, (_, i) => ({
      eventId: `00000000-0000-4000-8000-${String(b * 100 + i).padStart(12, '0')}`,
    })),
  );
}

describe('delivery to the collector', () => {
  it('waits out a 503 for its Retry-After, then counts accepted, duplicate and rejected events', async () => {
    const { url, received } = await collector((events, n, _req, res) => {
      if (n === 1) {
        json(
          res,
          503,
          { error: { code: 'DEEPREF_OVERLOADED', message: 'Retry after 2 seconds.' } },
          { 'retry-after': '2' },
        );
        return;
      }
      json(res, 200, {
        results: events.map((e, i) =>
          i === 0
            ? { eventId: e.eventId, status: 'duplicate' }
            : i === 1
              ? {
                  eventId: e.eventId,
                  status: 'rejected',
                  reason: 'schema_violation',
                  message: '/properties/x is required',
                }
              : { eventId: e.eventId, status: 'accepted' },
        ),
      });
    });
    const waits: number[] = [];
    const tally = await deliver(batchesOf(3, 10), {
      url,
      writeKey: 'drk_test',
      concurrency: 1,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });

    expect(waits).toEqual([2000]);
    expect(received).toHaveLength(4);
    expect(received[0]!.events.map((e) => e.eventId)).toEqual(received[1]!.events.map((e) => e.eventId));
    expect(
      received.every((r) => r.authorization === `Basic ${Buffer.from('drk_test:').toString('base64')}`),
    ).toBe(true);
    expect(received.every((r) => r.contentType === 'application/json')).toBe(true);
    expect(received.every((r) => r.events.every((e) => typeof e.sentAt === 'string'))).toBe(true);
    expect(tally).toMatchObject({
      sent: 30,
      accepted: 24,
      duplicates: 3,
      rejected: 3,
      rejectedByReason: { schema_violation: 3 },
      rejectionExamples: { schema_violation: '/properties/x is required' },
      notSent: 0,
      requests: 4,
      retries: 1,
    });
  });

  it('retries a dropped connection with backoff', async () => {
    const { url } = await collector((events, n, req, res) => {
      if (n === 1) req.socket.destroy();
      else json(res, 200, accepted(events));
    });
    const waits: number[] = [];
    const tally = await deliver(batchesOf(2, 5), {
      url,
      writeKey: 'k',
      concurrency: 1,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    expect(tally).toMatchObject({ sent: 10, accepted: 10, notSent: 0, retries: 1 });
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThan(0);
  });

  it('gives a batch up after the last attempt and says why', async () => {
    const { url, received } = await collector((_events, _n, _req, res) =>
      json(res, 503, { error: { code: 'DEEPREF_OVERLOADED', message: 'busy' } }, { 'retry-after': '1' }),
    );
    const tally = await deliver(batchesOf(1, 7), {
      url,
      writeKey: 'k',
      concurrency: 1,
      maxAttempts: 3,
      sleep: async () => {},
    });
    expect(received).toHaveLength(3);
    expect(tally).toMatchObject({
      sent: 0,
      notSent: 7,
      notSentByReason: { 'gave up: DEEPREF_OVERLOADED': 7 },
    });
  });

  it('stops at an unknown write key instead of sending the rest', async () => {
    const { url, received } = await collector((_events, _n, _req, res) =>
      json(res, 401, {
        error: { code: 'DEEPREF_UNKNOWN_WRITE_KEY', message: 'The write key is unknown or revoked.' },
      }),
    );
    const tally = await deliver(batchesOf(50, 2), {
      url,
      writeKey: 'wrong',
      concurrency: 2,
      sleep: async () => {},
    });
    expect(received.length).toBeLessThanOrEqual(2);
    expect(tally.fatal).toMatch(/refused the write key .*--write-key/);
    expect(tally.notSentByReason).toEqual({ DEEPREF_UNKNOWN_WRITE_KEY: received.length * 2 });
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const { url } = await collector((events, _n, _req, res) => {
      inFlight++;
      most = Math.max(most, inFlight);
      setImmediate(() => {
        inFlight--;
        json(res, 200, accepted(events));
      });
    });
    const tally = await deliver(batchesOf(40, 3), { url, writeKey: 'k', concurrency: 4 });
    expect(tally.accepted).toBe(120);
    expect(most).toBeLessThanOrEqual(4);
  });

  it('reads Retry-After as seconds or as a date, and finds the endpoint under a base URL', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:05 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(
      5000,
    );
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
    expect(eventsEndpoint('http://127.0.0.1:8080/')).toBe('http://127.0.0.1:8080/api/telemetry/events');
    expect(eventsEndpoint('https://c.example/api/telemetry/events')).toBe(
      'https://c.example/api/telemetry/events',
    );
  });
});
