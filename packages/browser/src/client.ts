/**
 * The client that `init` returns. `track` gives an event its id, time, identity and context at once and puts it
 * in the persistent queue; the sender delivers the queue on a timer, at a full batch, when the tab is hidden and,
 * by beacon, when the page goes away. Events stay queued until the collector acknowledges them.
 */
import type { EventProperties, Purpose, RegisteredEventName } from '@deepref/schema';
import type { AutocaptureOptions, CaptureApi } from './autocapture/options.ts';
import { loadAutocapture, loadVitals } from './chunks.ts';
import { type Consent, decide, effectiveConsent, privacySignal, purposesOf } from './consent.ts';
import { cap, eventContext, pageFields } from './context.ts';
import { retryDelay } from './delivery/backoff.ts';
import {
  batchLength,
  maxBeaconBytes,
  maxEventBytes,
  maxRequestBytes,
  requestBody,
  utf8Bytes,
} from './delivery/batches.ts';
import { deliver, newStats, type Stats } from './delivery/sender.ts';
import { beacon, collectorUrl, eventsUrl, fetchTransport, sendConsent } from './delivery/transport.ts';
import { anonymousId, touchSession } from './identity.ts';
import { uuidv4, uuidv7 } from './ids.ts';
import { localStorageQueueStore, memoryQueueStore } from './queue/array-queue-store.ts';
import { openIndexedDbQueueStore } from './queue/indexeddb-queue-store.ts';
import type { QueuedEvent, QueueStore } from './queue/queue-store.ts';
import { leaseLock, type SendLock, tabLock, webLock } from './send-lock.ts';
import { localKv, memoryKv } from './storage.ts';

export interface InitOptions {
  /** The source's write key (`deepref keys create`). */
  writeKey: string;
  /** The collector's base URL, e.g. `https://telemetry.example.com`. Default: this page's origin. */
  endpoint?: string;
  /** Send when this many events are queued. Default 50. */
  batchSize?: number;
  /** Send what is queued at least this often. Default 5000 ms. */
  flushIntervalMs?: number;
  /**
   * Drop an event not delivered within this time (counted in `stats().dropped.expired`). Default 5 days: keep
   * it below the collector's deduplication window (7 days), which makes resending safe.
   */
  ttlMs?: number;
  /** The queue's byte budget; past it the oldest events are evicted (counted). Default 2 MiB. */
  maxQueueBytes?: number;
  /** A new session after this long without an event. Default 30 minutes. */
  sessionTimeoutMs?: number;
  /**
   * The consent to start from until the visitor chooses (`setConsent`, remembered across pages). Default:
   * `data_collection` and `analytics` granted, `marketing` and `osint_enrichment` undecided. `'pending'`: every
   * purpose undecided, so events wait in memory and nothing is stored or sent until `setConsent`.
   */
  consent?: Consent | 'pending';
  /**
   * The version of the consent policy the visitor is shown; the collector records each choice under it. Default:
   * the collector's current version.
   */
  policyVersion?: string;
  /** Treat Do Not Track and Global Privacy Control as denying all but `data_collection`. Default true. */
  respectPrivacySignals?: boolean;
  /**
   * Store nothing on the device (no localStorage, IndexedDB or cookies): ids last one page load and the queue
   * lives in memory, so events not delivered when the page goes are lost. Default false.
   */
  cookieless?: boolean;
  /** Automatic events: `true` (default) for all but network requests, `false` for none, or per kind. */
  autocapture?: boolean | AutocaptureOptions;
}

export type Properties = Record<string, unknown>;

export interface TrackOptions {
  /** The consent purposes a custom event needs. Default: the registered event's purposes, else `analytics`. */
  purposes?: Purpose[];
}

/**
 * `track`'s arguments after the name: a registered event's typed properties (required when it has required
 * properties), or any properties for a custom event.
 */
export type TrackArgs<N extends string> = N extends RegisteredEventName
  ? Record<string, never> extends EventProperties<N>
    ? [properties?: EventProperties<N>, options?: TrackOptions]
    : [properties: EventProperties<N>, options?: TrackOptions]
  : [properties?: Properties, options?: TrackOptions];

export interface Client {
  /** Records an event. A registered name (see @deepref/schema) must come with its typed properties. */
  track<N extends string>(eventName: N, ...args: TrackArgs<N>): void;
  /** Records a `page_view` of the current location. */
  page(name?: string, properties?: EventProperties<'page_view'>): void;
  /** Sets the user id for the events that follow (remembered across pages) and records an `identify`. */
  identify(userId: string, traits?: Properties): void;
  /** Forgets the user id, starts a new anonymous id and a new session (call it at logout). */
  reset(): void;
  /**
   * Records the visitor's choice per purpose: remembered here, and recorded by the collector (resent until it has
   * it, before any event that follows). Events waiting for it are stored or dropped accordingly.
   */
  setConsent(consent: Consent): void;
  /** Sends what is queued now; resolves when the queue is empty or a send failed (a retry is scheduled). */
  flush(): Promise<void>;
  /** Stops autocapture and timers and sends what is queued. */
  shutdown(): Promise<void>;
  /** Counts of what became of this page's events. */
  stats(): Stats;
  /** The anonymous id the events carry now (a new one after `reset`), e.g. to tie server-side events to it. */
  anonymousId(): string;
}

declare const __DEEPREF_VERSION__: string | undefined;
const library = {
  name: '@deepref/browser',
  version: typeof __DEEPREF_VERSION__ === 'string' ? __DEEPREF_VERSION__ : '0.0.0-dev',
};

/** Events waiting for an undecided purpose, in memory only. */
const maxHeld = 100;
/** This page's undelivered events that the page-exit beacon may send (it can carry about 60 KB anyway). */
const maxOwn = 500;
const mebibyte = 1024 * 1024;

export function createClient(options: InitOptions): Client {
  const o = {
    batchSize: 50,
    flushIntervalMs: 5000,
    ttlMs: 5 * 86_400_000,
    maxQueueBytes: 2 * mebibyte,
    sessionTimeoutMs: 30 * 60_000,
    ...options,
  };
  if (!o.writeKey) throw new Error('deepref: init needs the writeKey of a source');
  const ns = o.writeKey;
  const url = eventsUrl(o.endpoint ?? location.origin, ns);
  const local = o.cookieless ? undefined : localKv();
  const kv = local ?? memoryKv();
  const signal = o.respectPrivacySignals !== false && privacySignal();
  const consent = () => effectiveConsent(o.consent, signal, kv.get<Consent>('consent'));
  const capture = o.autocapture === false ? undefined : o.autocapture === true ? {} : (o.autocapture ?? {});
  const stats = newStats();
  const tabId = uuidv4();
  const retryKey = `retry:${ns}`;
  /** A consent choice the collector has not recorded yet. */
  const consentKey = `consent-unsent:${ns}`;
  const consentUrl = collectorUrl(o.endpoint ?? location.origin, '/api/v1/consent', ns);
  const spillKey = `spill:${ns}:`;
  /** When the collector last acknowledged a request from any tab (epoch ms). */
  const deliveredKey = `delivered:${ns}`;

  /** This page's events not yet known to be delivered, for the page-exit beacon. */
  const own = new Map<string, QueuedEvent>();
  /** Ids in `own` that the store has not confirmed yet. */
  const unstored = new Set<string>();
  const inFlight = new Set<string>();
  let held: QueuedEvent[] = [];
  let toStore: QueuedEvent[] = [];
  let writes: Promise<unknown> = Promise.resolve();
  let sinceFlush = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let gone = false;
  let warned = false;
  let lastUrl: string | undefined;
  let consentWrite: Promise<void> | undefined;
  const stops: (() => void)[] = [];

  /**
   * The queue and the send lock, once the store is open: IndexedDB shared by the origin's tabs (Web Locks, or a
   * lease in the same database); without IndexedDB, a queue per tab in localStorage; in cookieless mode, memory.
   */
  let opened: QueueStore | undefined;
  const ready: Promise<{ store: QueueStore; lock: SendLock }> = (async () => {
    if (!local) return { store: memoryQueueStore(o.maxQueueBytes), lock: tabLock() };
    let store: QueueStore;
    let lock: SendLock;
    try {
      const idb = await openIndexedDbQueueStore(`deepref:${ns}`, o.maxQueueBytes);
      store = idb;
      lock = webLock(`deepref:${ns}`) ?? leaseLock(idb.lease(tabId));
    } catch {
      const evicted = (count: number) => {
        stats.dropped.budget += count;
      };
      store = localStorageQueueStore(local, ns, tabId, Math.min(o.maxQueueBytes, 2 * mebibyte), evicted);
      lock = tabLock();
    }
    // Events a page wrote to localStorage on its way out, before the store had them.
    for (const key of local.keys(spillKey)) {
      stats.dropped.budget += await store.add(local.get<QueuedEvent[]>(key) ?? []);
      local.remove(key);
    }
    opened = store;
    return { store, lock };
  })();
  const storeReady = ready.then(({ store }) => store);
  const channel =
    local && typeof BroadcastChannel === 'function' ? new BroadcastChannel(`deepref:${ns}`) : undefined;
  const forget = (ids: string[]) => {
    for (const id of ids) own.delete(id);
  };
  if (channel) channel.onmessage = (message) => forget(message.data as string[]);

  const transport = fetchTransport(url);
  const onDelivered = (ids: string[]) => {
    kv.set(deliveredKey, Date.now());
    forget(ids);
    channel?.postMessage(ids);
  };

  /** Sends the unrecorded consent choice, and any made while it was on its way; one request at a time. */
  function postConsent(): Promise<void> {
    // Only with a choice to send: the loop then awaits before it clears `consentWrite`.
    if (!consentWrite && kv.get(consentKey)) {
      consentWrite = (async () => {
        for (let unsent = kv.get(consentKey); unsent; unsent = kv.get(consentKey)) {
          const body = JSON.stringify(unsent);
          if (!(await sendConsent(consentUrl, body))) break;
          if (JSON.stringify(kv.get(consentKey)) === body) kv.remove(consentKey);
        }
        consentWrite = undefined;
      })();
    }
    return consentWrite ?? Promise.resolve();
  }

  /** Queues `purposes` for the collector (with any choice not sent yet) under the ids the events carry now. */
  function recordConsent(purposes: Consent): void {
    const userId = kv.get<string>('userId');
    kv.set(consentKey, {
      anonymousId: anonymousId(kv),
      ...(userId ? { userId } : {}),
      purposes: { ...kv.get<{ purposes: Consent }>(consentKey)?.purposes, ...purposes },
      ...(o.policyVersion ? { policyVersion: o.policyVersion } : {}),
    });
    void postConsent();
  }

  function schedule(ms: number): void {
    clearTimeout(timer);
    if (!stopped) timer = setTimeout(() => run(false, false), ms);
  }

  /** One delivery pass. `force` ignores the backoff (flush, tab hidden, back online). */
  async function run(wait: boolean, force: boolean): Promise<void> {
    clearTimeout(timer);
    let next = o.flushIntervalMs;
    try {
      const retry = kv.get<{ n: number; at: number }>(retryKey);
      if (!force && retry && retry.at > Date.now()) return schedule(retry.at - Date.now());
      await writes;
      // The collector records a grant before the events it lets through.
      await postConsent();
      const { store, lock } = await ready;
      sinceFlush = 0;
      const result = await deliver(
        {
          store,
          lock,
          transport,
          consent,
          stats,
          batchSize: o.batchSize,
          maxRequestBytes,
          ttlMs: o.ttlMs,
          now: Date.now,
          inFlight,
          onDelivered,
        },
        wait,
      );
      if (result.kind === 'retry') {
        const n = retry ? retry.n + 1 : 0;
        // Never sooner than an earlier Retry-After asked, even after a flush() that failed in between.
        const at = Math.max(retry?.at ?? 0, Date.now() + retryDelay(n, result.retryAfterMs));
        next = at - Date.now();
        kv.set(retryKey, { n, at });
        stats.retries++;
        if ([401, 403, 404, 415].includes(result.status) && !warned) {
          warned = true;
          console.warn(
            `deepref: the collector at ${url.split('?')[0]} answered ${result.status}; check the endpoint, the write key and the source's allowed origins. Events stay queued.`,
          );
        }
      } else if (result.kind === 'idle') kv.remove(retryKey);
    } catch {
      // The store failed (storage cleared, quota): try again on the next tick.
    }
    schedule(next);
  }

  function enqueue(event: QueuedEvent): void {
    own.set(event.id, event);
    if (own.size > maxOwn) own.delete(own.keys().next().value!);
    unstored.add(event.id);
    toStore.push(event);
    if (toStore.length === 1) {
      writes = Promise.all([storeReady, writes]).then(async ([store]) => {
        const events = toStore;
        toStore = [];
        stats.dropped.budget += await store.add(events);
        for (const event of events) unstored.delete(event.id);
      });
      writes.catch(() => {});
    }
    // After pagehide nothing else will send it: hand it to the browser now.
    if (gone) leave([event]);
    else if (++sinceFlush >= o.batchSize) void run(false, false);
  }

  /**
   * Page exit: beacon what is not in a request already, and spill to localStorage what the store may not have
   * yet. A beacon's fate is unknown, so its events stay queued (the next page sends them again and the collector
   * answers `duplicate` for those it has) unless the collector acknowledged a request in the last minute and
   * none has failed since: then the beacon is trusted and its events are forgotten, which spares every page
   * change a resend.
   */
  function leave(events: QueuedEvent[]): void {
    const granted = consent();
    const sendable = events.filter((e) => !inFlight.has(e.id) && decide(e.purposes, granted) === 'granted');
    const sent: string[] = [];
    if (navigator.onLine !== false) {
      const sentAt = new Date().toISOString();
      for (let i = 0; i < sendable.length; ) {
        const chunk = sendable.slice(i, i + batchLength(sendable.slice(i), o.batchSize, maxBeaconBytes));
        if (!beacon(url, requestBody(chunk, sentAt))) break;
        for (const event of chunk) sent.push(event.id);
        i += chunk.length;
      }
    }
    if (sent.length && !kv.get(retryKey) && Date.now() - (kv.get<number>(deliveredKey) ?? 0) < 60_000) {
      forget(sent);
      void storeReady.then((store) => store.remove(sent)).catch(() => {});
    }
    const spill = [...own.values()].filter((e) => unstored.has(e.id));
    if (local && spill.length) local.set(spillKey + tabId, spill);
  }

  function record(
    eventName: string,
    properties: Properties = {},
    options: TrackOptions = {},
    extra?: Properties,
  ): void {
    if (stopped) return;
    const purposes = options.purposes ?? purposesOf(eventName);
    const decision = decide(purposes, consent());
    if (decision === 'denied') {
      stats.dropped.consent++;
      return;
    }
    const now = Date.now();
    const session = touchSession(kv, now, o.sessionTimeoutMs);
    if (session.isNew && capture && capture.sessionStart !== false) {
      const utm = new URLSearchParams(location.search);
      const start: Properties = { landing_path: cap(location.pathname) };
      for (const key of ['utm_source', 'utm_medium', 'utm_campaign']) {
        const value = utm.get(key);
        if (value) start[key] = cap(value, 128);
      }
      record('session_start', start);
    }
    const event: Properties = {
      eventId: uuidv7(now),
      eventName,
      timestamp: new Date(now).toISOString(),
      sessionId: session.id,
      anonymousId: anonymousId(kv),
      properties,
      context: eventContext(library),
      ...extra,
    };
    const userId = kv.get<string>('userId');
    if (userId) event.userId = userId;
    const json = JSON.stringify(event);
    const bytes = utf8Bytes(json);
    if (bytes > maxEventBytes) {
      stats.dropped.tooLarge++;
      console.warn(
        `deepref: ${eventName} is ${bytes} bytes of JSON; the collector takes at most ${maxEventBytes}`,
      );
      return;
    }
    stats.tracked++;
    const queued: QueuedEvent = { id: event.eventId as string, json, bytes, purposes, at: now };
    if (decision === 'granted') enqueue(queued);
    else if (held.push(queued) > maxHeld) {
      held.shift();
      stats.dropped.pending++;
    }
  }

  function page(name?: string, properties?: EventProperties<'page_view'>): void {
    const fields = pageFields();
    record('page_view', {
      ...fields,
      referrer: cap(lastUrl ?? document.referrer),
      ...(name ? { name: cap(name, 256) } : {}),
      ...properties,
    });
    lastUrl = fields.url;
  }

  const api: CaptureApi = { track: (name, properties) => record(name, properties), page, eventsUrl: url };
  const onVisibility = () => {
    // After pagehide the beacon has it all; a fetch now would only be cut off.
    if (document.visibilityState === 'hidden' && !gone) void run(false, true);
  };
  const onPageHide = () => {
    gone = true;
    leave([...own.values()]);
    opened?.leave?.();
  };
  const onPageShow = () => {
    gone = false;
  };
  const onOnline = () => {
    kv.remove(retryKey);
    void run(false, true);
  };
  const listeners: [EventTarget, string, () => void][] = [
    [document, 'visibilitychange', onVisibility],
    [window, 'pagehide', onPageHide],
    [window, 'pageshow', onPageShow],
    [window, 'online', onOnline],
  ];
  for (const [target, type, listener] of listeners) target.addEventListener(type, listener);

  if (capture) {
    if (capture.pageViews !== false) page();
    const started = (stop: () => void) => (stopped ? stop() : stops.push(stop));
    const failed = (error: unknown) => console.warn('deepref: autocapture did not load', error);
    loadAutocapture().then((m) => started(m.startAutocapture(api, capture)), failed);
    if (capture.webVitals !== false) loadVitals().then((m) => started(m.startVitals(api)), failed);
  }
  schedule(0);

  return {
    track: (eventName, ...[properties, options]) => record(eventName, properties as Properties, options),
    page,
    identify(userId, traits) {
      kv.set('userId', userId);
      record('identify', {}, {}, { type: 'identify', ...(traits ? { traits } : {}) });
    },
    reset() {
      kv.remove('userId');
      kv.remove('session');
      kv.set('anonymousId', uuidv4());
      // The visitor's choice holds for the new anonymous id too.
      const chosen = kv.get<Consent>('consent');
      if (chosen) recordConsent(chosen);
    },
    setConsent(choice) {
      kv.set('consent', { ...kv.get<Consent>('consent'), ...choice });
      recordConsent(choice);
      const granted = consent();
      const waiting = held;
      held = [];
      for (const event of waiting) {
        const decision = decide(event.purposes, granted);
        if (decision === 'granted') enqueue(event);
        else if (decision === 'denied') stats.dropped.consent++;
        else held.push(event);
      }
      void run(false, false);
    },
    flush: () => run(true, true),
    async shutdown() {
      if (stopped) return;
      stopped = true;
      for (const stop of stops.splice(0)) stop();
      for (const [target, type, listener] of listeners) target.removeEventListener(type, listener);
      await run(true, true);
      clearTimeout(timer);
      channel?.close();
      (await storeReady).close();
    },
    stats: () => structuredClone(stats),
    anonymousId: () => anonymousId(kv),
  };
}
