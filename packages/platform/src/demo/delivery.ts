/**
 * Sends batches of events to a collector's `POST /api/telemetry/events` the way a well-behaved SDK does:
 * a bounded number of requests in flight, `sentAt` stamped at each attempt (the collector corrects clock skew
 * with it), 429/503 retried after their `Retry-After`, network errors and other 5xx retried with backoff, and
 * every event's answer (accepted, duplicate, rejected with its reason) counted.
 */

export interface DeliveryOptions {
  /** The collector's base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  writeKey: string;
  /** Requests in flight. */
  concurrency: number;
  /** Attempts per batch before it is given up; default 10. */
  maxAttempts?: number;
  /** Per request; default 30 s. */
  requestTimeoutMs?: number;
  /** Called after each batch is settled, with the running tally. */
  onBatch?: (tally: Readonly<DeliveryTally>) => void;
  /** How to wait before a retry; tests replace it to record the waits instead of sleeping. */
  sleep?: (ms: number) => Promise<void>;
}

export interface DeliveryTally {
  /** Events in requests the collector answered (200). */
  sent: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  /** Rejected events by the collector's reason (`schema_violation`, …). */
  rejectedByReason: Record<string, number>;
  /** One message per rejection reason, to show what was wrong. */
  rejectionExamples: Record<string, string>;
  /** Events that could not be delivered: refused whole (400/413/415) or given up after retries. */
  notSent: number;
  notSentByReason: Record<string, number>;
  requests: number;
  retries: number;
  /** Set when sending stopped early (an unknown write key): what was wrong and what to do. */
  fatal?: string;
}

interface EventLike {
  eventId: string;
  sentAt?: string;
}

interface CollectorResult {
  eventId?: string;
  status?: string;
  reason?: string;
  message?: string;
}

const MAX_RETRY_AFTER_MS = 60_000;
const MAX_BACKOFF_MS = 30_000;

export function emptyTally(): DeliveryTally {
  return {
    sent: 0,
    accepted: 0,
    duplicates: 0,
    rejected: 0,
    rejectedByReason: {},
    rejectionExamples: {},
    notSent: 0,
    notSentByReason: {},
    requests: 0,
    retries: 0,
  };
}

export function eventsEndpoint(url: string): string {
  const base = url.replace(/\/+$/, '');
  return base.endsWith('/api/telemetry/events') ? base : `${base}/api/telemetry/events`;
}

/** Seconds or an HTTP date, as RFC 9110 allows; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Math.min(MAX_RETRY_AFTER_MS, Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.min(MAX_RETRY_AFTER_MS, Math.max(0, date - now));
}

function backoffMs(attempt: number): number {
  const base = Math.min(MAX_BACKOFF_MS, 250 * 2 ** (attempt - 1));
  return Math.round(base * (0.5 + Math.random() * 0.5));
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function add(counts: Record<string, number>, key: string, n: number): void {
  counts[key] = (counts[key] ?? 0) + n;
}

type Outcome =
  | { kind: 'answered'; results: CollectorResult[] }
  | { kind: 'retry'; waitMs: number; reason: string }
  | { kind: 'refused'; reason: string; message: string; fatal: boolean };

/** Delivers every batch of `batches` (pulled lazily, so at most `concurrency` batches are held here). */
export async function deliver(
  batches: Iterable<EventLike[]>,
  options: DeliveryOptions,
): Promise<DeliveryTally> {
  const tally = emptyTally();
  const endpoint = eventsEndpoint(options.url);
  const authorization = `Basic ${Buffer.from(`${options.writeKey}:`).toString('base64')}`;
  const maxAttempts = options.maxAttempts ?? 10;
  const sleep = options.sleep ?? defaultSleep;
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  const iterator = batches[Symbol.iterator]();
  let exhausted = false;

  const nextBatch = (): EventLike[] | undefined => {
    if (exhausted || tally.fatal !== undefined) return undefined;
    const step = iterator.next();
    if (step.done) {
      exhausted = true;
      return undefined;
    }
    return step.value;
  };

  const attempt = async (batch: EventLike[]): Promise<Outcome> => {
    const sentAt = new Date().toISOString();
    for (const event of batch) event.sentAt = sentAt;
    let response: Response;
    try {
      tally.requests++;
      response = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body: JSON.stringify(batch),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      return { kind: 'retry', waitMs: -1, reason: `network_error (${cause})` };
    }
    const text = await response.text().catch(() => '');
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (response.status === 200) {
      const results = (body as { results?: CollectorResult[] } | undefined)?.results;
      return { kind: 'answered', results: Array.isArray(results) ? results : [] };
    }
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    const code = error?.code ?? `HTTP ${response.status}`;
    if (response.status === 429 || response.status === 503) {
      return { kind: 'retry', waitMs: retryAfterMs(response.headers.get('retry-after')) ?? -1, reason: code };
    }
    if (response.status >= 500) return { kind: 'retry', waitMs: -1, reason: code };
    const message = error?.message ?? (text.slice(0, 200) || response.statusText);
    return {
      kind: 'refused',
      reason: code,
      message,
      fatal: response.status === 401 || response.status === 404,
    };
  };

  const settle = async (batch: EventLike[]): Promise<void> => {
    for (let n = 1; ; n++) {
      const outcome = await attempt(batch);
      if (outcome.kind === 'answered') {
        count(batch, outcome.results);
        return;
      }
      if (outcome.kind === 'refused') {
        tally.notSent += batch.length;
        add(tally.notSentByReason, outcome.reason, batch.length);
        if (outcome.fatal) tally.fatal ??= fatalMessage(outcome.reason, outcome.message, endpoint);
        return;
      }
      if (n >= maxAttempts || tally.fatal !== undefined) {
        tally.notSent += batch.length;
        add(tally.notSentByReason, `gave up: ${outcome.reason}`, batch.length);
        return;
      }
      tally.retries++;
      await sleep(outcome.waitMs >= 0 ? outcome.waitMs : backoffMs(n));
    }
  };

  const count = (batch: EventLike[], results: CollectorResult[]) => {
    tally.sent += batch.length;
    for (const result of results) {
      if (result.status === 'accepted') tally.accepted++;
      else if (result.status === 'duplicate') tally.duplicates++;
      else {
        const reason = result.reason ?? 'unknown';
        tally.rejected++;
        add(tally.rejectedByReason, reason, 1);
        if (result.message && tally.rejectionExamples[reason] === undefined) {
          tally.rejectionExamples[reason] = result.message;
        }
      }
    }
    // An answer without a result per event leaves some unaccounted for; they count as rejected, not as stored.
    const missing = batch.length - results.length;
    if (missing > 0) {
      tally.rejected += missing;
      add(tally.rejectedByReason, 'no_result', missing);
    }
  };

  const worker = async () => {
    for (let batch = nextBatch(); batch !== undefined; batch = nextBatch()) {
      await settle(batch);
      options.onBatch?.(tally);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
  return tally;
}

function fatalMessage(code: string, message: string, endpoint: string): string {
  if (code === 'DEEPREF_UNKNOWN_WRITE_KEY' || code === 'DEEPREF_MISSING_WRITE_KEY' || code === 'HTTP 401') {
    return `The collector at ${endpoint} refused the write key (${code}). Pass --write-key with a key of that platform (\`deepref keys create --name demo\` on its data directory).`;
  }
  return `The collector at ${endpoint} answered ${code}: ${message}. Check --url.`;
}
