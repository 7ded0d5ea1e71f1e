/**
 * The Express middleware: an `api_latency` event per request by route template, `resource_usage` samples, and
 * the request's context for `trackApiCall` in handlers. Use it first: `app.use(deeprefExpress({ client }))`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ApiLatencyOptions, ApiLatencyRecorder, runInRequest } from './api-latency.ts';
import { markRequest, routeTemplate, watchExpressRoutes } from './express-route-template.ts';

export interface DeeprefExpressOptions extends ApiLatencyOptions {
  /** A request id the client sent is used when it matches `[\w.:-]{1,128}`; otherwise one is made. Default `x-request-id`. */
  requestIdHeader?: string | false;
}

export interface DeeprefExpressMiddleware {
  (request: IncomingMessage, response: ServerResponse, next: (error?: unknown) => void): void;
  /** Stops the resource sampler (call it when the server closes). */
  close(): void;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

export function deeprefExpress(options: DeeprefExpressOptions = {}): DeeprefExpressMiddleware {
  watchExpressRoutes();
  const recorder = new ApiLatencyRecorder(options);
  const header = options.requestIdHeader === undefined ? 'x-request-id' : options.requestIdHeader;
  const middleware = (
    request: IncomingMessage,
    response: ServerResponse,
    next: (error?: unknown) => void,
  ) => {
    const given = header ? request.headers[header] : undefined;
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    markRequest(request);
    const context = recorder.start(request, response, requestId, () => ({
      endpoint: routeTemplate(request),
    }));
    runInRequest(context, () => next());
  };
  return Object.assign(middleware, { close: () => recorder.stop() });
}
