/**
 * The wire to the collector: `POST /api/telemetry/events?writeKey=…` with a `text/plain` JSON body, which
 * browsers send cross-origin without a CORS preflight (the write key rides in the query for the same reason, and
 * because `sendBeacon` cannot set headers). The visitor's consent choices go the same way to `/api/v1/consent`.
 */
import { parseRetryAfter } from './backoff.ts';

export interface EventResult {
  eventId: string;
  status: 'accepted' | 'duplicate' | 'rejected';
  reason?: string;
  message?: string;
}

/** What one request came to: acknowledged (2xx, durable on the collector) or not, with the HTTP status (0: no answer). */
export type SendResult =
  | { ok: true; results: EventResult[] }
  | { ok: false; status: number; retryAfterMs: number };

export type Transport = (body: string, keepalive: boolean) => Promise<SendResult>;

/** The URL of a collector route, with the write key in the query. */
export function collectorUrl(endpoint: string, route: string, writeKey: string): string {
  return `${endpoint.replace(/\/+$/, '')}${route}?writeKey=${encodeURIComponent(writeKey)}`;
}

export function eventsUrl(endpoint: string, writeKey: string): string {
  return collectorUrl(endpoint, '/api/telemetry/events', writeKey);
}

/**
 * Sends a consent choice; resolves true once the collector has recorded it, or refused it for good (a 4xx other
 * than 429: resending the same body cannot help), false when it should be sent again later.
 */
export async function sendConsent(url: string, body: string): Promise<boolean> {
  try {
    const { status } = await fetch(url, {
      method: 'POST',
      body,
      headers: { 'Content-Type': 'text/plain' },
      keepalive: true,
      credentials: 'omit',
    });
    return status < 500 && status !== 429;
  } catch {
    return false;
  }
}

export function fetchTransport(url: string): Transport {
  return async (body, keepalive) => {
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        body,
        headers: { 'Content-Type': 'text/plain' },
        keepalive,
        credentials: 'omit',
      });
    } catch {
      return { ok: false, status: 0, retryAfterMs: 0 };
    }
    if (!response.ok) {
      return {
        ok: false,
        status: response.status,
        retryAfterMs: parseRetryAfter(response.headers.get('Retry-After')),
      };
    }
    // A 2xx is the collector's promise that the batch is stored; an unreadable answer does not undo it.
    const answer = (await response.json().catch(() => undefined)) as { results?: EventResult[] } | undefined;
    return { ok: true, results: Array.isArray(answer?.results) ? answer.results : [] };
  };
}

/** Hands `body` to the browser to send after the page is gone; false when it would not take it. */
export function beacon(url: string, body: string): boolean {
  try {
    if (navigator.sendBeacon) return navigator.sendBeacon(url, body);
    fetch(url, { method: 'POST', body, headers: { 'Content-Type': 'text/plain' }, keepalive: true }).catch(
      () => {},
    );
    return true;
  } catch {
    return false;
  }
}
