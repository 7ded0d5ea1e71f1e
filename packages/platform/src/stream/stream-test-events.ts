/**
 * Small events for the stream tests: only what the engine and the jobs read, cast to `StoredEvent`.
 */
import type { StoredEvent } from '@deepref/schema';
import type { LogRecord } from '../bus/event-log.ts';

export interface TestEventInput {
  /** Event time in ms, or undefined for an event without a usable timestamp. */
  time: number | undefined;
  /** Arrival time in ms (`receivedAt`). */
  arrival: number;
  eventName?: string;
  userId?: string;
  sessionId?: string;
  properties?: Record<string, unknown>;
}

export function streamEvent(input: TestEventInput, n = 0): StoredEvent {
  const arrival = new Date(input.arrival).toISOString();
  return {
    eventId: `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`,
    type: 'track',
    eventName: input.eventName ?? 'page_view',
    timestamp: input.time === undefined ? 'not a time' : new Date(input.time).toISOString(),
    originalTimestamp: arrival,
    receivedAt: arrival,
    ...(input.userId !== undefined ? { userId: input.userId } : {}),
    ...(input.sessionId !== undefined ? { sessionId: input.sessionId } : {}),
    properties: input.properties ?? {},
    sourceId: 'test',
    device: { deviceType: 'desktop' },
  };
}

/** Records at offsets 1, 2, … */
export function streamRecords(inputs: readonly TestEventInput[]): LogRecord[] {
  return inputs.map((input, i) => ({ offset: i + 1, event: streamEvent(input, i + 1) }));
}

/** Milliseconds since the epoch of an ISO time. */
export const at = (iso: string): number => Date.parse(iso);
