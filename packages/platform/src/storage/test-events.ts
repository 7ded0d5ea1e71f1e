/**
 * Stored events and log records for the storage tests: deterministic from a number, spread over a few UTC days.
 */
import type { StoredEvent } from '@deepref/schema';
import type { LogRecord } from '../bus/event-log.ts';

const start = Date.UTC(2026, 10, 25, 22, 0, 0);

/** Event `n`: a uuid made from `n`, 37 minutes after event n-1, so 100 events cover about three days. */
export function storedEvent(n: number, overrides: Partial<StoredEvent> = {}): StoredEvent {
  const time = new Date(start + n * 37 * 60_000).toISOString();
  const hex = n.toString(16).padStart(12, '0');
  return {
    eventId: `00000000-0000-4000-8000-${hex}`,
    type: 'track',
    eventName: n % 3 === 0 ? 'button_click' : 'page_view',
    timestamp: time,
    originalTimestamp: time,
    sentAt: time,
    receivedAt: time,
    sessionId: `session-${n % 7}`,
    ...(n % 2 === 0 ? { userId: `user-${n % 5}` } : {}),
    anonymousId: `anon-${n % 11}`,
    properties: { n, path: `/page/${n % 4}` },
    context: { locale: 'en-US', page: { url: `https://example.com/page/${n % 4}` } },
    sourceId: 'source-1',
    device: { browser: 'Firefox', browserVersion: '133.0', os: 'Linux', deviceType: 'desktop' },
    ip: '203.0.113.0',
    ...overrides,
  };
}

/** Records with offsets `from`, `from + 1`, … (`count` of them), event n at offset n. */
export function logRecords(from: number, count: number): LogRecord[] {
  return Array.from({ length: count }, (_, i) => ({ offset: from + i, event: storedEvent(from + i) }));
}
