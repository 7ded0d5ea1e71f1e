/**
 * The collector's HTTP face: `POST /api/telemetry/events` (the reference's browser wrapper) and the Segment
 * tracking API under `/v1/`, so unmodified Segment and RudderStack libraries can send. Each request: body
 * decoded under the limits, write key authenticated, origin checked, every item mapped and stored, and a result
 * per item in the 200 answer, which is sent only once the events are durable.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IngestConfig } from '../config.ts';
import { DeeprefError } from '../errors.ts';
import type { Metrics } from '../ops/metrics.ts';
import { collectorBodyParser } from './body.ts';
import { preflightHeaders, requestCorsHeaders } from './cors.ts';
import type { IngestPipeline, WireFormat } from './pipeline.ts';
import type { SourceRegistry } from './sources.ts';
import { segmentCallOf } from './wire.ts';
import { requireWriteKey } from './write-key.ts';

export interface CollectorDeps {
  pipeline: IngestPipeline;
  sources: SourceRegistry;
  config: IngestConfig;
  metrics: Metrics;
  /** True while the platform is stopping: new requests get 503 with Retry-After. */
  isStopping?: () => boolean;
}

const collectorPaths = ['/api/telemetry/events', '/v1/:call'];

/**
 * What every route a browser SDK posts to shares: bodies read by the collector's parser (gzip, text/plain, limits,
 * DEEPREF_* errors for any media type) and the CORS header on error answers too, so the SDK can read a 413 or a
 * 503's Retry-After.
 */
export function acceptSdkRequests(app: FastifyInstance, limits: Pick<IngestConfig, 'maxRequestBytes'>): void {
  const parse = collectorBodyParser(limits);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (request, payload, done) => {
    parse(request, payload).then(
      (value) => done(null, value),
      (error: Error) => done(error),
    );
  });
  app.addHook('onSend', async (request, reply) => {
    const origin = request.headers.origin;
    if (origin && !reply.hasHeader('access-control-allow-origin')) {
      reply.header('access-control-allow-origin', origin);
      reply.header('access-control-expose-headers', 'Retry-After');
      reply.header('vary', 'Origin');
    }
  });
}

export async function collectorRoutes(app: FastifyInstance, deps: CollectorDeps): Promise<void> {
  acceptSdkRequests(app, deps.config);
  app.addHook('onError', async (_request, _reply, error) => {
    if (error instanceof DeeprefError) deps.metrics.requestsRefused.inc({ code: error.code });
  });

  for (const url of collectorPaths) {
    app.options(url, async (request, reply) => {
      reply.headers(preflightHeaders(request.headers.origin)).code(204).send();
    });
  }

  const handle = async (format: WireFormat, request: FastifyRequest, reply: FastifyReply) => {
    if (deps.isStopping?.()) throw new DeeprefError('DEEPREF_SHUTTING_DOWN', {}, { retryAfter: 2 });
    const receivedAt = new Date();
    const writeKey = requireWriteKey({ headers: request.headers, body: request.body, query: request.query });
    const source = await deps.sources.authenticate(writeKey);
    if (!source) throw new DeeprefError('DEEPREF_UNKNOWN_WRITE_KEY');
    reply.headers(requestCorsHeaders(source, request.headers.origin));
    const items = deps.pipeline.map(format, request.body, { source, receivedAt });
    const results = await deps.pipeline.store(items, {
      source,
      receivedAt,
      request: {
        ip: request.ip,
        userAgent: request.headers['user-agent'],
        privacySignal: request.headers['sec-gpc'] === '1' || request.headers.dnt === '1',
      },
    });
    return reply.send({ success: true, results });
  };

  app.post('/api/telemetry/events', (request, reply) => handle({ kind: 'reference' }, request, reply));
  app.post('/v1/:call', (request, reply) => {
    const { call } = request.params as { call: string };
    if (!segmentCallOf(call))
      throw new DeeprefError('DEEPREF_NOT_FOUND', { what: `Segment call /v1/${call.slice(0, 40)}` });
    return handle({ kind: 'segment', path: call }, request, reply);
  });
}
