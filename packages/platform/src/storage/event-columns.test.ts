import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventColumns, eventRow, utcTimestamp } from './event-columns.ts';
import { storedEvent } from './test-events.ts';

describe('eventRow', () => {
  it('writes a lone surrogate in a JSON column as U+FFFD, and an escaped backslash before `ud800` as it is', () => {
    // No warehouse's JSON reader takes the escape of a lone surrogate (acked-events-load.e2e.test.ts found it).
    const properties = { '\ud800': ['\udc00', 'pair 😀'], 'slash \\ud800': '\\\udbff' };
    const row = eventRow({ offset: 1, event: storedEvent(1, { properties, traits: { t: 'a\udfffb' } }) });
    const named = Object.fromEntries(eventColumns.map((column, i) => [column.name, row[i]]));
    expect(JSON.parse(named.properties as string)).toEqual({
      '\ufffd': ['\ufffd', 'pair 😀'],
      'slash \\ud800': '\\\ufffd',
    });
    expect(named.traits).toBe('{"t":"a\\ufffdb"}');
  });

  it('maps a stored event onto the columns, in order', () => {
    const row = eventRow({
      offset: 42,
      event: storedEvent(2, { traits: { plan: 'pro' }, groupId: 'g-1', previousId: 'p-1' }),
    });
    const named = Object.fromEntries(eventColumns.map((column, i) => [column.name, row[i]]));
    expect(named).toEqual({
      log_offset: 42,
      event_id: '00000000-0000-4000-8000-000000000002',
      type: 'track',
      event_name: 'page_view',
      timestamp: '2026-11-25T23:14:00.000Z',
      original_timestamp: '2026-11-25T23:14:00.000Z',
      sent_at: '2026-11-25T23:14:00.000Z',
      received_at: '2026-11-25T23:14:00.000Z',
      event_date: '2026-11-25',
      session_id: 'session-2',
      user_id: 'user-2',
      anonymous_id: 'anon-2',
      group_id: 'g-1',
      previous_id: 'p-1',
      source_id: 'source-1',
      properties: '{"n":2,"path":"/page/2"}',
      traits: '{"plan":"pro"}',
      context: '{"locale":"en-US","page":{"url":"https://example.com/page/2"}}',
      browser: 'Firefox',
      browser_version: '133.0',
      os: 'Linux',
      os_version: null,
      device_type: 'desktop',
      ip: '203.0.113.0',
    });
  });

  it('dates an event by the UTC day of its corrected time, whatever offset the client wrote', () => {
    const row = eventRow({ offset: 1, event: storedEvent(1, { timestamp: '2026-11-27T01:30:00+03:00' }) });
    expect(row[4]).toBe('2026-11-26T22:30:00.000Z');
    expect(row[8]).toBe('2026-11-26');
  });

  it('falls back to the receive time for the date when the event time is unreadable', () => {
    const row = eventRow({
      offset: 1,
      event: storedEvent(1, { timestamp: '2026-02-30T00:00:00Z', receivedAt: '2026-03-01T08:00:00.000Z' }),
    });
    expect(row[4]).toBe('2026-03-01T08:00:00.000Z');
    expect(row[8]).toBe('2026-03-01');
  });
});

describe('utcTimestamp', () => {
  it('keeps UTC times as written, sub-millisecond digits included', () => {
    expect(utcTimestamp('2026-11-27T10:00:00.123456Z')).toBe('2026-11-27T10:00:00.123456Z');
    expect(utcTimestamp('2026-11-27T10:00:00Z')).toBe('2026-11-27T10:00:00Z');
  });

  it('converts other offsets to UTC', () => {
    expect(utcTimestamp('2026-11-27T10:00:00.5-05:00')).toBe('2026-11-27T15:00:00.500Z');
  });

  it('gives null for times a database would refuse', () => {
    expect(utcTimestamp('2026-02-29T00:00:00Z')).toBeNull();
    expect(utcTimestamp('2028-02-29T00:00:00Z')).toBe('2028-02-29T00:00:00Z');
    // Year 0 is a leap year in the proleptic Gregorian calendar, as DuckDB reads it (1 BC).
    expect(utcTimestamp('0000-02-29T00:00:00Z')).toBe('0000-02-29T00:00:00Z');
    expect(utcTimestamp('2026-12-31T23:59:60Z')).toBeNull();
    expect(utcTimestamp('2026-13-01T00:00:00Z')).toBeNull();
    expect(utcTimestamp('yesterday')).toBeNull();
    expect(utcTimestamp(undefined)).toBeNull();
  });

  it('gives null for an offset that moves the time past the years 0000 to 9999', () => {
    // In UTC these are -000001-12-31T23:30:00.000Z and +010000-01-01T00:30:00.000Z, which no warehouse loads.
    expect(utcTimestamp('0000-01-01T00:30:00+01:00')).toBeNull();
    expect(utcTimestamp('9999-12-31T23:30:00-01:00')).toBeNull();
    expect(utcTimestamp('0000-01-01T01:30:00+01:00')).toBe('0000-01-01T00:30:00.000Z');
  });
  it('keeps a UTC time exactly when its fields name a real instant, as a regex and Date decide it', () => {
    /** The straightforward check: the written form by regex, the ranges by Date (proleptic, year 0 a leap year). */
    function keptByDate(time: string): boolean {
      const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?Z$/.exec(time);
      if (!match) return false;
      const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as number[];
      const date = new Date(0);
      date.setUTCFullYear(year!, month! - 1, day);
      date.setUTCHours(hour!, minute, second);
      return date.toISOString().slice(0, 19) === time.slice(0, 19);
    }
    const utcLike = fc
      .tuple(
        fc.date({
          min: new Date(Date.UTC(0, 0, 1)),
          max: new Date(Date.UTC(9999, 11, 31)),
          noInvalidDate: true,
        }),
        fc.option(fc.tuple(fc.constantFrom(2, 5, 8, 11, 14, 17), fc.nat(99))),
        fc.constantFrom('', '.', '.1', '.123', '.123456789', '.1234567890', '.12a'),
        fc.constantFrom('Z', 'Z', 'z', '+00:00', ''),
      )
      .map(([date, field, fraction, zone]) => {
        const iso = date.toISOString().slice(0, 19);
        const text = field
          ? iso.slice(0, field[0]) + String(field[1]).padStart(2, '0') + iso.slice(field[0] + 2)
          : iso;
        return text + fraction + zone;
      });
    fc.assert(
      fc.property(utcLike, (time) => {
        if (keptByDate(time)) expect(utcTimestamp(time)).toBe(time);
        else expect(utcTimestamp(time)).not.toBe(time);
      }),
      { numRuns: 5_000 },
    );
  });
});
