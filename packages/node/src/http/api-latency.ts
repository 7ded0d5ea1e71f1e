/**
 * What the Fastify plugin and the Express middleware share: the `api_latency` event of one request (by route
 * template, never the raw URL), counting the response's bytes, and the request's context for `trackApiCall`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { EventProperties } from '@deepref/schema';
import type { DeeprefClient } from '../client.ts';
import { resolveClient } from '../default-client.ts';
import type { Identity } from '../event.ts';
import { type RequestContext, requestContext } from '../request-context.ts';
import { ConcurrentRequests, ResourceSampler } from '../resource-sampler.ts';
import { roundMs } from '../track-api-call.ts';

export interface ApiLatencyOptions {
  /** Default: the client of `init()`. */
  client?: DeeprefClient;
  /** Recorded as `service` on `api_latency` and `resource_usage`. */
  service?: string;
  /**
   * Who made the request (e.g. from `req.user` set by an auth step); asked when the request ends, so it sees
   * what later middleware set. Default: the client's own identity.
   */
  identify?: (request: IncomingMessage) => Identity | undefined;
  /** Route templates not to record, e.g. `['/health']`. */
  ignoreRoutes?: string[];
  /** `resource_usage` every this many ms; 0 turns the sampler off. Default 10 000. */
  resourceSampleIntervalMs?: number;
  /**
   * A sampler of your own (shared by several servers, or sampled on demand): its `requests` counter is used and
   * `resourceSampleIntervalMs` is ignored. It is not stopped with the server.
   */
  sampler?: ResourceSampler;
}

export type ApiLatency = EventProperties<'api_latency'>;

/** The template recorded for a request that matched no route (a 404): the path itself may hold ids. */
export const UNMATCHED_ROUTE = '(unmatched)';

/** Recorded when the client went away before the response was complete (nginx's convention). */
export const CLIENT_CLOSED_REQUEST = 499;

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** One instance per plugin or middleware: its options, its request counter and its sampler. */
export class ApiLatencyRecorder {
  readonly requests: ConcurrentRequests;
  /** The sampler this recorder made (and stops); none when given one or told not to sample. */
  private readonly ownSampler: ResourceSampler | undefined;
  private readonly ignored: Set<string>;

  constructor(private readonly options: ApiLatencyOptions) {
    this.ignored = new Set(options.ignoreRoutes ?? []);
    const intervalMs = options.resourceSampleIntervalMs ?? 10_000;
    if (options.sampler) {
      this.requests = options.sampler.requests;
    } else {
      this.requests = new ConcurrentRequests();
      if (intervalMs > 0) {
        this.ownSampler = new ResourceSampler({
          client: options.client,
          intervalMs,
          service: options.service,
          requests: this.requests,
        });
      }
    }
  }

  /**
   * Starts timing a request: counts it in progress, counts the response's bytes, and returns the context to
   * run the handler in. `describe` is asked when the response ends, for the route template and the error.
   */
  start(
    request: IncomingMessage,
    response: ServerResponse,
    requestId: string,
    describe: () => { endpoint: string; errorType?: string | undefined },
  ): RequestContext {
    const startedAt = Date.now();
    const started = performance.now();
    const responseBytes = countResponseBytes(response);
    const identify = this.options.identify;
    const context: RequestContext = {
      requestId,
      identity: () => (identify ? identify(request) : undefined),
    };
    this.requests.enter();
    let done = false;
    const end = (aborted: boolean) => {
      if (done) return;
      done = true;
      this.requests.leave();
      try {
        this.record(request, response, {
          ...describe(),
          requestId,
          context,
          startedAt,
          durationMs: roundMs(performance.now() - started),
          responseBytes: responseBytes(),
          aborted,
        });
      } catch {
        // Telemetry never fails a request.
      }
    };
    response.once('finish', () => end(false));
    response.once('close', () => end(!response.writableFinished));
    return context;
  }

  stop(): void {
    this.ownSampler?.stop();
  }

  private record(
    request: IncomingMessage,
    response: ServerResponse,
    r: {
      endpoint: string;
      errorType?: string | undefined;
      requestId: string;
      context: RequestContext;
      startedAt: number;
      durationMs: number;
      responseBytes: number;
      aborted: boolean;
    },
  ): void {
    const method = request.method ?? '';
    // The schema's methods only; WebDAV and the like are not API calls it describes.
    if (!METHODS.has(method) || this.ignored.has(r.endpoint)) return;
    const client = resolveClient(this.options.client, 'api_latency');
    if (!client) return;
    const properties: ApiLatency = {
      endpoint: r.endpoint,
      method: method as ApiLatency['method'],
      status_code: r.aborted ? CLIENT_CLOSED_REQUEST : clampStatus(response.statusCode),
      duration_ms: r.durationMs,
      response_bytes: method === 'HEAD' ? 0 : r.responseBytes,
      request_id: r.requestId,
    };
    const requestBytes = Number(request.headers['content-length']);
    if (Number.isSafeInteger(requestBytes) && requestBytes >= 0) properties.request_bytes = requestBytes;
    if (this.options.service !== undefined) properties.service = this.options.service;
    if (r.errorType !== undefined) properties.error_type = r.errorType.slice(0, 128);
    void client.track('api_latency', properties, {
      ...r.context.identity(),
      timestamp: new Date(r.startedAt),
    });
  }
}

/** Runs `next` inside the request's context, so `trackApiCall` inside the handler sees it. */
export function runInRequest(context: RequestContext, next: () => void): void {
  requestContext.run(context, next);
}

function clampStatus(status: number): number {
  return Number.isInteger(status) && status >= 100 && status <= 599 ? status : 500;
}

/**
 * Counts the body bytes the application writes (before any transfer encoding), by wrapping `write` and `end`
 * of this one response.
 */
function countResponseBytes(response: ServerResponse): () => number {
  let bytes = 0;
  const count = (chunk: unknown, encoding: unknown) => {
    if (typeof chunk === 'string') {
      bytes += Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
    } else if (chunk instanceof Uint8Array) {
      bytes += chunk.byteLength;
    }
  };
  const write = response.write;
  const end = response.end;
  response.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    count(chunk, rest[0]);
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as ServerResponse['write'];
  response.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
    if (typeof chunk !== 'function') count(chunk, rest[0]);
    return (end as (...args: unknown[]) => ServerResponse).call(this, chunk, ...rest);
  } as ServerResponse['end'];
  return () => bytes;
}
