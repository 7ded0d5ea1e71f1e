/**
 * The process-wide client that `trackApiCall` and the middleware use when none is passed: created by `init()`.
 */
import { DeeprefClient } from './client.ts';
import type { ClientOptions } from './client-options.ts';
import { DeeprefNodeError, warn } from './errors.ts';

let current: DeeprefClient | undefined;
let warnedNoClient = false;

/** Creates the default client. A second call replaces it (the first keeps working for whoever holds it). */
export function init(options: ClientOptions): DeeprefClient {
  current = new DeeprefClient(options);
  return current;
}

export function defaultClient(): DeeprefClient | undefined {
  return current;
}

/** The client to record with, or undefined (reported once) when there is none. */
export function resolveClient(
  client: DeeprefClient | undefined,
  eventName: string,
): DeeprefClient | undefined {
  const resolved = client ?? current;
  if (!resolved && !warnedNoClient) {
    warnedNoClient = true;
    warn(new DeeprefNodeError('DEEPREF_NODE_NO_CLIENT', { eventName }));
  }
  return resolved;
}
