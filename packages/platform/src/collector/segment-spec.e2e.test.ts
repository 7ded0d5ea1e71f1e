/**
 * Segment tracking API payloads, as the spec's examples and the analytics.js / analytics-node libraries send them,
 * through the real server: every call type and short path, batches whose top-level fields apply to each item,
 * the write key in the body, text/plain bodies, and the fields each call requires. Runs once per adapter set.
 * Examples: segment.com/docs/connections/spec (identify, track, page, screen, group, alias, batch).
 */
import { randomUUID } from 'node:crypto';
import type { StoredEvent } from '@deepref/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdapterSet, adapterSets } from '../testing/adapter-sets.ts';
import {
  deadLettersAfter,
  expectStoresAgree,
  lastDeadLetterId,
  storedEvents,
} from '../testing/e2e-checks.ts';
import type { TestPlatform } from '../testing/test-platform.ts';
import { macChrome, segmentExamples } from './segment-examples.ts';

const macChromeDevice = {
  browser: 'Chrome',
  browserVersion: '59.0.3071.115',
  os: 'Mac OS',
  osVersion: '10.12.5',
  deviceType: 'desktop',
};
const serverLibrary = { headers: { 'user-agent': 'analytics-node-next/latest' } };
const serverDevice = { deviceType: 'unknown' };
const uuidV5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Segment's skew correction: the event time moved by receivedAt − sentAt. */
function corrected(timestamp: string, sentAt: string, receivedAt: string): string {
  return new Date(Date.parse(timestamp) + Date.parse(receivedAt) - Date.parse(sentAt)).toISOString();
}

/** The spec's examples, each with a fresh message id so that no test's call is another's retry. */
const examples = {
  identify: withFreshId(segmentExamples.identify),
  // analytics.js's kind of id: not a UUID.
  track: withFreshId(segmentExamples.track, () => `ajs-${randomUUID().replaceAll('-', '')}`),
  page: withFreshId(segmentExamples.page),
  screen: withFreshId(segmentExamples.screen),
  group: withFreshId(segmentExamples.group),
  alias: withFreshId(segmentExamples.alias),
};

function withFreshId<Call extends object>(example: () => Call, messageId: () => string = randomUUID) {
  return () => ({ ...example(), messageId: messageId() });
}

/** What the default PII policy stores for an email: its keyed pseudonym. */
const pseudonym = expect.stringMatching(/^ps_[A-Za-z0-9_-]{22}$/);

for (const adapters of adapterSets) {
  describe(`Segment tracking API (${adapters.name})`, () => segmentSuite(adapters));
}

function segmentSuite(adapters: AdapterSet) {
  let tp: TestPlatform;
  beforeAll(async () => {
    tp = await adapters.start();
  });
  afterAll(async () => {
    await tp?.close();
  });

  /** Posts one call and returns the stored event of its single accepted result. */
  async function sendOne(route: string, body: unknown, options = {}): Promise<StoredEvent> {
    const response = await tp.post(route, body, options);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      success: true,
      results: [{ eventId: expect.any(String), status: 'accepted' }],
    });
    const stored = (await storedEvents(tp)).get(response.body.results[0].eventId);
    expect(stored).toBeDefined();
    return stored!;
  }

  /**
   * Registers the test of one of the spec's single calls, posted as it is to `/v1/<type>`. The server stores its
   * envelope (message id, the client's times, the skew-corrected time), the ids and integrations it sent and,
   * unless `fields` says otherwise, no properties, the user agent as the only context, a Mac Chrome device and
   * the address cut to its /24.
   */
  function itStoresTheExample<T extends keyof typeof examples>(
    type: T,
    test: string,
    fields: (call: ReturnType<(typeof examples)[T]>) => Partial<StoredEvent>,
    options = {},
  ) {
    it(test, async () => {
      const call = examples[type]() as ReturnType<(typeof examples)[T]>;
      const stored = await sendOne(`/v1/${type}`, call, options);
      expect(stored).toEqual({
        eventId: call.messageId,
        type,
        eventName: type,
        timestamp: corrected(call.timestamp, call.sentAt, stored.receivedAt),
        originalTimestamp: call.timestamp,
        sentAt: call.sentAt,
        receivedAt: stored.receivedAt,
        sourceId: tp.sourceId,
        userId: call.userId,
        anonymousId: call.anonymousId,
        properties: {},
        context: { userAgent: macChrome },
        integrations: call.integrations,
        device: macChromeDevice,
        ip: '8.8.8.0',
        ...fields(call),
      } satisfies StoredEvent);
      // The client's own receivedAt is not the server's.
      expect(stored.receivedAt).not.toBe(call.receivedAt);
    });
  }

  describe('single calls, as the spec shows them', () => {
    itStoresTheExample('identify', 'stores an identify call', (call) => ({
      // The default PII policy: emails pseudonymized (keyed HMAC), person names masked (docs/privacy.md).
      traits: { ...call.traits, email: pseudonym, name: 'P*** G***' },
    }));
    itStoresTheExample('track', 'stores a track call, its non-uuid messageId made a stable uuid', (call) => ({
      eventId: expect.stringMatching(uuidV5),
      eventName: 'Course Clicked',
      properties: { title: 'Intro to Analytics' },
      context: {
        library: { name: 'analytics.js', version: '2.11.1' },
        page: call.context.page,
        userAgent: macChrome,
      },
      ip: '108.0.78.0',
    }));
    itStoresTheExample('page', 'stores a page call as page_view, with its name among the properties', () => ({
      eventName: 'page_view',
      properties: { title: 'Welcome | Initech', url: 'http://www.example.com', name: 'Home' },
    }));
    itStoresTheExample(
      'screen',
      'stores a screen call as screen_view, with its name among the properties',
      () => ({
        eventName: 'screen_view',
        properties: { 'Feed Type': 'private', name: 'Home' },
        context: {},
        device: serverDevice,
      }),
      serverLibrary,
    );
    itStoresTheExample('group', 'stores a group call with its groupId and traits', (call) => ({
      groupId: '0e8c78ea9d97a7b8185e8632',
      traits: call.traits,
    }));
    itStoresTheExample('alias', 'stores an alias call with previousId and userId', () => ({
      previousId: '39239-239239-239239-23923',
    }));
  });

  describe('paths, keys and bodies as the libraries send them', () => {
    it("takes analytics.js's short paths, each for its call", async () => {
      const paths = [
        ['/v1/i', examples.identify(), 'identify', 'identify'],
        ['/v1/t', examples.track(), 'track', 'Course Clicked'],
        ['/v1/p', examples.page(), 'page', 'page_view'],
        ['/v1/s', examples.screen(), 'screen', 'screen_view'],
        ['/v1/g', examples.group(), 'group', 'group'],
        ['/v1/a', examples.alias(), 'alias', 'alias'],
      ] as const;
      for (const [path, call, type, eventName] of paths) {
        const { type: _type, ...untyped } = call;
        const stored = await sendOne(path, untyped);
        expect({ path, type: stored.type, eventName: stored.eventName }).toEqual({ path, type, eventName });
      }
      for (const path of ['/v1/b', '/v1/import']) {
        const call = examples.track();
        const stored = await sendOne(path, { batch: [call] });
        expect({ path, eventName: stored.eventName }).toEqual({ path, eventName: 'Course Clicked' });
      }
    });

    it('takes the write key from the body and a text/plain body, as analytics.js sends to skip the preflight', async () => {
      const call = { ...examples.page(), writeKey: tp.writeKey };
      const stored = await sendOne('/v1/p', JSON.stringify(call), {
        writeKey: null,
        contentType: 'text/plain;charset=UTF-8',
      });
      expect(stored.eventId).toBe(call.messageId);
      expect(stored.sourceId).toBe(tp.sourceId);
      expect(JSON.stringify(stored)).not.toContain(tp.writeKey);
    });

    it("applies a batch's context, integrations and sentAt to each item, the item's own fields winning", async () => {
      const sentAt = '2012-12-02T00:30:16.000Z';
      const songPlayedId = randomUUID();
      const identifyId = randomUUID();
      const withOwnSentAt = randomUUID();
      const body = {
        batch: [
          {
            type: 'identify',
            messageId: identifyId,
            userId: '019mr8mf4r',
            traits: { email: 'jake@yahoo.com', name: 'Jake Peterson', age: 26 },
            timestamp: '2012-12-02T00:30:08.276Z',
          },
          {
            type: 'track',
            messageId: songPlayedId,
            userId: '019mr8mf4r',
            event: 'Song Played',
            properties: { name: 'Fallin for You', artist: 'Dierks Bentley' },
            context: { page: { url: 'https://music.example.com/play' }, library: { name: 'analytics-ruby' } },
            integrations: { Salesforce: true },
            timestamp: '2012-12-02T00:30:12.984Z',
          },
          {
            type: 'track',
            messageId: withOwnSentAt,
            userId: '971mj8mk7p',
            event: 'Song Skipped',
            sentAt: '2012-12-02T00:30:10.000Z',
            timestamp: '2012-12-02T00:30:09.000Z',
          },
        ],
        context: { device: { type: 'phone', name: 'Apple iPhone 6' }, library: { name: 'analytics-node' } },
        integrations: { All: true, Mixpanel: false },
        sentAt,
        writeKey: tp.writeKey,
      };
      const response = await tp.post('/v1/batch', JSON.stringify(body), {
        writeKey: null,
        contentType: 'text/plain',
        ...serverLibrary,
      });
      expect(response.status).toBe(200);
      expect(response.body.results).toEqual([
        { eventId: identifyId, status: 'accepted' },
        { eventId: songPlayedId, status: 'accepted' },
        { eventId: withOwnSentAt, status: 'accepted' },
      ]);

      const events = await storedEvents(tp);
      const identify = events.get(identifyId)!;
      const { receivedAt } = identify;
      expect(identify).toEqual({
        eventId: identifyId,
        type: 'identify',
        eventName: 'identify',
        timestamp: corrected('2012-12-02T00:30:08.276Z', sentAt, receivedAt),
        originalTimestamp: '2012-12-02T00:30:08.276Z',
        sentAt,
        receivedAt,
        sourceId: tp.sourceId,
        userId: '019mr8mf4r',
        properties: {},
        traits: { email: pseudonym, name: 'J*** P***', age: 26 },
        context: { device: { type: 'phone', name: 'Apple iPhone 6' }, library: { name: 'analytics-node' } },
        integrations: { All: true, Mixpanel: false },
        device: serverDevice,
        ip: '127.0.0.0',
      });
      expect(events.get(songPlayedId)).toEqual({
        eventId: songPlayedId,
        type: 'track',
        eventName: 'Song Played',
        timestamp: corrected('2012-12-02T00:30:12.984Z', sentAt, receivedAt),
        originalTimestamp: '2012-12-02T00:30:12.984Z',
        sentAt,
        receivedAt,
        sourceId: tp.sourceId,
        userId: '019mr8mf4r',
        properties: { name: 'Fallin for You', artist: 'Dierks Bentley' },
        // Merged key by key: the batch's device stays, the item's library replaces the batch's.
        context: {
          device: { type: 'phone', name: 'Apple iPhone 6' },
          library: { name: 'analytics-ruby' },
          page: { url: 'https://music.example.com/play' },
        },
        integrations: { All: true, Mixpanel: false, Salesforce: true },
        device: serverDevice,
        ip: '127.0.0.0',
      });
      const ownSentAt = events.get(withOwnSentAt)!;
      expect(ownSentAt.sentAt).toBe('2012-12-02T00:30:10.000Z');
      expect(ownSentAt.timestamp).toBe(
        corrected('2012-12-02T00:30:09.000Z', '2012-12-02T00:30:10.000Z', receivedAt),
      );
      for (const event of [identify, ownSentAt]) expect(JSON.stringify(event)).not.toContain(tp.writeKey);
    });
  });

  describe('required fields', () => {
    it('dead-letters a call missing the fields its type requires, and stores the rest of the batch', async () => {
      const lastId = await lastDeadLetterId(tp);
      const valid = examples.track();
      const { event: _event, ...trackWithoutEvent } = examples.track();
      const { groupId: _groupId, ...groupWithoutGroupId } = examples.group();
      const { previousId: _previousId, ...aliasWithoutPreviousId } = examples.alias();
      const { previousId: _p, userId: _u, ...aliasWithoutEither } = examples.alias();
      const { userId: _user, anonymousId: _anonymous, ...identifyWithoutIdentity } = examples.identify();
      const trackWithEmptyEvent = { ...examples.track(), event: '  ' };
      const body = {
        batch: [
          trackWithoutEvent,
          groupWithoutGroupId,
          valid,
          aliasWithoutPreviousId,
          aliasWithoutEither,
          identifyWithoutIdentity,
          trackWithEmptyEvent,
          { ...examples.track(), type: 'purchase' },
        ],
      };
      const response = await tp.post('/v1/batch', body);
      expect(response.status).toBe(200);
      const rejected = (reason: string, message: string, eventId?: string) => ({
        ...(eventId ? { eventId } : {}),
        status: 'rejected',
        reason,
        message,
      });
      expect(response.body.results).toEqual([
        rejected('schema_violation', '/event is required for a track call and must be a string'),
        rejected('schema_violation', '/groupId is required for a group call', groupWithoutGroupId.messageId),
        { eventId: expect.stringMatching(uuidV5), status: 'accepted' },
        rejected(
          'schema_violation',
          '/previousId is required for an alias call',
          aliasWithoutPreviousId.messageId,
        ),
        rejected(
          'schema_violation',
          '/previousId and /userId are required for an alias call',
          aliasWithoutEither.messageId,
        ),
        rejected('missing_identity', 'needs userId or anonymousId', identifyWithoutIdentity.messageId),
        rejected('schema_violation', '/event is required for a track call and must be a string'),
        rejected('schema_violation', '/type must be one of track, page, screen, identify, group, alias'),
      ]);

      const deadLetters = await deadLettersAfter(tp, lastId);
      expect(deadLetters.map((letter) => letter.reason)).toEqual([
        'schema_violation',
        'schema_violation',
        'schema_violation',
        'schema_violation',
        'missing_identity',
        'schema_violation',
        'schema_violation',
      ]);
      // Each keeps its item whole (the raw address cut by the IP policy), so it can be replayed once fixed.
      expect(JSON.parse(deadLetters[1]!.raw)).toEqual({
        ...groupWithoutGroupId,
        context: { ...groupWithoutGroupId.context, ip: '8.8.8.0' },
      });
      expect(JSON.parse(deadLetters[0]!.raw)).toEqual({
        ...trackWithoutEvent,
        context: { ...trackWithoutEvent.context, ip: '108.0.78.0' },
      });
      const events = await storedEvents(tp);
      expect(events.has(response.body.results[2].eventId)).toBe(true);
    });

    it('refuses a single call whose body is not an object, and a batch without a batch array', async () => {
      const array = await tp.post('/v1/track', [examples.track()]);
      expect(array.status).toBe(400);
      expect(array.body).toEqual({
        error: {
          code: 'DEEPREF_INVALID_BODY',
          message:
            'The request body does not have the expected shape: expected one track call as a JSON object.',
        },
      });
      const noBatch = await tp.post('/v1/batch', examples.track());
      expect(noBatch.status).toBe(400);
      expect(noBatch.body.error.code).toBe('DEEPREF_INVALID_BODY');
    });
  });

  it('has the warehouse and the lake agree with the log', async () => {
    expect(await expectStoresAgree(tp)).toBe(19);
  });
}
