/**
 * Events as the client keeps them: built and serialised once at track time, with the eventId that makes every
 * later retry idempotent. `sentAt` is the one field added at send time, spliced into the stored JSON.
 */
import { randomFillSync } from 'node:crypto';
import type { EventProperties, RegisteredEventName } from '@deepref/schema';
import { LIBRARY_NAME, LIBRARY_VERSION } from './version.ts';

/**
 * The properties `track` accepts for an event name: the registered schema's type for a name of the taxonomy
 * (so `track('api_latency', { duration_ms: '12' })` fails to compile), any object for a custom event.
 */
export type TrackProperties<N extends string> = N extends RegisteredEventName
  ? EventProperties<N>
  : Record<string, unknown>;

/** Who and when, per event; the client's defaults fill what is not given. */
export interface TrackOptions {
  userId?: string;
  anonymousId?: string;
  sessionId?: string;
  /** Event time; defaults to now. */
  timestamp?: Date;
  /** Merged into `context`; `library` is always the SDK's own. */
  context?: Record<string, unknown>;
}

/** One event waiting for delivery. */
export interface QueuedEvent {
  readonly eventId: string;
  readonly eventName: string;
  /** The event as JSON text, `eventId` its first key, without `sentAt`. */
  readonly json: string;
  /** UTF-8 bytes of `json`. */
  readonly bytes: number;
  /** Epoch milliseconds of the event time, for `maxEventAgeMs`. */
  readonly time: number;
  /** Order of arrival in this process; `flush()` waits for positions below its mark. */
  position: number;
  /** The spill segment holding this event, when spilling. */
  segment?: number;
}

export interface Identity {
  userId?: string;
  anonymousId?: string;
  sessionId?: string;
}

export function buildEvent(
  eventName: string,
  properties: object,
  identity: Identity,
  options: TrackOptions = {},
): QueuedEvent {
  const time = options.timestamp?.getTime() ?? Date.now();
  const eventId = uuidv7(time);
  const userId = options.userId ?? identity.userId;
  const anonymousId = options.anonymousId ?? identity.anonymousId;
  const sessionId = options.sessionId ?? identity.sessionId;
  // Key order matters: the spill journal reads `eventId` from a fixed offset.
  const event = {
    eventId,
    eventName,
    timestamp: new Date(time).toISOString(),
    ...(sessionId === undefined ? {} : { sessionId }),
    ...(userId === undefined ? {} : { userId }),
    ...(anonymousId === undefined ? {} : { anonymousId }),
    properties,
    context: { ...options.context, library: { name: LIBRARY_NAME, version: LIBRARY_VERSION } },
  };
  const json = JSON.stringify(event);
  return { eventId, eventName, json, bytes: Buffer.byteLength(json), time, position: -1 };
}

/** `{"eventId":"` is 12 characters; a uuid is 36. */
export const EVENT_ID_OFFSET = 12;
export const EVENT_ID_LENGTH = 36;

/** Bytes `withSentAt` adds to an event: `,"sentAt":"2024-11-23T08:00:00.000Z"`. */
export const SENT_AT_BYTES = 36;

/** The stored JSON with `sentAt` as its last key (the collector corrects clock skew with it). */
export function withSentAt(json: string, sentAt: string): string {
  return `${json.slice(0, -1)},"sentAt":"${sentAt}"}`;
}

/** A queued event from its JSON text, as the spill journal replays it. */
export function eventFromJson(json: string): QueuedEvent | undefined {
  try {
    const value = JSON.parse(json) as { eventId?: unknown; eventName?: unknown; timestamp?: unknown };
    if (typeof value.eventId !== 'string' || typeof value.eventName !== 'string') return undefined;
    const time = typeof value.timestamp === 'string' ? Date.parse(value.timestamp) : Number.NaN;
    return {
      eventId: value.eventId,
      eventName: value.eventName,
      json,
      bytes: Buffer.byteLength(json),
      time: Number.isNaN(time) ? Date.now() : time,
      position: -1,
    };
  } catch {
    return undefined;
  }
}

const entropy = Buffer.alloc(16);

/** RFC 9562 UUID version 7: 48 bits of Unix milliseconds, then random bits; sorts by creation time. */
export function uuidv7(now: number = Date.now()): string {
  randomFillSync(entropy);
  entropy.writeUIntBE(Math.max(0, Math.trunc(now)) % 2 ** 48, 0, 6);
  entropy[6] = (entropy[6]! & 0x0f) | 0x70;
  entropy[8] = (entropy[8]! & 0x3f) | 0x80;
  const hex = entropy.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
