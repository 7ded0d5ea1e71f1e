/**
 * The Fastify plugin: an `api_latency` event per request by route template (`request.routeOptions.url`, with
 * the prefixes of the plugins it is registered in), `resource_usage` samples, and the request's context for
 * `trackApiCall` in handlers. Register it on the root instance, before the routes.
 */
import type { FastifyPluginCallback, FastifyRequest } from 'fastify';
import { errorType } from '../track-api-call.ts';
import { type ApiLatencyOptions, ApiLatencyRecorder, runInRequest, UNMATCHED_ROUTE } from './api-latency.ts';

export type DeeprefFastifyOptions = ApiLatencyOptions;

const timing = Symbol('deepref.timing');
const failure = Symbol('deepref.failure');

interface TimedRequest extends FastifyRequest {
  [timing]?: ReturnType<ApiLatencyRecorder['start']>;
  [failure]?: string;
}

const plugin: FastifyPluginCallback<DeeprefFastifyOptions> = (fastify, options, done) => {
  const recorder = new ApiLatencyRecorder(options);

  fastify.addHook('onRequest', (request: TimedRequest, reply, next) => {
    request[timing] = recorder.start(request.raw, reply.raw, String(request.id), () => ({
      endpoint: request.routeOptions.url ?? UNMATCHED_ROUTE,
      errorType: request[failure],
    }));
    next();
  });
  fastify.addHook('onError', (request: TimedRequest, _reply, error, next) => {
    request[failure] = errorType(error);
    next();
  });
  // The handler runs in the context set here: the body parser before it may have lost an earlier one.
  fastify.addHook('preHandler', (request: TimedRequest, _reply, next) => {
    const context = request[timing];
    if (context) runInRequest(context, next);
    else next();
  });
  fastify.addHook('onClose', (_instance, next) => {
    recorder.stop();
    next();
  });
  done();
};

// What fastify-plugin does: the hooks apply to the whole instance, not only inside an encapsulated child.
Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: '@deepref/node',
});

/** `await app.register(deeprefFastify, { client, service: 'api' })` */
export const deeprefFastify = plugin;
