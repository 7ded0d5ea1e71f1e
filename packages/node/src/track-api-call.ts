/**
 * `trackApiCall(eventName)`: the reference's `track_api_call` decorator (§1.3), as a higher-order function and a
 * TC39 method decorator. Each call records one event with `function_name`, `request_id`, `duration_ms`,
 * `status` (`success` | `error`) and, on failure, `error_type` and `error_message`; the function's result,
 * its promise and its error pass through untouched (the very same objects).
 */
import { performance } from 'node:perf_hooks';
import type { DeeprefClient } from './client.ts';
import { resolveClient } from './default-client.ts';
import { uuidv7 } from './event.ts';
import { currentRequest } from './request-context.ts';

export interface TrackApiCallOptions {
  /** Default: the client of `init()`. */
  client?: DeeprefClient;
  /** Recorded as `function_name`. Default: the function's name; for a method `Class.method`. */
  functionName?: string;
  /** Record `error_message` (it may hold personal data). Default true. */
  errorMessages?: boolean;
}

/** The properties of the event `trackApiCall` records. */
export interface ApiCallProperties {
  function_name: string;
  /** The request being handled (its `api_latency` has the same id), or a new id outside a request. */
  request_id: string;
  duration_ms: number;
  status: 'success' | 'error';
  /** The error's class, e.g. `TypeError`. */
  error_type?: string;
  error_message?: string;
}

// biome-ignore lint/suspicious/noExplicitAny: a wrapper must accept every function type
type AnyFunction = (this: any, ...args: any[]) => any;

export interface ApiCallTracker {
  /** Wraps a function: `const create = trackApiCall('document_create_call')(createDocument)`. */
  <F extends AnyFunction>(fn: F): F;
  /** Decorates a method: `@trackApiCall('document_create_call') async create() {}`. */
  <This, Args extends unknown[], Return>(
    method: (this: This, ...args: Args) => Return,
    context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => Return>,
  ): (this: This, ...args: Args) => Return;
}

const MAX_ERROR_TYPE = 128;
const MAX_ERROR_MESSAGE = 1024;

export function trackApiCall(eventName: string, options: TrackApiCallOptions = {}): ApiCallTracker {
  const tracker = (fn: AnyFunction, context?: ClassMethodDecoratorContext): AnyFunction => {
    if (typeof fn !== 'function') throw new TypeError('trackApiCall(eventName) wraps a function');
    if (context !== undefined && context.kind !== 'method') {
      throw new TypeError(`trackApiCall(eventName) decorates methods, not a ${String(context.kind)}`);
    }
    const name = context ? String(context.name) : fn.name || 'anonymous';
    const record = (self: unknown, started: number, startedAt: number, error?: { value: unknown }) => {
      const client = resolveClient(options.client, eventName);
      if (!client) return;
      const request = currentRequest();
      const properties: ApiCallProperties = {
        function_name: options.functionName ?? (context ? qualifiedName(self, name) : name),
        request_id: request?.requestId ?? uuidv7(),
        duration_ms: roundMs(performance.now() - started),
        status: error ? 'error' : 'success',
      };
      if (error) {
        properties.error_type = errorType(error.value);
        if (options.errorMessages !== false) properties.error_message = errorMessage(error.value);
      }
      void client.track(
        eventName,
        { ...properties },
        { ...request?.identity(), timestamp: new Date(startedAt) },
      );
    };

    const wrapped = function (this: unknown, ...args: unknown[]): unknown {
      const startedAt = Date.now();
      const started = performance.now();
      let result: unknown;
      try {
        result = fn.apply(this, args);
      } catch (error) {
        safely(() => record(this, started, startedAt, { value: error }));
        throw error;
      }
      if (isThenable(result)) {
        // A branch of our own: the caller's promise is returned as it is, and still rejects for the caller.
        result.then(
          () => safely(() => record(this, started, startedAt)),
          (error: unknown) => safely(() => record(this, started, startedAt, { value: error })),
        );
      } else {
        safely(() => record(this, started, startedAt));
      }
      return result;
    };
    Object.defineProperty(wrapped, 'name', { value: fn.name, configurable: true });
    Object.defineProperty(wrapped, 'length', { value: fn.length, configurable: true });
    return wrapped;
  };
  return tracker as ApiCallTracker;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** Telemetry must never change what the tracked function does. */
function safely(action: () => void): void {
  try {
    action();
  } catch {
    // Recording failed (a broken identify callback, …); the call's own outcome stands.
  }
}

/** `Class.method` for an instance or static method; the bare name when the receiver has no class. */
function qualifiedName(self: unknown, method: string): string {
  const owner =
    typeof self === 'function'
      ? self.name
      : (self as { constructor?: { name?: unknown } } | null | undefined)?.constructor?.name;
  return typeof owner === 'string' && owner !== '' && owner !== 'Object' ? `${owner}.${method}` : method;
}

/** The error's class: its `name` when it sets one (TypeError, AbortError), else its constructor's name. */
export function errorType(error: unknown): string {
  let type: string;
  if (error instanceof Error) {
    type = error.name !== 'Error' ? error.name : error.constructor?.name || 'Error';
  } else if (error !== null && typeof error === 'object') {
    type = (error as { constructor?: { name?: string } }).constructor?.name || 'Object';
  } else {
    type = error === null ? 'null' : typeof error;
  }
  return type.slice(0, MAX_ERROR_TYPE);
}

function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > MAX_ERROR_MESSAGE ? `${message.slice(0, MAX_ERROR_MESSAGE - 1)}…` : message;
}

export function roundMs(ms: number): number {
  return Math.max(0, Math.round(ms * 1000) / 1000);
}
