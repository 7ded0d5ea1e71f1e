/**
 * Request bodies within the collector's limits: a JSON array of events, each with `sentAt` spliced in at send
 * time (the collector corrects clock skew with it).
 */

/** The collector's limits (packages/platform config): 500 KB a request, 32 KB an event. */
export const maxRequestBytes = 500 * 1024;
export const maxEventBytes = 32 * 1024;
/**
 * Page-exit chunks: browsers allow 64 KiB of `sendBeacon` and `fetch(…, { keepalive })` bodies in flight per
 * page, so each stays under 60 KB.
 */
export const maxBeaconBytes = 60_000;

/** `"sentAt":"2024-01-01T00:00:00.000Z",` */
const sentAtBytes = 36;

/** Bytes of the request body that `events` make (see `requestBody`). */
export function bodyBytes(events: readonly { bytes: number }[]): number {
  let total = 1;
  for (const event of events) total += event.bytes + sentAtBytes + 1;
  return Math.max(total, 2);
}

/**
 * How many events from the front of `events` go into one request: at most `maxEvents`, and a body of at most
 * `maxBytes` unless the first event alone is larger (it then goes alone, and the collector says what it thinks).
 */
export function batchLength(
  events: readonly { bytes: number }[],
  maxEvents: number,
  maxBytes: number,
): number {
  let total = 1;
  let n = 0;
  while (n < events.length && n < maxEvents) {
    total += events[n]!.bytes + sentAtBytes + 1;
    if (total > maxBytes && n > 0) break;
    n++;
  }
  return n;
}

/** The body: `[{"sentAt":…,<event>},…]`, from events stored as JSON objects. */
export function requestBody(events: readonly { json: string }[], sentAt: string): string {
  return `[${events.map((event) => `{"sentAt":"${sentAt}",${event.json.slice(1)}`).join(',')}]`;
}

const encoder = new TextEncoder();
export const utf8Bytes = (text: string): number => encoder.encode(text).length;
