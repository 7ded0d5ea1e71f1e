/**
 * A small collector for the SDK's tests: the contract of `POST /api/telemetry/events` (Basic write key, JSON
 * array or `{ batch }`, gzip, 413/415/401, per-event results, dedup by eventId, property validation against
 * @deepref/schema) on a plain Node HTTP server, with faults on demand: answer 503/429 with `Retry-After`, drop
 * the connection before or after storing, stop and start again on the same port. The real platform is used for
 * the end-to-end tests; this one is for the faults the real one cannot be made to show on cue.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { validateProperties } from '@deepref/schema';

export interface ReceivedEvent {
  eventId: string;
  eventName: string;
  timestamp: string;
  sentAt?: string;
  userId?: string;
  anonymousId?: string;
  sessionId?: string;
  properties: Record<string, unknown>;
  context?: { library?: { name?: string; version?: string } } & Record<string, unknown>;
}

export interface ReceivedRequest {
  status: number;
  events: number;
  gzip: boolean;
  bytes: number;
}

type Fault =
  | { kind: 'status'; status: number; retryAfter?: string }
  | { kind: 'drop' }
  | { kind: 'store-then-drop' };

export interface TestCollector {
  readonly url: string;
  readonly writeKey: string;
  /** Stored events, each eventId once, in arrival order. */
  readonly events: ReceivedEvent[];
  readonly requests: ReceivedRequest[];
  /** Events received again after being stored (retries of a lost answer). */
  readonly duplicates: number;
  /** The next `count` requests get this fault instead of the normal answer. */
  fail(count: number, fault: Fault): void;
  /** Events with this name get `rejected` (as the real collector does for invalid ones). */
  rejectEventName(name: string): void;
  /** Resolves when at least `count` events are stored. */
  waitForEvents(count: number): Promise<void>;
  /** Stops listening and cuts every open connection. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
}

const MAX_REQUEST_BYTES = 500 * 1024;
const MAX_EVENT_BYTES = 32 * 1024;
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function startTestCollector(options: { writeKey?: string } = {}): Promise<TestCollector> {
  const writeKey = options.writeKey ?? 'test-write-key';
  const events: ReceivedEvent[] = [];
  const seen = new Set<string>();
  const requests: ReceivedRequest[] = [];
  const faults: Fault[] = [];
  const rejectedNames = new Set<string>();
  const sockets = new Set<Socket>();
  const waiters: { count: number; resolve: () => void }[] = [];
  let duplicates = 0;
  let port = 0;

  const notify = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (events.length >= waiters[i]!.count) waiters.splice(i, 1)[0]!.resolve();
    }
  };

  const store = (items: unknown[]) =>
    items.map((item) => {
      const event = item as ReceivedEvent;
      const eventId = typeof event?.eventId === 'string' ? event.eventId : undefined;
      const reject = (reason: string, message: string) => ({ eventId, status: 'rejected', reason, message });
      if (!eventId || !uuid.test(eventId)) return reject('schema_violation', '/eventId must be a uuid');
      if (Buffer.byteLength(JSON.stringify(item)) > MAX_EVENT_BYTES)
        return reject('size_violation', 'too large');
      if (typeof event.eventName !== 'string' || event.eventName === '') {
        return reject('schema_violation', '/eventName is required');
      }
      if (Number.isNaN(Date.parse(event.timestamp))) return reject('schema_violation', '/timestamp');
      if (!event.userId && !event.anonymousId) return reject('schema_violation', 'userId or anonymousId');
      const valid = validateProperties(event.eventName, event.properties);
      if (!valid.ok)
        return reject('schema_violation', valid.errors.map((e) => `${e.path} ${e.message}`).join('; '));
      if (rejectedNames.has(event.eventName)) return reject('schema_violation', 'refused by the test');
      if (seen.has(eventId)) {
        duplicates++;
        return { eventId, status: 'duplicate' };
      }
      seen.add(eventId);
      events.push(event);
      return { eventId, status: 'accepted' };
    });

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const gzip = req.headers['content-encoding'] === 'gzip';
      const answer = (status: number, body: unknown, count = 0, headers: Record<string, string> = {}) => {
        requests.push({ status, events: count, gzip, bytes: raw.length });
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST' || req.url !== '/api/telemetry/events')
        return answer(404, { error: 'not found' });
      const fault = faults.shift();
      if (fault?.kind === 'drop') {
        requests.push({ status: 0, events: 0, gzip, bytes: raw.length });
        req.socket.destroy();
        return;
      }
      if (fault?.kind === 'status') {
        return answer(
          fault.status,
          { error: { code: 'TEST_FAULT' } },
          0,
          fault.retryAfter ? { 'retry-after': fault.retryAfter } : {},
        );
      }
      const auth = req.headers.authorization ?? '';
      const user = Buffer.from(auth.replace(/^Basic /, ''), 'base64')
        .toString()
        .split(':')[0];
      if (!auth.startsWith('Basic ') || user !== writeKey)
        return answer(401, { error: { code: 'UNKNOWN_KEY' } });
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return answer(415, {});
      let body: unknown;
      try {
        const text = (gzip ? gunzipSync(raw) : raw).toString('utf8');
        if (Buffer.byteLength(text) > MAX_REQUEST_BYTES) return answer(413, { error: { code: 'TOO_LARGE' } });
        body = JSON.parse(text);
      } catch {
        return answer(400, { error: { code: 'MALFORMED' } });
      }
      const items = Array.isArray(body) ? body : (body as { batch?: unknown[] })?.batch;
      if (!Array.isArray(items)) return answer(400, { error: { code: 'INVALID_BODY' } });
      const results = store(items);
      notify();
      if (fault?.kind === 'store-then-drop') {
        requests.push({ status: 0, events: items.length, gzip, bytes: raw.length });
        req.socket.destroy();
        return;
      }
      answer(200, { success: true, results }, items.length);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  await listen();

  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    writeKey,
    events,
    requests,
    get duplicates() {
      return duplicates;
    },
    fail: (count, fault) => {
      for (let i = 0; i < count; i++) faults.push(fault);
    },
    rejectEventName: (name) => rejectedNames.add(name),
    waitForEvents: (count) =>
      events.length >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve })),
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    start: listen,
  };
}
