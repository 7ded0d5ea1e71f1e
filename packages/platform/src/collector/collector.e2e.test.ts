/**
 * The collector end to end, through the real HTTP server and real files: per-event validation and dead letters,
 * deduplication of retries, clock-skew correction and enrichment, and the warehouse and the lake agreeing with the
 * log. Each suite runs once per adapter set.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { StoredEvent } from '@deepref/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdapterSet, adapterSets } from '../testing/adapter-sets.ts';
import {
  counterDeltas,
  deadLettersAfter,
  expectStoresAgree,
  filesContaining,
  filesUnder,
  lastDeadLetterId,
  rowsMentioning,
  scrapeMetrics,
  storedEvents,
  stringValuesIn,
} from '../testing/e2e-checks.ts';
import type { TestPlatform } from '../testing/test-platform.ts';
import { rawTruncatedMarker } from './wire.ts';

const chromeUserAgent =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const chromeDevice = {
  browser: 'Chrome',
  browserVersion: '120.0.0.0',
  os: 'Windows',
  osVersion: '10',
  deviceType: 'desktop',
};
const asChrome = { headers: { 'user-agent': chromeUserAgent } };
const eventTime = '2026-03-01T12:00:00.000Z';
const uuidV5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const counters = {
  received: ['deepref_events_received_total'],
  accepted: ['deepref_events_accepted_total'],
  deduplicated: ['deepref_events_deduplicated_total'],
  rejectedSchema: ['deepref_events_rejected_total', { reason: 'schema_violation' }],
  rejectedIdentity: ['deepref_events_rejected_total', { reason: 'missing_identity' }],
  rejectedFormat: ['deepref_events_rejected_total', { reason: 'payload_format' }],
  rejectedSize: ['deepref_events_rejected_total', { reason: 'size_violation' }],
  rejectedUnknown: ['deepref_events_rejected_total', { reason: 'unknown_event' }],
  deadSchema: ['deepref_dead_letters_total', { reason: 'schema_violation' }],
  deadIdentity: ['deepref_dead_letters_total', { reason: 'missing_identity' }],
  deadFormat: ['deepref_dead_letters_total', { reason: 'payload_format' }],
  deadSize: ['deepref_dead_letters_total', { reason: 'size_violation' }],
  deadUnknown: ['deepref_dead_letters_total', { reason: 'unknown_event' }],
} satisfies Record<string, [string, Record<string, string>?]>;

/** A registered event (`search_query`) that passes strict mode and its property schema. */
function searchEvent(overrides: Record<string, unknown> = {}) {
  return {
    eventId: randomUUID(),
    eventName: 'search_query',
    timestamp: eventTime,
    sessionId: 'sess-1',
    userId: 'user-1',
    properties: { search_id: 'search-1', query_length: 12, result_count: 3 },
    ...overrides,
  };
}

for (const adapters of adapterSets) {
  describe(`collector, end to end (${adapters.name})`, () => {
    validationAndDedupSuite(adapters);
    skewAndPrivacySuite(adapters);
  });
}

function validationAndDedupSuite(adapters: AdapterSet) {
  let tp: TestPlatform;
  beforeAll(async () => {
    tp = await adapters.start({ ingest: { strict: true } });
  });
  afterAll(async () => {
    await tp?.close();
  });

  describe('per-event validation and dead letters', () => {
    it('answers every item of a mixed batch in order, stores the valid ones and dead-letters the rest', async () => {
      const valid = searchEvent();
      const retriedInBatch = { ...valid };
      const schemaViolation = searchEvent({
        properties: { search_id: 'search-2', query_length: 'SECRET-length-7f3a', result_count: -5 },
      });
      const { userId: _userId, ...missingIdentity } = searchEvent({ sessionId: 'sess-anonymous-9' });
      const oversize = searchEvent({
        properties: {
          search_id: 'search-3',
          query_length: 33_000,
          result_count: 0,
          query_text: 'q'.repeat(33_000),
        },
      });
      const oversizeJson = JSON.stringify(oversize);
      const unknownInStrictMode = searchEvent({ eventName: 'mystery_event', properties: { colour: 'teal' } });
      const validPage = {
        eventId: randomUUID(),
        eventName: 'page_view',
        timestamp: eventTime,
        anonymousId: 'anon-1',
        properties: { path: '/pricing', title: 'Pricing' },
      };
      const batch = [
        valid,
        retriedInBatch,
        schemaViolation,
        missingIdentity,
        42,
        null,
        'just a string',
        [1, 2],
        oversize,
        unknownInStrictMode,
        validPage,
      ];
      const lastId = await lastDeadLetterId(tp);
      const before = await scrapeMetrics(tp);
      const sentFrom = Date.now();

      const response = await tp.post('/api/telemetry/events', batch, asChrome);

      const sentUntil = Date.now();
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        success: true,
        results: [
          { eventId: valid.eventId, status: 'accepted' },
          { eventId: valid.eventId, status: 'duplicate' },
          {
            eventId: schemaViolation.eventId,
            status: 'rejected',
            reason: 'schema_violation',
            message: '/properties/query_length must be integer; /properties/result_count must be >= 0',
          },
          {
            eventId: missingIdentity.eventId,
            status: 'rejected',
            reason: 'missing_identity',
            message: 'needs userId or anonymousId',
          },
          {
            status: 'rejected',
            reason: 'payload_format',
            message: 'the item is a number, not a JSON object',
          },
          { status: 'rejected', reason: 'payload_format', message: 'the item is null, not a JSON object' },
          {
            status: 'rejected',
            reason: 'payload_format',
            message: 'the item is a string, not a JSON object',
          },
          {
            status: 'rejected',
            reason: 'payload_format',
            message: 'the item is an array, not a JSON object',
          },
          {
            eventId: oversize.eventId,
            status: 'rejected',
            reason: 'size_violation',
            message: `the event is ${Buffer.byteLength(oversizeJson)} bytes of JSON; the limit is 32768`,
          },
          {
            eventId: unknownInStrictMode.eventId,
            status: 'rejected',
            reason: 'unknown_event',
            message: 'the event name is not registered and the collector is in strict mode',
          },
          { eventId: validPage.eventId, status: 'accepted' },
        ],
      });

      // Messages name paths and rules, never what was sent.
      for (const [i, result] of response.body.results.entries()) {
        if (result.status !== 'rejected') continue;
        for (const leaf of stringValuesIn(batch[i]).filter((leaf) => leaf.length >= 4)) {
          expect(result.message).not.toContain(leaf);
        }
      }
      expect(response.body.results[2].message).not.toContain('-5');

      const events = await storedEvents(tp);
      const stored = events.get(valid.eventId)!;
      expect(stored.receivedAt >= new Date(sentFrom).toISOString()).toBe(true);
      expect(stored.receivedAt <= new Date(sentUntil).toISOString()).toBe(true);
      const { receivedAt } = stored;
      const { sourceId } = tp;
      expect(stored).toEqual({
        eventId: valid.eventId,
        type: 'track',
        eventName: 'search_query',
        timestamp: eventTime,
        originalTimestamp: eventTime,
        receivedAt,
        sourceId,
        sessionId: 'sess-1',
        userId: 'user-1',
        properties: { search_id: 'search-1', query_length: 12, result_count: 3 },
        device: chromeDevice,
        ip: '127.0.0.0',
      } satisfies StoredEvent);
      expect(events.get(validPage.eventId)).toEqual({
        eventId: validPage.eventId,
        type: 'track',
        eventName: 'page_view',
        timestamp: eventTime,
        originalTimestamp: eventTime,
        receivedAt,
        sourceId,
        anonymousId: 'anon-1',
        properties: { path: '/pricing', title: 'Pricing' },
        device: chromeDevice,
        ip: '127.0.0.0',
      } satisfies StoredEvent);
      for (const refused of [schemaViolation, missingIdentity, oversize, unknownInStrictMode]) {
        expect(events.has(refused.eventId)).toBe(false);
      }

      const common = { sourceId, receivedAt };
      const deadLetters = await deadLettersAfter(tp, lastId);
      expect(deadLetters.map(({ id: _id, ...letter }) => letter)).toEqual([
        {
          ...common,
          reason: 'schema_violation',
          message: '/properties/query_length must be integer; /properties/result_count must be >= 0',
          raw: JSON.stringify(schemaViolation),
          eventId: schemaViolation.eventId,
          eventName: 'search_query',
        },
        {
          ...common,
          reason: 'missing_identity',
          message: 'needs userId or anonymousId',
          raw: JSON.stringify(missingIdentity),
          eventId: missingIdentity.eventId,
          eventName: 'search_query',
        },
        {
          ...common,
          reason: 'payload_format',
          message: 'the item is a number, not a JSON object',
          raw: '42',
        },
        { ...common, reason: 'payload_format', message: 'the item is null, not a JSON object', raw: 'null' },
        {
          ...common,
          reason: 'payload_format',
          message: 'the item is a string, not a JSON object',
          raw: '"just a string"',
        },
        {
          ...common,
          reason: 'payload_format',
          message: 'the item is an array, not a JSON object',
          raw: '[1,2]',
        },
        {
          ...common,
          reason: 'size_violation',
          message: `the event is ${Buffer.byteLength(oversizeJson)} bytes of JSON; the limit is 32768`,
          // Kept up to the event limit, marked as cut, and with the sensitive query text masked by the PII policy
          // (a cut payload cannot be parsed, so it is scrubbed as text: docs/privacy.md).
          raw: `${oversizeJson.slice(0, oversizeJson.indexOf('"query_text":"') + '"query_text":"'.length)}***${rawTruncatedMarker}`,
          eventId: oversize.eventId,
          eventName: 'search_query',
        },
        {
          ...common,
          reason: 'unknown_event',
          message: 'the event name is not registered and the collector is in strict mode',
          raw: JSON.stringify(unknownInStrictMode),
          eventId: unknownInStrictMode.eventId,
          eventName: 'mystery_event',
        },
      ]);

      const after = await scrapeMetrics(tp);
      expect(counterDeltas(before, after, counters)).toEqual({
        received: 11,
        accepted: 2,
        deduplicated: 1,
        rejectedSchema: 1,
        rejectedIdentity: 1,
        rejectedFormat: 4,
        rejectedSize: 1,
        rejectedUnknown: 1,
        deadSchema: 1,
        deadIdentity: 1,
        deadFormat: 4,
        deadSize: 1,
        deadUnknown: 1,
      });
    });

    it('takes an event of exactly 32 KB and dead-letters one byte more', async () => {
      const sized = (bytes: number) => {
        const properties = { search_id: 's', query_length: 1, result_count: 1, query_text: '' };
        const event = searchEvent({ properties });
        properties.query_text = 'p'.repeat(bytes - Buffer.byteLength(JSON.stringify(event)));
        expect(Buffer.byteLength(JSON.stringify(event))).toBe(bytes);
        return event;
      };
      const atLimit = sized(32 * 1024);
      const overLimit = sized(32 * 1024 + 1);
      const response = await tp.post('/api/telemetry/events', [atLimit, overLimit]);
      expect(response.status).toBe(200);
      expect(response.body.results).toEqual([
        { eventId: atLimit.eventId, status: 'accepted' },
        {
          eventId: overLimit.eventId,
          status: 'rejected',
          reason: 'size_violation',
          message: 'the event is 32769 bytes of JSON; the limit is 32768',
        },
      ]);
      const events = await storedEvents(tp);
      // Stored whole; the query text encrypted under the subject's key, as the default PII policy does.
      const { query_text: queryText, ...plain } = events.get(atLimit.eventId)!.properties as Record<
        string,
        unknown
      >;
      const { query_text: _sent, ...sentPlain } = atLimit.properties as Record<string, unknown>;
      expect(plain).toEqual(sentPlain);
      expect(queryText).toMatch(/^enc:v1:/);
      expect(events.has(overLimit.eventId)).toBe(false);
    });
  });

  describe('deduplication of retried batches', () => {
    it('stores a batch posted three times once, and answers duplicate to each retry', async () => {
      const batch = [searchEvent(), searchEvent(), searchEvent()];
      const before = await scrapeMetrics(tp);
      const answers = [];
      for (let attempt = 0; attempt < 3; attempt++)
        answers.push(await tp.post('/api/telemetry/events', batch));

      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
      expect(answers.map((answer) => answer.body.results.map((r: { status: string }) => r.status))).toEqual([
        ['accepted', 'accepted', 'accepted'],
        ['duplicate', 'duplicate', 'duplicate'],
        ['duplicate', 'duplicate', 'duplicate'],
      ]);
      for (const answer of answers) {
        expect(answer.body.results.map((r: { eventId: string }) => r.eventId)).toEqual(
          batch.map((e) => e.eventId),
        );
      }
      const events = await storedEvents(tp);
      for (const event of batch) expect(events.get(event.eventId)?.properties).toEqual(event.properties);
      expect(counterDeltas(before, await scrapeMetrics(tp), counters)).toMatchObject({
        received: 9,
        accepted: 3,
        deduplicated: 6,
      });
    });

    it('stores a batch posted three times at once exactly once', async () => {
      const batch = Array.from({ length: 20 }, () => searchEvent());
      const headBefore = await tp.platform.log.head();
      const answers = await Promise.all([1, 2, 3].map(() => tp.post('/api/telemetry/events', batch)));

      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
      for (const [i, event] of batch.entries()) {
        const statuses = answers.map((answer) => answer.body.results[i]);
        expect(statuses.every((result) => result.eventId === event.eventId)).toBe(true);
        expect(statuses.map((result) => result.status).sort()).toEqual([
          'accepted',
          'duplicate',
          'duplicate',
        ]);
      }
      const added = await tp.platform.log.read(headBefore, 1_000);
      expect(added.map((record) => record.event.eventId).sort()).toEqual(batch.map((e) => e.eventId).sort());
    });

    it('recognises a retry whose eventId differs only in letter case', async () => {
      const event = searchEvent();
      const upper = { ...event, eventId: event.eventId.toUpperCase() };
      const first = await tp.post('/api/telemetry/events', [upper]);
      const retry = await tp.post('/api/telemetry/events', [event]);
      expect(first.body.results).toEqual([{ eventId: event.eventId, status: 'accepted' }]);
      expect(retry.body.results).toEqual([{ eventId: event.eventId, status: 'duplicate' }]);
      expect((await storedEvents(tp)).get(event.eventId)?.eventId).toBe(event.eventId);
    });

    it('deduplicates Segment retries by messageId, per source', async () => {
      const messageId = `ajs-next-1700000000000-${randomUUID()}`;
      const call = {
        type: 'track',
        event: 'search_query',
        messageId,
        userId: 'user-1',
        properties: { search_id: 'search-9', query_length: 4, result_count: 0 },
        timestamp: eventTime,
      };
      const first = await tp.post('/v1/track', call);
      const retry = await tp.post('/v1/batch', { batch: [call] });
      const shortRetry = await tp.post('/v1/t', call);
      expect(first.status).toBe(200);
      const [accepted] = first.body.results;
      expect(accepted).toEqual({ eventId: expect.stringMatching(uuidV5), status: 'accepted' });
      expect(retry.body.results).toEqual([{ eventId: accepted.eventId, status: 'duplicate' }]);
      expect(shortRetry.body.results).toEqual([{ eventId: accepted.eventId, status: 'duplicate' }]);

      // Message ids are the client's; another source's message with the same id is another event.
      const other = await tp.platform.sources.create({ name: `other-${randomUUID()}` });
      const fromOther = await tp.post('/v1/track', call, { writeKey: other.writeKey });
      expect(fromOther.body.results).toEqual([
        { eventId: expect.stringMatching(uuidV5), status: 'accepted' },
      ]);
      expect(fromOther.body.results[0].eventId).not.toBe(accepted.eventId);

      const events = await storedEvents(tp);
      expect(events.get(accepted.eventId)?.sourceId).toBe(tp.sourceId);
      expect(events.get(fromOther.body.results[0].eventId)?.sourceId).toBe(other.source.id);
    });
  });

  it('has the warehouse and the lake agree with the log once the consumers drain', async () => {
    // 2 from the mixed batch, 1 at the size limit, 3 + 20 + 1 from the retries, 2 Segment messages.
    expect(await expectStoresAgree(tp)).toBe(29);
  });
}

function skewAndPrivacySuite(adapters: AdapterSet) {
  describe('clock skew, enrichment and the client address', () => {
    let tp: TestPlatform;
    let dataDir: string;
    const rawIpv4 = '203.0.113.77';
    const rawIpv6 = '2001:db8:85a3:1234:5678:8a2e:370:7334';
    const rawIpInDeadLetter = '198.51.100.23';
    const rawForwardedFor = '192.0.2.200';
    let closed = false;
    beforeAll(async () => {
      tp = await adapters.start();
      dataDir = tp.dataDir;
    });
    afterAll(async () => {
      if (!closed) await tp?.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('moves the event time by receivedAt − sentAt, keeps the client time and parses the device', async () => {
      const hour = 3_600_000;
      const clientNow = Date.now() - hour;
      const sentAt = new Date(clientNow).toISOString();
      const timestamp = new Date(clientNow - 5_000).toISOString();
      const eventId = randomUUID();
      const response = await tp.post('/v1/batch', {
        batch: [
          {
            type: 'track',
            event: 'Order Completed',
            messageId: eventId,
            anonymousId: 'anon-skew',
            timestamp,
            properties: { total: 39.5 },
            context: { ip: rawIpv4, userAgent: chromeUserAgent, library: { name: 'analytics.js' } },
          },
        ],
        sentAt,
      });
      expect(response.body.results).toEqual([{ eventId, status: 'accepted' }]);

      const stored = (await storedEvents(tp)).get(eventId)!;
      const shift = Date.parse(stored.receivedAt) - Date.parse(sentAt);
      expect(shift).toBeGreaterThanOrEqual(hour);
      expect(stored).toEqual({
        eventId,
        type: 'track',
        eventName: 'Order Completed',
        timestamp: new Date(Date.parse(timestamp) + shift).toISOString(),
        originalTimestamp: timestamp,
        sentAt,
        receivedAt: stored.receivedAt,
        sourceId: tp.sourceId,
        anonymousId: 'anon-skew',
        properties: { total: 39.5 },
        context: { userAgent: chromeUserAgent, library: { name: 'analytics.js' } },
        device: chromeDevice,
        ip: '203.0.113.0',
      } satisfies StoredEvent);

      await tp.platform.drain();
      const row = await tp.platform.warehouse.query(
        `SELECT timestamp, original_timestamp, sent_at, received_at, browser, os, device_type, ip
         FROM events WHERE event_id = $1`,
        [eventId],
      );
      expect(row.rows).toEqual([
        [
          stored.timestamp,
          timestamp,
          sentAt,
          stored.receivedAt,
          'Chrome',
          'Windows',
          'desktop',
          '203.0.113.0',
        ],
      ]);
    });

    it('keeps the client time when sentAt is missing or unreadable', async () => {
      const withoutSentAt = searchEvent({ eventName: 'no_sent_at' });
      const unreadable = searchEvent({ eventName: 'bad_sent_at', sentAt: 'yesterday-ish' });
      const response = await tp.post('/api/telemetry/events', [withoutSentAt, unreadable]);
      expect(response.body.results.map((r: { status: string }) => r.status)).toEqual([
        'accepted',
        'accepted',
      ]);
      const events = await storedEvents(tp);
      for (const event of [withoutSentAt, unreadable]) {
        const stored = events.get(event.eventId)!;
        expect(stored.timestamp).toBe(eventTime);
        expect(stored.originalTimestamp).toBe(eventTime);
        expect(stored).not.toHaveProperty('sentAt');
      }
    });

    it('loads every event whose skew correction would move its time past the years 0000 to 9999', async () => {
      // A day of skew either way: the corrected times would be -000001-12-31… and +010000-01-01…
      const dayAhead = new Date(Date.now() + 86_400_000).toISOString();
      const dayBehind = new Date(Date.now() - 86_400_000).toISOString();
      const skewed = [
        searchEvent({ eventName: 'year_0_skewed', timestamp: '0000-01-01T00:00:00.000Z', sentAt: dayAhead }),
        searchEvent({
          eventName: 'year_9999_skewed',
          timestamp: '9999-12-31T23:00:00.000Z',
          sentAt: dayBehind,
        }),
      ];
      // An offset that crosses year 0000's first instant in UTC is refused before it is stored, as it was.
      const offset = searchEvent({ eventName: 'year_0_offset', timestamp: '0000-01-01T00:30:00+01:00' });
      const response = await tp.post('/api/telemetry/events', [...skewed, offset]);
      expect(response.body.results).toMatchObject([
        { eventId: skewed[0]!.eventId, status: 'accepted' },
        { eventId: skewed[1]!.eventId, status: 'accepted' },
        { eventId: offset.eventId, status: 'rejected' },
      ]);
      // They keep the client's time.
      const stored = await storedEvents(tp);
      expect(skewed.map((event) => stored.get(event.eventId)!.timestamp)).toEqual(
        skewed.map((event) => event.timestamp),
      );

      // Every store loads them (a row no warehouse takes would stop its loader for good, and drain would reject).
      await tp.platform.drain();
      const rows = await tp.platform.warehouse.query(
        `SELECT event_name, CAST(timestamp AS VARCHAR) IS NOT NULL FROM events WHERE event_id IN ($1, $2)
         ORDER BY event_name`,
        skewed.map((event) => event.eventId),
      );
      expect(rows.rows).toEqual([
        ['year_0_skewed', true],
        ['year_9999_skewed', true],
      ]);
      await expectStoresAgree(tp);
    });

    it('keeps only the /48 of an IPv6 client address', async () => {
      const event = searchEvent({ eventName: 'from_ipv6', context: { ip: rawIpv6 } });
      await tp.post('/api/telemetry/events', [event]);
      const stored = (await storedEvents(tp)).get(event.eventId)!;
      expect(stored.ip).toBe('2001:db8:85a3::');
      expect(stored.context).toEqual({});
    });

    it('ignores X-Forwarded-For without a trusted proxy, keeping the /24 of the peer', async () => {
      const event = searchEvent({ eventName: 'behind_a_proxy' });
      await tp.post('/api/telemetry/events', [event], { headers: { 'x-forwarded-for': rawForwardedFor } });
      expect((await storedEvents(tp)).get(event.eventId)?.ip).toBe('127.0.0.0');
    });

    it('keeps only what the IP policy allows of an address in a dead letter, and never the write key', async () => {
      const lastId = await lastDeadLetterId(tp);
      const refused = {
        type: 'track',
        event: 'Signed Up',
        messageId: randomUUID(),
        context: { ip: rawIpInDeadLetter },
      };
      const response = await tp.post(
        '/v1/batch',
        { writeKey: tp.writeKey, batch: [refused] },
        { writeKey: null },
      );
      expect(response.body.results).toEqual([
        {
          eventId: refused.messageId,
          status: 'rejected',
          reason: 'missing_identity',
          message: 'needs userId or anonymousId',
        },
      ]);
      const [letter] = await deadLettersAfter(tp, lastId);
      expect(JSON.parse(letter!.raw)).toEqual({ ...refused, context: { ip: '198.51.100.0' } });
    });

    it('leaves the raw addresses and the write key in no file of the data directory', async () => {
      const secrets = [rawIpv4, rawIpv6, rawIpInDeadLetter, rawForwardedFor, tp.writeKey];
      for (const secret of secrets) {
        expect(await rowsMentioning(tp, secret), secret).toEqual({ warehouse: 0, lake: 0 });
      }
      const events = [...(await storedEvents(tp)).values()];
      const deadLetters = await tp.platform.log.deadLetters.list();
      for (const secret of secrets) {
        expect(JSON.stringify(events)).not.toContain(secret);
        expect(JSON.stringify(deadLetters)).not.toContain(secret);
      }
      // Closing checkpoints the WALs; look at every file before and after, so no WAL or journal escapes the grep.
      const beforeClose = secrets.map((secret) => filesContaining(dataDir, secret));
      await tp.close({ keepData: true });
      closed = true;
      const afterClose = secrets.map((secret) => filesContaining(dataDir, secret));
      expect(beforeClose).toEqual(secrets.map(() => []));
      expect(afterClose).toEqual(secrets.map(() => []));
      const files = filesUnder(dataDir).map((file) => file.slice(dataDir.length));
      // The grep saw the embedded log's file; JetStream and PostgreSQL keep theirs on their servers, read above.
      const logInDataDir = tp.platform.config.adapters.eventLog === 'sqlite';
      expect(files.some((file) => file.startsWith('/log/events.db'))).toBe(logInDataDir);
      expect(files.some((file) => file.endsWith('.parquet'))).toBe(true);
    });
  });
}
