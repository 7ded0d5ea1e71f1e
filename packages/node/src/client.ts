/**
 * The client: `track()` queues an event (built and given its eventId at once), a single delivery loop sends
 * batches in order, retries what may succeed later (network errors, 5xx, 429, 503 with `Retry-After`) with
 * backoff and jitter, and settles each event exactly once as accepted, duplicate, rejected, dropped or expired.
 * `flush()` waits for the events tracked before it; `shutdown()` delivers everything within a time limit.
 */
import type { ClientOptions, ResolvedOptions } from './client-options.ts';
import { resolveOptions } from './client-options.ts';
import { retryDelay } from './delivery/backoff.ts';
import { type DeliveryOutcome, type EventResult, Transport } from './delivery/transport.ts';
import { DeeprefNodeError, warn } from './errors.ts';
import {
  buildEvent,
  type Identity,
  type QueuedEvent,
  SENT_AT_BYTES,
  type TrackOptions,
  type TrackProperties,
} from './event.ts';
import { EventQueue } from './queue/event-queue.ts';
import { defaultSpillOptions, SpillJournal } from './queue/spill-journal.ts';

/**
 * Every event `track()` took is in exactly one place, so
 * `tracked + replayed = accepted + duplicates + rejected + dropped + expired + queued + inFlight + blocked`.
 */
export interface ClientStats {
  /** Events passed to `track()` (also those refused at once: too large, after shutdown). */
  tracked: number;
  /** Pending events found in the spill directory at start, from an earlier process. */
  replayed: number;
  /** Stored by the collector. */
  accepted: number;
  /** The collector already had them: a retry of a request whose answer was lost. Stored once. */
  duplicates: number;
  /** Refused as invalid: by the collector (kept there as dead letters), or over `maxEventBytes` here. */
  rejected: number;
  /** Lost on purpose and counted: queue overflow (`drop-oldest`), undelivered at shutdown without a spill, tracked after shutdown. */
  dropped: number;
  /** Older than `maxEventAgeMs` before they could be delivered. */
  expired: number;
  /** Waiting to be sent, in memory and on disk. */
  queued: number;
  /** Of `queued`, those on disk only. */
  spilled: number;
  /** In the batch being sent (or waiting to be retried). */
  inFlight: number;
  /** `track()` calls waiting for room (`overflow: 'block'`). */
  blocked: number;
  /** Attempts that failed and were retried. */
  retries: number;
}

type Counter = 'tracked' | 'accepted' | 'duplicates' | 'rejected' | 'dropped' | 'expired' | 'retries';

const settledNow: Promise<void> = Promise.resolve();

export class DeeprefClient {
  private readonly options: ResolvedOptions;
  private readonly identity: Identity;
  private readonly journal: SpillJournal | undefined;
  private readonly queue: EventQueue;
  private readonly transport: Transport;
  private readonly counters: Record<Counter, number> = {
    tracked: 0,
    accepted: 0,
    duplicates: 0,
    rejected: 0,
    dropped: 0,
    expired: 0,
    retries: 0,
  };
  /** Per code, the count at which it is next reported. */
  private readonly reported = new Map<string, number>();
  private spillFailures = 0;

  /** The batch being delivered; its first `chunkSize` events go in the next request (halved on 413). */
  private inFlight: QueuedEvent[] = [];
  private chunkSize = 0;
  private attempt = 0;
  private loop: Promise<void> | undefined;
  /** Events with a position below this are sent without waiting for a full batch. */
  private drainBefore = 0;
  private readonly flushWaiters: { target: number; resolve: () => void }[] = [];
  private readonly blocked: { event: QueuedEvent; resolve: () => void }[] = [];

  private readonly flushTimer: NodeJS.Timeout;
  private sleepTimer: NodeJS.Timeout | undefined;
  /** While positive, someone awaits delivery, and the backoff timer holds the process open. */
  private holders = 0;
  private readonly stop = new AbortController();
  private closed = false;
  private stopped = false;
  private closing: Promise<ClientStats> | undefined;
  private exitDrainFailed = false;

  constructor(options: ClientOptions) {
    const onError = options.onError ?? warn;
    this.options = resolveOptions(options, onError);
    this.identity = { userId: this.options.userId, anonymousId: this.options.anonymousId };
    this.journal = this.options.spill ? SpillJournal.open(this.options.spill) : undefined;
    this.queue = new EventQueue(
      this.options.maxQueueEvents,
      this.journal,
      this.journal && this.maxSpillBytes(),
    );
    this.transport = new Transport({
      url: this.options.url,
      writeKey: this.options.writeKey,
      compression: this.options.compression,
      requestTimeoutMs: this.options.requestTimeoutMs,
    });
    this.flushTimer = setInterval(() => {
      this.drainBefore = this.queue.nextPosition;
      this.kick();
    }, this.options.flushIntervalMs);
    this.flushTimer.unref();
    if (this.options.flushOnExit) process.on('beforeExit', this.onBeforeExit);
    if (this.queue.length > 0) {
      // Events of an earlier run go out at once.
      this.drainBefore = this.queue.nextPosition;
      this.kick();
    }
  }

  /**
   * Queues an event. Never throws and never rejects: problems go to `onError` and the counters. The promise
   * resolves at once, or, with `overflow: 'block'` and a full queue, once the event has room.
   */
  track<N extends string>(
    eventName: N,
    properties?: TrackProperties<N>,
    options?: TrackOptions,
  ): Promise<void> {
    this.counters.tracked++;
    if (this.closed) {
      this.counters.dropped++;
      this.report(new DeeprefNodeError('DEEPREF_NODE_CLIENT_CLOSED', { eventName }));
      return settledNow;
    }
    let event: QueuedEvent;
    try {
      event = buildEvent(eventName, properties ?? {}, this.identity, options);
    } catch (error) {
      this.counters.rejected++;
      this.report(
        new DeeprefNodeError('DEEPREF_NODE_EVENT_UNSERIALIZABLE', { eventName, detail: String(error) }),
      );
      return settledNow;
    }
    if (event.bytes > this.options.maxEventBytes) {
      this.counters.rejected++;
      this.report(
        new DeeprefNodeError('DEEPREF_NODE_EVENT_TOO_LARGE', {
          eventName,
          bytes: event.bytes,
          limit: this.options.maxEventBytes,
        }),
      );
      return settledNow;
    }
    if (this.blocked.length > 0 || this.queue.isFull()) {
      if (this.options.overflow === 'block') {
        return new Promise((resolve) => this.blocked.push({ event, resolve }));
      }
      this.dropOldest();
    }
    this.enqueue(event);
    return settledNow;
  }

  /**
   * Resolves when every event tracked before the call is settled (delivered, rejected, dropped or expired).
   * While the collector is unreachable it keeps waiting; bound the wait with `shutdown({ timeoutMs })`.
   */
  flush(): Promise<void> {
    const target = this.queue.nextPosition + this.blocked.length;
    if (this.lowestPending() >= target) return settledNow;
    this.drainBefore = Math.max(this.drainBefore, target);
    this.hold();
    const settled = new Promise<void>((resolve) => this.flushWaiters.push({ target, resolve }));
    this.kick();
    return settled.finally(() => this.release());
  }

  /**
   * Stops taking events, delivers what waits within `timeoutMs` (default 10 s), then closes. Events still
   * undelivered stay in the spill directory when there is one (the next client sends them) and are counted
   * as dropped otherwise. Resolves with the final counters; calling it again returns the same promise.
   */
  shutdown(options: { timeoutMs?: number } = {}): Promise<ClientStats> {
    this.closing ??= this.close(options.timeoutMs ?? 10_000);
    return this.closing;
  }

  stats(): ClientStats {
    return {
      ...this.counters,
      replayed: this.journal?.replayed ?? 0,
      queued: this.queue.length,
      spilled: this.queue.spilled,
      inFlight: this.inFlight.length,
      blocked: this.blocked.length,
    };
  }

  // ------------------------------------------------------------------------------------------------------------
  // Queue

  private maxSpillBytes(): number {
    return this.options.spill?.maxBytes ?? defaultSpillOptions.maxBytes;
  }

  private enqueue(event: QueuedEvent): void {
    try {
      const { spillError } = this.queue.push(event);
      if (spillError !== undefined) this.reportSpillFailure(spillError);
    } catch (error) {
      this.counters.dropped++;
      this.reportSpillFailure(error);
      return;
    }
    this.kick();
  }

  private dropOldest(): void {
    while (this.queue.isFull()) {
      if (!this.queue.dropOldest()) break;
      this.counters.dropped++;
      this.reportCounted(
        'DEEPREF_NODE_QUEUE_FULL',
        {
          limit: this.journal
            ? `${this.maxSpillBytes()} bytes on disk`
            : `${this.options.maxQueueEvents} events`,
          dropped: this.counters.dropped,
        },
        this.counters.dropped,
      );
    }
    this.resolveFlushWaiters();
  }

  /** Admits blocked `track()` calls while there is room. */
  private admitBlocked(): void {
    while (this.blocked.length > 0 && !this.queue.isFull()) {
      const { event, resolve } = this.blocked.shift()!;
      this.enqueue(event);
      resolve();
    }
  }

  /** The position of the oldest event not yet settled. */
  private lowestPending(): number {
    return this.inFlight[0]?.position ?? this.queue.headPosition();
  }

  private resolveFlushWaiters(): void {
    if (this.flushWaiters.length === 0) return;
    const lowest = this.lowestPending();
    for (let i = this.flushWaiters.length - 1; i >= 0; i--) {
      const waiter = this.flushWaiters[i]!;
      if (waiter.target <= lowest) {
        this.flushWaiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  // ------------------------------------------------------------------------------------------------------------
  // Delivery

  private shouldSend(): boolean {
    if (this.stopped) return false;
    if (this.inFlight.length > 0) return true;
    const waiting = this.queue.length;
    return waiting > 0 && (waiting >= this.options.batchSize || this.queue.headPosition() < this.drainBefore);
  }

  /** Starts the delivery loop unless it runs or has nothing to do. */
  private kick(): void {
    if (this.loop || !this.shouldSend()) return;
    this.loop = this.deliver()
      .catch((error: unknown) => {
        // Not expected (the transport turns every failure into an outcome); the events stay queued.
        this.report(
          new DeeprefNodeError('DEEPREF_NODE_DELIVERY_RETRYING', {
            detail: String(error),
            pending: this.inFlight.length + this.queue.length,
          }),
        );
      })
      .finally(() => {
        this.loop = undefined;
        this.kick();
      });
  }

  private async deliver(): Promise<void> {
    while (this.shouldSend()) {
      if (this.inFlight.length === 0) {
        this.inFlight = this.queue.take(
          this.options.batchSize,
          this.options.maxRequestBytes,
          SENT_AT_BYTES + 1,
        );
        this.chunkSize = this.inFlight.length;
        this.admitBlocked();
      }
      this.expire();
      if (this.inFlight.length === 0) continue;
      const chunk = this.inFlight.slice(0, this.chunkSize);
      const outcome = await this.transport.send(chunk, this.stop.signal);
      await this.handle(chunk, outcome);
      this.resolveFlushWaiters();
    }
  }

  private async handle(chunk: QueuedEvent[], outcome: DeliveryOutcome): Promise<void> {
    switch (outcome.kind) {
      case 'stored':
        this.attempt = 0;
        this.settleStored(chunk, outcome.results);
        return;
      case 'too-large':
        if (chunk.length > 1) {
          this.chunkSize = Math.ceil(chunk.length / 2);
        } else {
          this.settleRefused(chunk, 413, 'larger than the collector accepts');
        }
        return;
      case 'refused':
        this.settleRefused(chunk, outcome.status, outcome.detail);
        return;
      case 'retry':
        if (this.stopped) return;
        this.counters.retries++;
        this.attempt++;
        if (this.attempt === 1) {
          this.report(
            outcome.unauthorized
              ? new DeeprefNodeError('DEEPREF_NODE_UNAUTHORIZED', { status: outcome.detail })
              : new DeeprefNodeError('DEEPREF_NODE_DELIVERY_RETRYING', {
                  detail: outcome.detail,
                  pending: this.inFlight.length + this.queue.length,
                }),
          );
        }
        await this.sleep(retryDelay(this.attempt, this.options.retry, outcome.retryAfterMs));
        return;
    }
  }

  private settleStored(chunk: QueuedEvent[], results: Map<string, EventResult>): void {
    for (const event of chunk) {
      const result = results.get(event.eventId);
      if (result?.status === 'duplicate') {
        this.counters.duplicates++;
      } else if (result?.status === 'rejected') {
        this.counters.rejected++;
        this.reportCounted(
          'DEEPREF_NODE_EVENT_REJECTED',
          {
            eventId: event.eventId,
            eventName: event.eventName,
            reason: [result.reason, result.message].filter(Boolean).join(': ') || 'no reason given',
          },
          this.counters.rejected,
        );
      } else {
        this.counters.accepted++;
      }
    }
    this.settleChunk(chunk);
  }

  private settleRefused(chunk: QueuedEvent[], status: number, detail: string): void {
    this.counters.rejected += chunk.length;
    this.report(
      new DeeprefNodeError('DEEPREF_NODE_REQUEST_REFUSED', { count: chunk.length, status, detail }),
    );
    this.settleChunk(chunk);
  }

  /** The chunk is the head of the batch in flight. */
  private settleChunk(chunk: QueuedEvent[]): void {
    this.inFlight.splice(0, chunk.length);
    this.queue.settle(chunk);
    this.admitBlocked();
  }

  private expire(): void {
    if (this.options.maxEventAgeMs === Number.POSITIVE_INFINITY) return;
    const oldest = Date.now() - this.options.maxEventAgeMs;
    const expired = this.inFlight.filter((event) => event.time < oldest);
    if (expired.length === 0) return;
    this.inFlight = this.inFlight.filter((event) => event.time >= oldest);
    this.chunkSize = Math.min(Math.max(this.chunkSize, 1), this.inFlight.length);
    this.counters.expired += expired.length;
    this.queue.settle(expired);
    this.reportCounted(
      'DEEPREF_NODE_EVENT_EXPIRED',
      { limit: this.options.maxEventAgeMs, expired: this.counters.expired },
      this.counters.expired,
    );
  }

  /** Waits for a backoff; woken early by the shutdown deadline. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.stop.signal;
      if (signal.aborted) return resolve();
      const wake = () => {
        clearTimeout(timer);
        this.sleepTimer = undefined;
        signal.removeEventListener('abort', wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      if (this.holders === 0) timer.unref();
      this.sleepTimer = timer;
      signal.addEventListener('abort', wake, { once: true });
    });
  }

  private hold(): void {
    this.holders++;
    this.sleepTimer?.ref();
  }

  private release(): void {
    this.holders--;
    if (this.holders === 0) this.sleepTimer?.unref();
  }

  // ------------------------------------------------------------------------------------------------------------
  // Shutdown

  /** Delivers everything that waits, or gives up after `timeoutMs`; true when nothing is left. */
  private async deliverAll(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([this.flush().then(() => true as const), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async close(timeoutMs: number): Promise<ClientStats> {
    this.closed = true;
    clearInterval(this.flushTimer);
    process.off('beforeExit', this.onBeforeExit);
    await this.deliverAll(timeoutMs);
    this.stopped = true;
    this.stop.abort();
    await this.loop;

    const blocked = this.blocked.splice(0);
    this.counters.dropped += blocked.length;
    for (const { resolve } of blocked) resolve();
    const left = this.inFlight.length + this.queue.length;
    if (!this.journal) {
      this.counters.dropped += this.inFlight.length + this.queue.take(Infinity, Infinity, 0).length;
      this.inFlight = [];
    }
    if (left + blocked.length > 0) {
      this.report(
        new DeeprefNodeError('DEEPREF_NODE_SHUTDOWN_INCOMPLETE', {
          pending: left + blocked.length,
          kept: this.journal
            ? `${left} stay in the spill directory and are sent by the next client that opens it`
            : 'they are counted as dropped',
        }),
      );
    }
    this.queue.close();
    for (const waiter of this.flushWaiters.splice(0)) waiter.resolve();
    return this.stats();
  }

  /** The process is about to exit with nothing left to do: deliver what waits, once, within `exitTimeoutMs`. */
  private readonly onBeforeExit = (): void => {
    if (
      this.closed ||
      this.exitDrainFailed ||
      this.lowestPending() >= this.queue.nextPosition + this.blocked.length
    ) {
      return;
    }
    void this.deliverAll(this.options.exitTimeoutMs).then((delivered) => {
      if (delivered) return;
      this.exitDrainFailed = true;
      this.report(
        new DeeprefNodeError('DEEPREF_NODE_SHUTDOWN_INCOMPLETE', {
          pending: this.inFlight.length + this.queue.length,
          kept: this.journal ? 'they stay in the spill directory' : 'they are lost when the process exits',
        }),
      );
    });
  };

  // ------------------------------------------------------------------------------------------------------------
  // Reports

  private report(error: DeeprefNodeError): void {
    try {
      this.options.onError(error);
    } catch {
      // A failing error handler must not break tracking.
    }
  }

  /** For events counted in bulk: the 1st, 10th, 100th, … occurrence is reported; the counters have them all. */
  private reportCounted(
    code: DeeprefNodeError['code'],
    params: Record<string, string | number>,
    count: number,
  ) {
    const next = this.reported.get(code) ?? 1;
    if (count < next) return;
    this.reported.set(code, next * 10);
    this.report(new DeeprefNodeError(code, params));
  }

  private reportSpillFailure(error: unknown): void {
    this.reportCounted('DEEPREF_NODE_SPILL_FAILED', { detail: String(error) }, ++this.spillFailures);
  }
}
