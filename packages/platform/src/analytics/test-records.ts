/**
 * Crafted events for the analytics tests: one person's event at an exact time, numbered so a test loads its
 * whole dataset in one batch.
 */
import type { DeviceInfo, EventContext, EventType } from '@deepref/schema';
import type { LogRecord } from '../bus/event-log.ts';
import { storedEvent } from '../storage/test-events.ts';

export interface CraftedEvent {
  event: string;
  /** ISO 8601 UTC. */
  at: string;
  /** The user id; with `anonymous`, the anonymous id instead (and no user id). */
  person: string;
  anonymous?: boolean;
  properties?: Record<string, unknown>;
  /** Default `track`; an `identify` carries `traits`. */
  type?: EventType;
  traits?: Record<string, unknown>;
  /** Default `session-<offset % 7>` (from `storedEvent`); null for an event outside any session. */
  session?: string | null;
  device?: DeviceInfo;
  context?: EventContext;
}

/** Log records for `events`, offsets 1, 2, …; every other envelope field comes from `storedEvent`. */
export function craftedRecords(events: CraftedEvent[]): LogRecord[] {
  return events.map((e, i) => {
    const base = storedEvent(i + 1, {
      eventName: e.event,
      timestamp: e.at,
      originalTimestamp: e.at,
      sentAt: e.at,
      receivedAt: e.at,
      anonymousId: e.anonymous === true ? e.person : `anon-of-${e.person}`,
      properties: e.properties ?? {},
      ...(e.type === undefined ? {} : { type: e.type }),
      ...(e.traits === undefined ? {} : { traits: e.traits }),
      ...(typeof e.session === 'string' ? { sessionId: e.session } : {}),
      ...(e.device === undefined ? {} : { device: e.device }),
      ...(e.context === undefined ? {} : { context: e.context }),
    });
    if (e.session === null) delete base.sessionId;
    if (e.anonymous === true) delete base.userId;
    else base.userId = e.person;
    return { offset: i + 1, event: base };
  });
}
