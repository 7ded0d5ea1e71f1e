/**
 * One POST of a batch to the collector (`/api/telemetry/events`, the write key as the HTTP Basic user), and what
 * its answer means for the events in it. Never throws: every failure is an outcome the client acts on.
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { type QueuedEvent, withSentAt } from '../event.ts';
import { LIBRARY_NAME, LIBRARY_VERSION } from '../version.ts';
import { parseRetryAfter } from './backoff.ts';

const gzipAsync = promisify(gzip);

/** The collector's verdict on one event of a stored batch. */
export interface EventResult {
  eventId: string;
  status: 'accepted' | 'duplicate' | 'rejected';
  reason?: string;
  message?: string;
}

export type DeliveryOutcome =
  /** 2xx: the batch is durable on the server; each event accepted, a duplicate of one already stored, or rejected. */
  | { kind: 'stored'; results: Map<string, EventResult> }
  /** 413: the batch is too large for the collector; split it. */
  | { kind: 'too-large' }
  /** A 4xx that no retry changes (400, 415, 422, …): the batch is counted as rejected. */
  | { kind: 'refused'; status: number; detail: string }
  /** Worth another try: network error, timeout, 5xx, 429, 401/403 (a key may be fixed), 404 (a collector starting). */
  | { kind: 'retry'; detail: string; retryAfterMs?: number; unauthorized?: boolean };

export interface TransportOptions {
  /** Full URL of the collector's events route. */
  url: string;
  writeKey: string;
  compression: 'gzip' | 'none';
  requestTimeoutMs: number;
}

/** Bodies smaller than this go uncompressed: gzip would save less than it costs. */
const GZIP_MIN_BYTES = 1024;

export class Transport {
  private readonly authorization: string;

  constructor(private readonly options: TransportOptions) {
    this.authorization = `Basic ${Buffer.from(`${options.writeKey}:`).toString('base64')}`;
  }

  async send(events: readonly QueuedEvent[], stop: AbortSignal): Promise<DeliveryOutcome> {
    const sentAt = new Date().toISOString();
    const json = `[${events.map((event) => withSentAt(event.json, sentAt)).join(',')}]`;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      authorization: this.authorization,
      'user-agent': `${LIBRARY_NAME}/${LIBRARY_VERSION} node/${process.versions.node}`,
    };
    let body: string | Uint8Array<ArrayBuffer> = json;
    if (this.options.compression === 'gzip' && json.length >= GZIP_MIN_BYTES) {
      const compressed = await gzipAsync(json);
      body = new Uint8Array(compressed.buffer as ArrayBuffer, compressed.byteOffset, compressed.byteLength);
      headers['content-encoding'] = 'gzip';
    }

    let response: Response;
    let text: string;
    try {
      response = await fetch(this.options.url, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.any([stop, AbortSignal.timeout(this.options.requestTimeoutMs)]),
      });
      // Read the whole answer so that the connection goes back to the pool.
      text = await response.text();
    } catch (error) {
      return { kind: 'retry', detail: describeNetworkError(error) };
    }
    return interpret(response.status, response.headers.get('retry-after'), text);
  }
}

export function interpret(status: number, retryAfter: string | null, text: string): DeliveryOutcome {
  if (status >= 200 && status < 300) return { kind: 'stored', results: resultsOf(text) };
  const detail = `HTTP ${status}${errorCodeOf(text)}`;
  if (status === 413) return { kind: 'too-large' };
  if (status === 401 || status === 403) return { kind: 'retry', detail, unauthorized: true };
  if (status === 408 || status === 404 || status === 425 || status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(retryAfter);
    return retryAfterMs === undefined ? { kind: 'retry', detail } : { kind: 'retry', detail, retryAfterMs };
  }
  return { kind: 'refused', status, detail };
}

/** The per-event results of a 2xx answer; an event without one is stored (the ack covers the whole request). */
function resultsOf(text: string): Map<string, EventResult> {
  const results = new Map<string, EventResult>();
  try {
    const body = JSON.parse(text) as { results?: unknown };
    if (!Array.isArray(body.results)) return results;
    for (const item of body.results as Partial<EventResult>[]) {
      if (typeof item?.eventId === 'string' && typeof item.status === 'string') {
        results.set(item.eventId, item as EventResult);
      }
    }
  } catch {
    // A 2xx without a readable body still means "stored".
  }
  return results;
}

function errorCodeOf(text: string): string {
  try {
    const code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? ` ${code}` : '';
  } catch {
    return '';
  }
}

function describeNetworkError(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError') return 'the request timed out';
    if (error.name === 'AbortError') return 'the request was aborted';
    const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
    if (typeof cause?.code === 'string') return `network error ${cause.code}`;
    if (typeof cause?.message === 'string') return `network error: ${cause.message}`;
    return `network error: ${error.message}`;
  }
  return 'network error';
}
