/**
 * The request being handled, as the Fastify plugin and the Express middleware publish it: calls tracked with
 * `trackApiCall` while handling it carry its request id (the same as its `api_latency` event) and its user.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Identity } from './event.ts';

export interface RequestContext {
  readonly requestId: string;
  /** Who made the request, asked when an event is recorded (so an auth step that runs later is seen). */
  identity(): Identity | undefined;
}

export const requestContext = new AsyncLocalStorage<RequestContext>();

/** The request being handled in this async context, if any. */
export function currentRequest(): RequestContext | undefined {
  return requestContext.getStore();
}
