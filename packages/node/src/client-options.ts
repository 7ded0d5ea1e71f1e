/**
 * The client's options, their defaults and their checks. The defaults fit the collector's limits
 * (500 KB per request, 32 KB per event) and the reference's batching (a batch every few seconds).
 */
import os from 'node:os';
import { DeeprefNodeError } from './errors.ts';
import type { SpillOptions } from './queue/spill-journal.ts';

export interface ClientOptions {
  /** The source's write key (`deepref keys create --name NAME`), sent as the HTTP Basic user. */
  writeKey: string;
  /**
   * The collector's base URL, e.g. `http://localhost:8080`; events go to `<endpoint>/api/telemetry/events`.
   * A URL that already ends with that path is used as it is.
   */
  endpoint: string;
  /** Default identity of server events. Default `server:<hostname>`, unless `userId` is set. */
  anonymousId?: string;
  /** Default user id of every event (a service account, a tenant); per-event `userId` wins. */
  userId?: string;
  /** Events per request; a batch is sent as soon as this many wait. Default 100. */
  batchSize?: number;
  /** Waiting events are sent at least this often. Default 5000. */
  flushIntervalMs?: number;
  /** The collector's request limit, in bytes of JSON. Default 500 KiB. */
  maxRequestBytes?: number;
  /** The collector's event limit; a larger event is dropped at `track()` (counted as rejected). Default 32 KiB. */
  maxEventBytes?: number;
  /** Events waiting in memory (the batch in flight not counted). Default 10 000. */
  maxQueueEvents?: number;
  /**
   * When the queue is full (`maxQueueEvents`, or `spill.maxBytes` when spilling): `'drop-oldest'` drops the
   * oldest waiting event (counted in `stats().dropped`); `'block'` makes `track()` return a promise that
   * resolves once the event has room (await it to slow the producer down). Default `'drop-oldest'`.
   */
  overflow?: 'drop-oldest' | 'block';
  /** Keep the queue in an append-only journal on disk as well; replayed by the next client on the same directory. */
  spill?: SpillOptions;
  retry?: {
    /** First backoff step. Default 500. */
    initialDelayMs?: number;
    /** Longest backoff step. Default 60 000. */
    maxDelayMs?: number;
  };
  /** Events older than this (by event time) are dropped instead of sent (counted as expired). Default: no limit. */
  maxEventAgeMs?: number;
  /** One request's time limit; past it the request counts as failed and is retried. Default 15 000. */
  requestTimeoutMs?: number;
  /** gzip request bodies over 1 KiB. Default `'gzip'`. */
  compression?: 'gzip' | 'none';
  /** On the process's `beforeExit`, deliver what waits (bounded by `exitTimeoutMs`). Default true. */
  flushOnExit?: boolean;
  /** Default 10 000. */
  exitTimeoutMs?: number;
  /** Receives every problem the client meets (it never throws at the tracking code). Default: a process warning. */
  onError?: (error: DeeprefNodeError) => void;
}

export type ResolvedOptions = Required<
  Omit<ClientOptions, 'spill' | 'retry' | 'maxEventAgeMs' | 'userId' | 'anonymousId'>
> & {
  anonymousId: string | undefined;
  spill: SpillOptions | undefined;
  retry: { initialDelayMs: number; maxDelayMs: number };
  maxEventAgeMs: number;
  userId: string | undefined;
  url: string;
};

export const EVENTS_PATH = '/api/telemetry/events';

export function resolveOptions(
  options: ClientOptions,
  onError: (error: DeeprefNodeError) => void,
): ResolvedOptions {
  const invalid = (detail: string) => new DeeprefNodeError('DEEPREF_NODE_INVALID_OPTIONS', { detail });
  if (typeof options.writeKey !== 'string' || options.writeKey === '')
    throw invalid('`writeKey` is required');
  let url: URL;
  try {
    url = new URL(options.endpoint);
  } catch {
    throw invalid('`endpoint` must be an absolute http(s) URL such as http://localhost:8080');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw invalid('`endpoint` must be http or https');
  const base = url.href.replace(/\/+$/, '');
  const resolved: ResolvedOptions = {
    writeKey: options.writeKey,
    endpoint: options.endpoint,
    url: base.endsWith(EVENTS_PATH) ? base : `${base}${EVENTS_PATH}`,
    userId: options.userId,
    anonymousId:
      options.anonymousId ?? (options.userId === undefined ? `server:${os.hostname()}` : undefined),
    batchSize: options.batchSize ?? 100,
    flushIntervalMs: options.flushIntervalMs ?? 5000,
    maxRequestBytes: options.maxRequestBytes ?? 500 * 1024,
    maxEventBytes: options.maxEventBytes ?? 32 * 1024,
    maxQueueEvents: options.maxQueueEvents ?? 10_000,
    overflow: options.overflow ?? 'drop-oldest',
    spill: options.spill,
    retry: { initialDelayMs: 500, maxDelayMs: 60_000, ...options.retry },
    maxEventAgeMs: options.maxEventAgeMs ?? Number.POSITIVE_INFINITY,
    requestTimeoutMs: options.requestTimeoutMs ?? 15_000,
    compression: options.compression ?? 'gzip',
    flushOnExit: options.flushOnExit ?? true,
    exitTimeoutMs: options.exitTimeoutMs ?? 10_000,
    onError,
  };
  for (const key of [
    'batchSize',
    'flushIntervalMs',
    'maxRequestBytes',
    'maxEventBytes',
    'maxQueueEvents',
  ] as const) {
    if (!Number.isInteger(resolved[key]) || resolved[key] <= 0)
      throw invalid(`\`${key}\` must be a positive integer`);
  }
  if (resolved.maxQueueEvents < resolved.batchSize)
    throw invalid('`maxQueueEvents` must be at least `batchSize`');
  if (resolved.maxEventBytes > resolved.maxRequestBytes) {
    throw invalid('`maxEventBytes` must not exceed `maxRequestBytes`');
  }
  if (resolved.overflow !== 'drop-oldest' && resolved.overflow !== 'block') {
    throw invalid("`overflow` must be 'drop-oldest' or 'block'");
  }
  return resolved;
}
