/**
 * A stand-in for the platform's collector, used by the Chromium tests when packages/platform has no collector
 * yet: the same contract (`POST /api/telemetry/events`, write key in the query or as the Basic user, text/plain
 * or JSON, optional gzip, 500 KB a request and 32 KB an event, a result per event, deduplication by eventId,
 * registered properties validated with @deepref/schema, CORS), and events kept in memory per write key.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { checkIdentity, validateProperties } from '@deepref/schema';

export interface ReceivedEvent {
  eventId: string;
  eventName: string;
  type: string;
  timestamp: string;
  sentAt?: string;
  sessionId?: string;
  userId?: string;
  anonymousId?: string;
  properties: Record<string, unknown>;
  traits?: Record<string, unknown>;
  context?: Record<string, unknown>;
  receivedAt: string;
}

export interface TestCollector {
  url: string;
  createSource(): string;
  events(writeKey: string): ReceivedEvent[];
  close(): Promise<void>;
}

const maxRequestBytes = 500 * 1024;
const maxEventBytes = 32 * 1024;
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function startTestCollector(): Promise<TestCollector> {
  const sources = new Map<string, Map<string, ReceivedEvent>>();

  const server = http.createServer((req, res) => {
    const origin = req.headers.origin;
    if (origin) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Expose-Headers', 'Retry-After');
      res.setHeader('Vary', 'Origin');
    }
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const refuse = (status: number, code: string, message: string) =>
      answer(status, { error: { code, message } });
    const url = new URL(req.url ?? '/', 'http://collector');
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type, Authorization, Content-Encoding');
      res.writeHead(204).end();
      return;
    }
    if (req.method !== 'POST' || url.pathname !== '/api/telemetry/events') {
      return refuse(404, 'DEEPREF_NOT_FOUND', `${req.method} ${url.pathname} is not a collector route`);
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const basic = /^basic\s+(\S+)/i.exec(req.headers.authorization ?? '')?.[1];
      const writeKey =
        url.searchParams.get('writeKey') ??
        Buffer.from(basic ?? '', 'base64')
          .toString()
          .split(':')[0];
      const stored = writeKey ? sources.get(writeKey) : undefined;
      if (!stored) return refuse(401, 'DEEPREF_UNKNOWN_WRITE_KEY', 'unknown write key');
      const mediaType = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
      if (mediaType !== 'text/plain' && mediaType !== 'application/json') {
        return refuse(415, 'DEEPREF_UNSUPPORTED_MEDIA_TYPE', `cannot read ${mediaType}`);
      }
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip')
        body = gunzipSync(body, { maxOutputLength: maxRequestBytes + 1 });
      if (body.length > maxRequestBytes) return refuse(413, 'DEEPREF_PAYLOAD_TOO_LARGE', 'over 500 KB');
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        return refuse(400, 'DEEPREF_INVALID_JSON', 'the body is not JSON');
      }
      const items = Array.isArray(parsed) ? parsed : (parsed as { batch?: unknown[] }).batch;
      if (!Array.isArray(items)) return refuse(400, 'DEEPREF_INVALID_BODY', 'expected an array of events');
      const receivedAt = new Date().toISOString();
      const results = items.map((item: Record<string, unknown>) => {
        const eventId = typeof item?.eventId === 'string' ? item.eventId : undefined;
        const reject = (message: string) => ({
          eventId,
          status: 'rejected',
          reason: 'schema_violation',
          message,
        });
        if (!eventId || !uuid.test(eventId)) return reject('/eventId must be a uuid');
        if (typeof item.eventName !== 'string' || !item.eventName) return reject('/eventName is required');
        if (typeof item.timestamp !== 'string' || Number.isNaN(Date.parse(item.timestamp))) {
          return reject('/timestamp must be an ISO 8601 date-time');
        }
        if (!checkIdentity(item)) return reject('needs userId or anonymousId');
        if (Buffer.byteLength(JSON.stringify(item)) > maxEventBytes) return reject('over 32 KB');
        const properties = validateProperties(item.eventName, item.properties ?? {});
        if (!properties.ok) return reject(properties.errors.map((e) => `${e.path} ${e.message}`).join('; '));
        if (stored.has(eventId)) return { eventId, status: 'duplicate' };
        stored.set(eventId, {
          type: 'track',
          properties: {},
          ...item,
          receivedAt,
        } as unknown as ReceivedEvent);
        return { eventId, status: 'accepted' };
      });
      answer(200, { success: true, results });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    createSource() {
      const writeKey = `test_${randomUUID()}`;
      sources.set(writeKey, new Map());
      return writeKey;
    },
    events: (writeKey) => [...(sources.get(writeKey)?.values() ?? [])],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
