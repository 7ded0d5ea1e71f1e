/**
 * The OpenAPI page: `/docs` (Swagger UI) and `/docs/json`, generated from the schemas of the routes registered
 * after it (auth, analytics, real-time, operations). The collector parses its own bodies, so its two routes are
 * described here by hand from the event envelope's schema: documentation only, never used to validate.
 */
import { EventEnvelope } from '@deepref/schema';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { OpenAPIV3 } from 'openapi-types';
import { readerSecurity } from './analytics-routes.ts';
import { sessionCookie } from './auth/auth.ts';

const writeKeyAuth = [{ writeKey: [] }];

/** What `POST /api/telemetry/events` and `POST /v1/{call}` take and answer. */
function collectorPaths(): OpenAPIV3.PathsObject {
  const envelope = JSON.parse(JSON.stringify(EventEnvelope)) as OpenAPIV3.SchemaObject;
  const results: OpenAPIV3.ResponsesObject = {
    200: {
      description: 'Stored durably (or refused per event, with the reason): one result per event, in order',
      content: {
        'application/json': {
          schema: {
            type: 'object',
            properties: {
              success: { type: 'boolean' },
              results: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    eventId: { type: 'string' },
                    status: { type: 'string', enum: ['accepted', 'duplicate', 'rejected', 'dropped'] },
                    reason: { type: 'string' },
                  },
                },
              },
            },
          },
        },
      },
    },
    401: {
      description: 'No write key, or an unknown one (DEEPREF_MISSING_WRITE_KEY, DEEPREF_UNKNOWN_WRITE_KEY)',
    },
    413: { description: 'Body or event over the size limit' },
    429: { description: 'Rate limited; see Retry-After' },
    503: { description: 'At the buffer limit or stopping; see Retry-After' },
  };
  return {
    '/api/telemetry/events': {
      post: {
        tags: ['collector'],
        summary:
          'Send events (the reference wrapper): an array of events, or { batch: [...], context?, sentAt? }',
        security: writeKeyAuth,
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                oneOf: [
                  { type: 'array', items: envelope },
                  {
                    type: 'object',
                    required: ['batch'],
                    properties: { batch: { type: 'array', items: envelope } },
                  },
                ],
              },
            },
          },
        },
        responses: results,
      },
    },
    '/v1/{call}': {
      post: {
        tags: ['collector'],
        summary: 'Segment tracking API: batch, track, identify, page, screen, group, alias (and t, i, p, …)',
        security: writeKeyAuth,
        parameters: [{ name: 'call', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { type: 'object', additionalProperties: true } } },
        },
        responses: results,
      },
    },
  };
}

/**
 * Adds the OpenAPI page to the root instance (not as an encapsulated plugin): the document generator must see
 * the routes of every plugin registered after it.
 */
export async function addApiDocs(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'DeepRef',
        description:
          'Self-hosted, privacy-first telemetry. Read routes need a session (POST /api/v1/auth/login) or a read ' +
          'API key; write keys may only send to the collector. See docs/api.md.',
        version: '0.1.0',
      },
      tags: [
        { name: 'auth', description: 'Sign-in, sessions and read API keys' },
        { name: 'analytics', description: 'Trends, funnels, retention, experiments, …' },
        { name: 'realtime', description: 'Live figures of the stream jobs and their alerts' },
        {
          name: 'collector',
          description: 'Ingest (write keys only); documented here, validated by the collector',
        },
      ],
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: sessionCookie },
          apiKey: { type: 'http', scheme: 'bearer', description: 'A read API key, drk_read_…' },
          writeKey: {
            type: 'http',
            scheme: 'basic',
            description: 'A write key (drk_…) as the user, no password',
          },
        },
      },
    },
    transformObject: (documentObject) => {
      const spec = (documentObject as { openapiObject: OpenAPIV3.Document }).openapiObject;
      // The collector's routes have no schema; the generated entries are replaced by the hand-written ones.
      delete spec.paths['/v1/{call}'];
      return { ...spec, paths: { ...spec.paths, ...collectorPaths() } };
    },
    transform: ({ schema, url, route }) => {
      // Real-time routes come from the stream layer, which does not tag them.
      const tagged =
        url.startsWith('/api/realtime') || url.startsWith('/api/alerts')
          ? { ...schema, tags: ['realtime'], security: readerSecurity }
          : schema;
      // Pages (the dashboard, /example, /sdk/) are not API.
      const api = ['/api/', '/v1/', '/health', '/ready', '/metrics'].some((start) => url.startsWith(start));
      return { schema: route.method === 'HEAD' || !api ? { ...tagged, hide: true } : tagged, url };
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
}
