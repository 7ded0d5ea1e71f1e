/**
 * `/example`: a page that uses the browser SDK against this platform, so that a new user sees events flow, and
 * `/example/events`, which reads back what the log stored for the page's visitor. The page sends with the write
 * key of the `example` source, made on the first visit; each start revokes the previous process's one first, so
 * one example key at most is active. The key is send-only and the page shows it, as every analytics snippet does.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import Type from 'typebox';
import type { EventLog, LogRecord } from '../bus/event-log.ts';
import type { Sources } from '../collector/source-registry.ts';
import { renderExamplePage } from './example-page.ts';

export interface ExampleDeps {
  log: EventLog;
  sources: Sources;
  /** The address the platform listens on (`--host`): the example source allows the origins it is reached at. */
  host: string;
  /** Guards `/example/events`: a reader, or a browser on this machine (so the local demo needs no sign-in). */
  requireLocalOrReader: onRequestHookHandler;
}

/** The source name the example page sends as; the platform replaces a source of this name at every start. */
export const exampleSourceName = 'example';

/** What `/example/events` returns, newest first. */
export const exampleEventLimit = 20;
/**
 * The log has no index by visitor, so the read walks back from the head; it looks at this many records at most,
 * so that a busy log costs each poll a bounded amount of work (older example events then drop out of view).
 */
const maxScannedRecords = 10_000;
const scanPage = 500;

interface ExampleSource {
  id: string;
  writeKey: string;
  allowedOrigins: string[];
  /** The log's head when the source was made: its events all have higher offsets. */
  since: number;
}

const EventsQuery = Type.Object({ anonymousId: Type.String({ minLength: 1, maxLength: 256 }) });
const EventsAnswer = Type.Object({
  events: Type.Array(
    Type.Object({
      offset: Type.Integer(),
      eventId: Type.String(),
      eventName: Type.String(),
      timestamp: Type.String(),
      receivedAt: Type.String(),
      properties: Type.Object({}, { additionalProperties: true }),
    }),
  ),
});

export async function exampleRoutes(app: FastifyInstance, deps: ExampleDeps): Promise<void> {
  await deps.sources.revoke(exampleSourceName);

  let made: Promise<ExampleSource> | undefined;
  const exampleSource = () => {
    made ??= (async () => {
      const since = await deps.log.head();
      const allowedOrigins = ownOrigins(deps.host, (app.server.address() as AddressInfo).port);
      const { source, writeKey } = await deps.sources.create({ name: exampleSourceName, allowedOrigins });
      app.log.info({ sourceId: source.id, allowedOrigins }, 'made the example source');
      return { id: source.id, writeKey, allowedOrigins, since };
    })();
    made.catch(() => {
      made = undefined;
    });
    return made;
  };

  app.get('/example', async (_request, reply) => {
    const { writeKey, allowedOrigins } = await exampleSource();
    const nonce = randomBytes(16).toString('base64');
    return reply
      .headers({
        'cache-control': 'no-store',
        'content-security-policy': [
          "default-src 'none'",
          `script-src 'self' 'nonce-${nonce}'`,
          `style-src 'nonce-${nonce}'`,
          "connect-src 'self'",
          "img-src 'self' data:",
          "form-action 'none'",
          "base-uri 'none'",
          "frame-ancestors 'none'",
        ].join('; '),
        'referrer-policy': 'no-referrer',
        'x-content-type-options': 'nosniff',
      })
      .type('text/html; charset=utf-8')
      .send(renderExamplePage({ writeKey, allowedOrigins, nonce }));
  });

  app.get(
    '/example/events',
    {
      onRequest: deps.requireLocalOrReader,
      schema: { querystring: EventsQuery, response: { 200: EventsAnswer } },
    },
    async (request, reply) => {
      const { anonymousId } = request.query as { anonymousId: string };
      reply.header('cache-control', 'no-store');
      // Before the first /example of this process there is no example source, hence nothing to show.
      const source = made && (await made.catch(() => undefined));
      if (!source) return { events: [] };
      const records = await lastEventsOf(deps.log, source, anonymousId);
      return {
        events: records.map(({ offset, event }) => ({
          offset,
          eventId: event.eventId,
          eventName: event.eventName,
          timestamp: event.timestamp,
          receivedAt: event.receivedAt,
          properties: event.properties,
        })),
      };
    },
  );
}

/** The example source's latest events of one visitor, newest first, walking back from the log's head. */
async function lastEventsOf(log: EventLog, source: ExampleSource, anonymousId: string): Promise<LogRecord[]> {
  const found: LogRecord[] = [];
  let upper = await log.head();
  const lowest = Math.max(source.since, upper - maxScannedRecords);
  while (upper > lowest && found.length < exampleEventLimit) {
    const lower = Math.max(lowest, upper - scanPage);
    // `read` goes forward from an offset; a window of `upper - lower` records holds (lower, upper].
    const records = await log.read(lower, upper - lower);
    for (let i = records.length - 1; i >= 0 && found.length < exampleEventLimit; i--) {
      const record = records[i]!;
      if (record.offset > upper) continue;
      if (record.event.sourceId === source.id && record.event.anonymousId === anonymousId) found.push(record);
    }
    upper = lower;
  }
  return found;
}

/**
 * The origins a browser reaches the platform at. Listening on a loopback address, that is localhost, 127.0.0.1
 * and [::1] alike; on every address (0.0.0.0, ::), those and each of the machine's own addresses.
 */
export function ownOrigins(host: string, port: number): string[] {
  const loopback = ['localhost', '127.0.0.1', '::1'];
  const wildcard = host === '0.0.0.0' || host === '::' || host === '';
  const hosts = new Set<string>();
  if (wildcard || loopback.includes(host) || host.startsWith('127.')) {
    for (const name of loopback) hosts.add(name);
  }
  if (wildcard) {
    for (const addresses of Object.values(os.networkInterfaces())) {
      for (const address of addresses ?? []) {
        if (host === '::' || address.family === 'IPv4') hosts.add(address.address.split('%')[0]!);
      }
    }
  } else {
    hosts.add(host);
  }
  return [...hosts].map(
    (name) => new URL(`http://${name.includes(':') ? `[${name}]` : name}:${port}`).origin,
  );
}
