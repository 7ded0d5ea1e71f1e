/**
 * `network_request` for the page's own fetch and XMLHttpRequest calls (opt-in): endpoint without query or
 * fragment (they often carry ids and tokens), method, duration, status (0: no answer) and sizes when known.
 * The SDK's own requests to the collector are left out.
 */
import { cap } from '../context.ts';
import { type Cleanup, ms } from './listen.ts';
import type { CaptureApi } from './options.ts';

const methods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

function bodyBytes(body: unknown): number | undefined {
  if (typeof body === 'string') return new TextEncoder().encode(body).length;
  if (body instanceof Blob) return body.size;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return body.byteLength;
  if (body instanceof URLSearchParams) return body.toString().length;
  return undefined;
}

export function captureNetwork(api: CaptureApi): Cleanup[] {
  // Its routes share the events route's origin and the `/api/` prefix (events, consent).
  const collector = api.eventsUrl.split('?')[0]!.replace('telemetry/events', '');

  const report = (
    url: string,
    method: string,
    started: number,
    status: number,
    sent?: number,
    received?: number,
  ) => {
    let endpoint: URL;
    try {
      endpoint = new URL(url, location.href);
    } catch {
      return;
    }
    const upper = method.toUpperCase();
    api.track('network_request', {
      endpoint: cap(endpoint.origin + endpoint.pathname),
      ...(methods.has(upper) ? { method: upper } : {}),
      duration_ms: ms(performance.now() - started),
      status_code: status >= 0 && status <= 599 ? status : 0,
      ...(sent === undefined ? {} : { request_bytes: sent }),
      ...(received === undefined || Number.isNaN(received) ? {} : { response_bytes: received }),
    });
  };
  const lengthOf = (header: string | null) => (header ? Number(header) : undefined);
  const ours = (url: string) => {
    try {
      return new URL(url, location.href).href.startsWith(collector);
    } catch {
      return false;
    }
  };

  const originalFetch = window.fetch;
  const wrappedFetch: typeof fetch = function (this: unknown, input, init) {
    const request = input instanceof Request ? input : undefined;
    const url = request ? request.url : String(input);
    const started = performance.now();
    const call = originalFetch.call(this, input, init);
    if (ours(url)) return call;
    const method = init?.method ?? request?.method ?? 'GET';
    const sent = bodyBytes(init?.body);
    return call.then(
      (response) => {
        report(url, method, started, response.status, sent, lengthOf(response.headers.get('content-length')));
        return response;
      },
      (error: unknown) => {
        report(url, method, started, 0, sent);
        throw error;
      },
    );
  };
  window.fetch = wrappedFetch;

  const requests = new WeakMap<XMLHttpRequest, { method: string; url: string }>();
  const proto = XMLHttpRequest.prototype;
  const { open, send } = proto;
  proto.open = function (this: XMLHttpRequest, method: string, url: string | URL, ...rest: unknown[]) {
    requests.set(this, { method, url: String(url) });
    return (open as (...args: unknown[]) => void).call(this, method, url, ...rest);
  } as typeof proto.open;
  proto.send = function (this: XMLHttpRequest, body?: Document | XMLHttpRequestBodyInit | null) {
    const request = requests.get(this);
    if (request && !ours(request.url)) {
      const started = performance.now();
      this.addEventListener('loadend', () =>
        report(
          request.url,
          request.method,
          started,
          this.status,
          bodyBytes(body),
          lengthOf(this.getResponseHeader('content-length')),
        ),
      );
    }
    return send.call(this, body);
  };

  return [
    () => {
      if (window.fetch === wrappedFetch) window.fetch = originalFetch;
      proto.open = open;
      proto.send = send;
    },
  ];
}
