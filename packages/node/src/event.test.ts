import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  buildEvent,
  EVENT_ID_LENGTH,
  EVENT_ID_OFFSET,
  eventFromJson,
  SENT_AT_BYTES,
  uuidv7,
  withSentAt,
} from './event.ts';
import { LIBRARY_NAME, LIBRARY_VERSION } from './version.ts';

describe('events', () => {
  it('makes RFC 9562 version 7 ids that carry the event time', () => {
    const id = uuidv7(Date.UTC(2024, 10, 23, 8, 0, 0));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(Date.UTC(2024, 10, 23, 8, 0, 0));
    expect(new Set(Array.from({ length: 1000 }, () => uuidv7(0))).size).toBe(1000);
  });

  it('serialises once, with the eventId first and the library in the context', () => {
    const event = buildEvent(
      'api_latency',
      { endpoint: '/documents/:id' },
      { anonymousId: 'server:host' },
      { userId: 'user-1', sessionId: 's-1', timestamp: new Date('2024-11-23T08:00:00.000Z') },
    );
    expect(event.json.slice(EVENT_ID_OFFSET, EVENT_ID_OFFSET + EVENT_ID_LENGTH)).toBe(event.eventId);
    expect(JSON.parse(event.json)).toEqual({
      eventId: event.eventId,
      eventName: 'api_latency',
      timestamp: '2024-11-23T08:00:00.000Z',
      sessionId: 's-1',
      userId: 'user-1',
      anonymousId: 'server:host',
      properties: { endpoint: '/documents/:id' },
      context: { library: { name: '@deepref/node', version: LIBRARY_VERSION } },
    });
    expect(event.bytes).toBe(Buffer.byteLength(event.json));
    expect(eventFromJson(event.json)).toMatchObject({
      eventId: event.eventId,
      time: event.time,
      bytes: event.bytes,
    });
  });

  it('adds sentAt as the last key, in exactly SENT_AT_BYTES bytes', () => {
    const event = buildEvent('x', {}, { anonymousId: 'a' });
    const sent = withSentAt(event.json, '2024-11-23T08:00:00.000Z');
    expect(JSON.parse(sent).sentAt).toBe('2024-11-23T08:00:00.000Z');
    expect(Buffer.byteLength(sent) - event.bytes).toBe(SENT_AT_BYTES);
  });

  it('names the library as package.json does', () => {
    const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect([LIBRARY_NAME, LIBRARY_VERSION]).toEqual([pkg.name, pkg.version]);
  });
});
