import { isValidEnvelope } from '@deepref/schema';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeeprefError } from '../errors.ts';
import { segmentExamples } from './segment-examples.ts';
import {
  eventIdOf,
  jsonBytesBound,
  mapReferenceBody,
  mapSegmentBody,
  rawTruncatedMarker,
  type SegmentCall,
  scrubRawIp,
  segmentCallOf,
  type WireContext,
  type WireResult,
} from './wire.ts';

const receivedAt = new Date('2015-02-23T22:28:55.387Z');
const ctx: WireContext = {
  sourceId: 'src-web',
  receivedAt,
  limits: { maxEventBytes: 32 * 1024, strict: false },
};
const uuidV4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function envelopes(results: WireResult[]) {
  return results.map((result) => {
    if (!result.ok) throw new Error(`dead letter ${result.reason}: ${result.message}`);
    return result.envelope;
  });
}

function only(results: WireResult[]): WireResult {
  expect(results).toHaveLength(1);
  return results[0]!;
}

// The examples of the Segment spec (segment.com/docs/connections/spec), as the libraries send them, with a
// shorter user agent: the mapper passes the context on as it is.
const segmentContext = { ip: '8.8.8.8', userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_12_5)' };

/** One of the spec's example calls, with the context above. */
function withSegmentContext<Call extends object>(call: Call) {
  return { ...call, context: segmentContext };
}

describe('Segment single calls', () => {
  it('maps a track call; a non-UUID messageId becomes a stable name-based id', () => {
    const example = segmentExamples.track();
    const track = {
      ...example,
      context: { ...example.context, userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10_5)' },
      writeKey: 'abc123',
    };
    const result = only(mapSegmentBody('track', track, ctx));
    expect(result).toEqual({
      ok: true,
      envelope: {
        // Pinned: a changed derivation would let retries across an upgrade be stored twice.
        eventId: '253a7049-e172-56e6-9230-69b045637508',
        type: 'track',
        eventName: 'Course Clicked',
        timestamp: '2015-12-12T19:11:01.249Z',
        sentAt: '2015-12-12T19:11:01.169Z',
        anonymousId: '23adfd82-aa0f-45a7-a756-24f2a7a4c895',
        userId: 'AiUGstSDIg',
        properties: { title: 'Intro to Analytics' },
        context: track.context,
        integrations: {},
      },
    });
  });

  it('maps an identify call, keeping a UUID messageId as the event id', () => {
    const identify = withSegmentContext(segmentExamples.identify());
    expect(envelopes(mapSegmentBody('identify', identify, ctx))).toEqual([
      {
        eventId: '022bb90c-bbac-11e4-8dfc-aa07a5b093db',
        type: 'identify',
        eventName: 'identify',
        timestamp: '2015-02-23T22:28:55.111Z',
        sentAt: '2015-02-23T22:28:55.111Z',
        anonymousId: '507f191e810c19729de860ea',
        userId: '97980cfea0067',
        properties: {},
        traits: identify.traits,
        context: segmentContext,
        integrations: { All: false, Mixpanel: true, Salesforce: true },
      },
    ]);
  });

  it('maps a page call onto page_view, keeping its name in the properties', () => {
    // Without an anonymousId: the envelope has the userId alone.
    const { anonymousId: _anonymousId, ...page } = withSegmentContext(segmentExamples.page());
    expect(envelopes(mapSegmentBody('page', page, ctx))).toEqual([
      {
        eventId: '022bb90c-bbac-11e4-8dfc-aa07a5b093db',
        type: 'page',
        eventName: 'page_view',
        timestamp: '2015-02-23T22:28:55.111Z',
        sentAt: '2015-02-23T22:28:55.111Z',
        userId: '97980cfea0067',
        properties: { title: 'Welcome | Initech', url: 'http://www.example.com', name: 'Home' },
        context: segmentContext,
        integrations: { All: true, Mixpanel: false, Salesforce: false },
      },
    ]);
  });

  it('maps a screen call onto screen_view', () => {
    // As a server library sends it.
    const { anonymousId: _anonymousId, ...mobile } = withSegmentContext(segmentExamples.screen());
    const screen = {
      ...mobile,
      channel: 'server',
      integrations: {},
      properties: { variation: 'blue signup button' },
    };
    expect(envelopes(mapSegmentBody('screen', screen, ctx))).toEqual([
      {
        eventId: '022bb90c-bbac-11e4-8dfc-aa07a5b093db',
        type: 'screen',
        eventName: 'screen_view',
        timestamp: '2015-02-23T22:28:55.111Z',
        sentAt: '2015-02-23T22:28:55.111Z',
        userId: '97980cfea0067',
        properties: { variation: 'blue signup button', name: 'Home' },
        context: segmentContext,
        integrations: {},
      },
    ]);
  });

  it('maps a group call', () => {
    const group = {
      ...withSegmentContext(segmentExamples.group()),
      integrations: { All: true, Mixpanel: false, Salesforce: true },
    };
    expect(envelopes(mapSegmentBody('group', group, ctx))).toEqual([
      {
        eventId: '022bb90c-bbac-11e4-8dfc-aa07a5b093db',
        type: 'group',
        eventName: 'group',
        timestamp: '2015-02-23T22:28:55.111Z',
        sentAt: '2015-02-23T22:28:55.111Z',
        anonymousId: '507f191e810c19729de860ea',
        userId: '97980cfea0067',
        groupId: '0e8c78ea9d97a7b8185e8632',
        properties: {},
        traits: group.traits,
        context: segmentContext,
        integrations: { All: true, Mixpanel: false, Salesforce: true },
      },
    ]);
  });

  it('maps an alias call', () => {
    const alias = {
      ...withSegmentContext(segmentExamples.alias()),
      integrations: { All: true, Mixpanel: false, Salesforce: true },
    };
    expect(envelopes(mapSegmentBody('alias', alias, ctx))).toEqual([
      {
        eventId: '022bb90c-bbac-11e4-8dfc-aa07a5b093db',
        type: 'alias',
        eventName: 'alias',
        timestamp: '2015-02-23T22:28:55.111Z',
        sentAt: '2015-02-23T22:28:55.111Z',
        anonymousId: '507f191e810c19729de860ea',
        userId: '507f191e81',
        previousId: '39239-239239-239239-23923',
        properties: {},
        context: segmentContext,
        integrations: { All: true, Mixpanel: false, Salesforce: true },
      },
    ]);
  });

  it('takes the call from the path, long or short', () => {
    const paths: Record<string, SegmentCall | undefined> = {
      '/v1/batch': 'batch',
      '/v1/b': 'batch',
      '/v1/import': 'batch',
      '/v1/track': 'track',
      '/v1/t': 'track',
      '/v1/identify': 'identify',
      '/v1/i': 'identify',
      '/v1/page': 'page',
      '/v1/p': 'page',
      '/v1/screen': 'screen',
      '/v1/s': 'screen',
      '/v1/group': 'group',
      '/v1/g': 'group',
      '/v1/alias': 'alias',
      '/v1/a': 'alias',
      '/v1/x': undefined,
      '/v1/__proto__': undefined,
    };
    for (const [path, call] of Object.entries(paths)) expect(segmentCallOf(path), path).toBe(call);
    // The path decides the type, whatever the body says.
    const [result] = mapSegmentBody('identify', { type: 'track', userId: 'u1' }, ctx);
    expect(result?.ok && result.envelope.type).toBe('identify');
  });
});

describe('Segment batch', () => {
  it('applies the batch’s context and sentAt to every item, the item’s own fields winning', () => {
    const body = {
      batch: [
        {
          type: 'identify',
          userId: '019mr8mf4r',
          traits: { email: 'jake@yahoo.com', name: 'Jake Peterson', age: 26 },
          timestamp: '2012-12-02T00:30:08.276Z',
        },
        {
          type: 'track',
          userId: '019mr8mf4r',
          event: 'Song Played',
          properties: { name: 'Fallin for You', artist: 'Dierks Bentley' },
          timestamp: '2012-12-02T00:30:12.984Z',
          context: { device: { type: 'tablet' }, locale: 'en-US' },
        },
        {
          type: 'track',
          userId: '971mj8mk7p',
          event: 'Song Played',
          properties: { name: 'Wicked', artist: 'Gregory Alan Isakov' },
          sentAt: '2012-12-02T00:30:20.000Z',
        },
      ],
      context: { device: { type: 'phone', name: 'Apple iPhone 6' } },
      integrations: { All: true },
      sentAt: '2012-12-02T00:30:15.000Z',
      writeKey: 'abc123',
    };
    const [identify, played, wicked] = envelopes(mapSegmentBody('batch', body, ctx));
    expect(identify).toEqual({
      eventId: expect.stringMatching(uuidV4),
      type: 'identify',
      eventName: 'identify',
      timestamp: '2012-12-02T00:30:08.276Z',
      sentAt: '2012-12-02T00:30:15.000Z',
      userId: '019mr8mf4r',
      properties: {},
      traits: { email: 'jake@yahoo.com', name: 'Jake Peterson', age: 26 },
      context: { device: { type: 'phone', name: 'Apple iPhone 6' } },
      integrations: { All: true },
    });
    expect(played).toEqual({
      eventId: expect.stringMatching(uuidV4),
      type: 'track',
      eventName: 'Song Played',
      timestamp: '2012-12-02T00:30:12.984Z',
      sentAt: '2012-12-02T00:30:15.000Z',
      userId: '019mr8mf4r',
      properties: { name: 'Fallin for You', artist: 'Dierks Bentley' },
      // Merged key by key: the item's device replaces the batch's whole, the batch's other keys stay.
      context: { device: { type: 'tablet' }, locale: 'en-US' },
      integrations: { All: true },
    });
    // No timestamp: the item's own sentAt is the event time.
    expect(wicked).toMatchObject({
      timestamp: '2012-12-02T00:30:20.000Z',
      sentAt: '2012-12-02T00:30:20.000Z',
    });
    expect(new Set([identify?.eventId, played?.eventId, wicked?.eventId]).size).toBe(3);
  });

  it('takes receivedAt as the event time when there is no timestamp and no sentAt', () => {
    const [envelope] = envelopes(
      mapSegmentBody('batch', { batch: [{ type: 'track', event: 'e', userId: 'u' }] }, ctx),
    );
    expect(envelope?.timestamp).toBe('2015-02-23T22:28:55.387Z');
    expect(envelope?.sentAt).toBeUndefined();
  });

  it('turns each bad item into its own dead letter and keeps the good ones', () => {
    const body = {
      batch: [
        { type: 'track', event: 'ok', userId: 'u1' },
        { type: 'track', event: 'no identity' },
        { type: 'track', userId: 'u1' },
        { type: 'group', userId: 'u1' },
        { type: 'alias', anonymousId: 'a1' },
        { type: 'jump', userId: 'u1' },
        { event: 'no type', userId: 'u1' },
        { type: 'track', event: 'bad time', userId: 'u1', timestamp: 'yesterday' },
        { type: 'track', event: 'bad props', userId: 'u1', properties: 'x' },
        { type: 'track', event: 'bad id', userId: 'u1', messageId: { id: 1 } },
        42,
        'track',
        null,
        [{ type: 'track' }],
      ],
    };
    const results = mapSegmentBody('batch', body, ctx);
    expect(results.map((r) => (r.ok ? 'ok' : `${r.reason}: ${r.message}`))).toEqual([
      'ok',
      'missing_identity: needs userId or anonymousId',
      'schema_violation: /event is required for a track call and must be a string',
      'schema_violation: /groupId is required for a group call',
      'schema_violation: /previousId and /userId are required for an alias call',
      'schema_violation: /type must be one of track, page, screen, identify, group, alias',
      'schema_violation: /type is required',
      'schema_violation: /timestamp must be an ISO 8601 date-time',
      'schema_violation: /properties must be object',
      'schema_violation: /messageId must be a string',
      'payload_format: the item is a number, not a JSON object',
      'payload_format: the item is a string, not a JSON object',
      'payload_format: the item is null, not a JSON object',
      'payload_format: the item is an array, not a JSON object',
    ]);
    expect(results[10]).toEqual({
      ok: false,
      reason: 'payload_format',
      message: 'the item is a number, not a JSON object',
      raw: '42',
    });
  });

  it('refuses a body that is not a batch at all', () => {
    for (const body of [[], 'x', null, { batch: {} }]) {
      expect(() => mapSegmentBody('batch', body, ctx)).toThrow(DeeprefError);
    }
    expect(() => mapSegmentBody('track', [{ event: 'x' }], ctx)).toThrow(
      'The request body does not have the expected shape: expected one track call as a JSON object.',
    );
  });
});

describe('event ids', () => {
  it('derives the same id for a retried message and different ids per source', () => {
    const message = { messageId: 'ajs-f8ca1e4de5024d9430b3928bd8ac6b96' };
    expect(eventIdOf(message, 'src-web')).toBe('253a7049-e172-56e6-9230-69b045637508');
    expect(eventIdOf(message, 'src-web')).toBe(eventIdOf({ ...message }, 'src-web'));
    expect(eventIdOf(message, 'src-other')).toBe('7c6576da-ea37-5881-b294-b459637df85d');
    expect(eventIdOf({ messageId: 17 }, 'src-web')).toBe(eventIdOf({ messageId: '17' }, 'src-web'));
  });

  it('lowercases a UUID and makes a random one when there is no id', () => {
    expect(eventIdOf({ eventId: '022BB90C-BBAC-11E4-8DFC-AA07A5B093DB' }, 's')).toBe(
      '022bb90c-bbac-11e4-8dfc-aa07a5b093db',
    );
    expect(eventIdOf({}, 's')).toMatch(uuidV4);
    expect(eventIdOf({}, 's')).not.toBe(eventIdOf({}, 's'));
    expect(eventIdOf({ messageId: true }, 's')).toBeUndefined();
  });
});

describe('the reference browser wrapper', () => {
  // What AiDeepRefTelemetry.track() sends (reference §1.3).
  const wrapperEvent = {
    eventId: '4f1d8f6e-3c2b-4a5e-9d7c-1b2a3c4d5e6f',
    eventName: 'feature_clicked',
    timestamp: '2024-05-01T12:00:00.000Z',
    sessionId: 'sess-1',
    userId: 'user-1',
    properties: {
      button: 'export',
      url: 'https://app.example/docs/1',
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64)',
      screenResolution: '1920x1080',
      viewport: '1280x720',
      referrer: 'https://app.example/',
    },
  };

  it('maps a JSON array of wrapper events, moving the page context out of the properties', () => {
    expect(envelopes(mapReferenceBody([wrapperEvent], ctx))).toEqual([
      {
        eventId: '4f1d8f6e-3c2b-4a5e-9d7c-1b2a3c4d5e6f',
        type: 'track',
        eventName: 'feature_clicked',
        timestamp: '2024-05-01T12:00:00.000Z',
        sessionId: 'sess-1',
        userId: 'user-1',
        properties: { button: 'export' },
        context: {
          page: { url: 'https://app.example/docs/1', referrer: 'https://app.example/' },
          userAgent: 'Mozilla/5.0 (X11; Linux x86_64)',
          screen: { width: 1920, height: 1080 },
          viewport: { width: 1280, height: 720 },
        },
      },
    ]);
  });

  it('keeps url and referrer in the properties where the registered event declares them', () => {
    const pageView = { ...wrapperEvent, eventName: 'page_view' };
    const [envelope] = envelopes(mapReferenceBody([pageView], ctx));
    expect(envelope?.properties).toEqual({
      button: 'export',
      url: 'https://app.example/docs/1',
      referrer: 'https://app.example/',
    });
  });

  it('lets an explicit context win and accepts { batch, sentAt, context } with anonymousId', () => {
    const body = {
      batch: [
        {
          ...wrapperEvent,
          userId: undefined,
          anonymousId: 'anon-1',
          context: { userAgent: 'Explicit/1.0', page: { title: 'Docs' } },
        },
      ],
      sentAt: '2024-05-01T12:00:05.000Z',
      context: { locale: 'de-DE' },
    };
    const [envelope] = envelopes(mapReferenceBody(body, ctx));
    expect(envelope?.anonymousId).toBe('anon-1');
    expect(envelope?.userId).toBeUndefined();
    expect(envelope?.sentAt).toBe('2024-05-01T12:00:05.000Z');
    expect(envelope?.context).toEqual({
      locale: 'de-DE',
      userAgent: 'Explicit/1.0',
      page: { title: 'Docs', url: 'https://app.example/docs/1', referrer: 'https://app.example/' },
      screen: { width: 1920, height: 1080 },
      viewport: { width: 1280, height: 720 },
    });
  });

  it('refuses a body that is neither an array nor a batch', () => {
    expect(() => mapReferenceBody({ eventName: 'x' }, ctx)).toThrow(
      'The request body does not have the expected shape: expected a JSON array of events or an object with a `batch` array.',
    );
  });
});

describe('validation', () => {
  it('dead-letters an event larger than maxEventBytes, keeping a capped raw copy', () => {
    const small: WireContext = { ...ctx, limits: { maxEventBytes: 200, strict: false } };
    const big = { type: 'track', event: 'big', userId: 'u1', properties: { blob: 'x'.repeat(500) } };
    const [result] = mapSegmentBody('batch', { batch: [big] }, small);
    expect(result).toEqual({
      ok: false,
      reason: 'size_violation',
      message: `the event is ${JSON.stringify(big).length} bytes of JSON; the limit is 200`,
      raw: JSON.stringify(big).slice(0, 200) + rawTruncatedMarker,
    });
  });

  it('refuses unregistered names in strict mode, but not identify, group or alias', () => {
    const strict: WireContext = { ...ctx, limits: { ...ctx.limits, strict: true } };
    const body = {
      batch: [
        { type: 'track', event: 'Song Played', userId: 'u1' },
        { type: 'track', event: 'logout', userId: 'u1', properties: { reason: 'user' } },
        { type: 'identify', userId: 'u1', traits: {} },
      ],
    };
    expect(
      mapSegmentBody('batch', body, strict).map((r) => (r.ok ? 'ok' : `${r.reason}: ${r.message}`)),
    ).toEqual([
      'unknown_event: the event name is not registered and the collector is in strict mode',
      'ok',
      'ok',
    ]);
    expect(mapSegmentBody('batch', body, ctx).every((r) => r.ok)).toBe(true);
  });

  it('checks the properties of registered events and names paths, never values', () => {
    const latency = {
      type: 'track',
      event: 'api_latency',
      userId: 'jane@example.com',
      properties: { endpoint: '/v1/users', method: 'FETCH', status_code: 'secret-value' },
    };
    const [result] = mapSegmentBody('batch', { batch: [latency] }, ctx);
    expect(result?.ok).toBe(false);
    if (result?.ok !== false) return;
    expect(result.reason).toBe('schema_violation');
    expect(result.message).toMatch(/^\/properties\//);
    expect(result.message).toContain('/properties/duration_ms is required');
    expect(result.message).not.toContain('FETCH');
    expect(result.message).not.toContain('secret-value');
  });

  it('scrubs context.ip and the write key from raw items in the dead letters', () => {
    const item = { type: 'track', userId: 'u1', context: { ip: '203.0.113.195', locale: 'en' } };
    const body = { batch: [item], writeKey: 'abc123' };
    const [removed] = mapSegmentBody('batch', body, ctx);
    expect(removed?.ok === false && JSON.parse(removed.raw)).toEqual({
      type: 'track',
      userId: 'u1',
      context: { locale: 'en' },
    });
    const truncating: WireContext = { ...ctx, anonymizeIp: (ip) => ip.replace(/\.\d+$/, '.0') };
    const [kept] = mapSegmentBody('track', { ...item, writeKey: 'abc123' }, truncating);
    expect(kept?.ok === false && JSON.parse(kept.raw)).toEqual({
      type: 'track',
      userId: 'u1',
      context: { ip: '203.0.113.0', locale: 'en' },
    });
    expect(scrubRawIp(7)).toBe(7);
  });
});

describe('prototype keys', () => {
  it('copies a `__proto__` key as data when merging, never as a prototype', () => {
    // JSON.parse keeps `__proto__` as an own key; body.ts removes it, but the mapper must not trust that.
    const body = JSON.parse(
      '{"batch":[{"type":"track","event":"e","userId":"u","context":{"__proto__":{"polluted":true},"locale":"en"}}],' +
        '"context":{"library":{"name":"x"}}}',
    );
    const [result] = mapSegmentBody('batch', body, ctx);
    if (!result?.ok) throw new Error('expected an envelope');
    const context = result.envelope.context as Record<string, unknown>;
    expect(Object.getPrototypeOf(context)).toBe(Object.prototype);
    expect(context.polluted).toBeUndefined();
    expect(context.locale).toBe('en');
    expect(context.library).toEqual({ name: 'x' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('any JSON in a batch', () => {
  const anyItem = fc.oneof(
    fc.jsonValue(),
    fc.record(
      {
        type: fc.constantFrom('track', 'page', 'screen', 'identify', 'group', 'alias', 'other'),
        event: fc.oneof(fc.string(), fc.constantFrom('page_view', 'api_latency', 'login')),
        eventName: fc.string(),
        userId: fc.oneof(fc.string(), fc.integer()),
        anonymousId: fc.string(),
        messageId: fc.oneof(fc.string(), fc.uuid(), fc.jsonValue()),
        groupId: fc.string(),
        previousId: fc.string(),
        timestamp: fc.oneof(
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          fc.string(),
        ),
        properties: fc.jsonValue(),
        context: fc.jsonValue(),
        traits: fc.jsonValue(),
        ['__proto__']: fc.jsonValue(),
      },
      { requiredKeys: [] },
    ),
  );

  it('never throws, and gives one valid envelope or one dead letter per item', () => {
    fc.assert(
      fc.property(
        fc.array(anyItem, { maxLength: 20 }),
        fc.jsonValue(),
        fc.boolean(),
        (items, shared, strict) => {
          const limits = { maxEventBytes: 2048, strict };
          for (const results of [
            mapSegmentBody('batch', { batch: items, context: shared, sentAt: shared }, { ...ctx, limits }),
            mapReferenceBody(items, { ...ctx, limits }),
          ]) {
            expect(results).toHaveLength(items.length);
            for (const result of results) {
              if (result.ok) expect(isValidEnvelope(result.envelope)).toBe(true);
              else
                expect(Buffer.byteLength(result.raw)).toBeLessThanOrEqual(
                  2048 + rawTruncatedMarker.length * 3,
                );
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('jsonBytesBound', () => {
  it('is never below the byte length of the JSON text, for any JSON value, control characters and surrogates too', () => {
    const text = fc.string({ unit: 'binary' });
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        text,
        fc.double(),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('value')),
        fc.dictionary(text, tie('value')),
      ),
    })).value;
    fc.assert(
      fc.property(json, (value) => {
        expect(jsonBytesBound(value, Number.POSITIVE_INFINITY)).toBeGreaterThanOrEqual(
          Buffer.byteLength(JSON.stringify(value)),
        );
      }),
      { numRuns: 1000 },
    );
    expect(jsonBytesBound('\u0001'.repeat(100), Number.POSITIVE_INFINITY)).toBeGreaterThanOrEqual(602);
    expect(jsonBytesBound(-1.7976931348623157e308, 1e9)).toBeGreaterThanOrEqual(24);
  });

  it('gives Infinity past the budget and for values JSON.parse never makes', () => {
    expect(jsonBytesBound({ a: 'x'.repeat(100) }, 100)).toBe(Number.POSITIVE_INFINITY);
    expect(jsonBytesBound({ a: undefined }, 1e9)).toBe(Number.POSITIVE_INFINITY);
    expect(jsonBytesBound({ toJSON: () => 'x'.repeat(1e6) }, 1e9)).toBe(Number.POSITIVE_INFINITY);
    expect(jsonBytesBound(new Date(0), 1e9)).toBe(Number.POSITIVE_INFINITY);
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(jsonBytesBound(deep, 1e9)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('fast paths against the straightforward code', () => {
  const pad = (n: number, width: number) => String(n).padStart(width, '0');

  /** The event time as the wire format read it before its fast path: two regexes, Date.parse and a Date. */
  function isoTimeByDate(value: unknown): string | undefined {
    if (typeof value !== 'string') return undefined;
    const general = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;
    const utcMillis = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(value);
    if (!utcMillis && !general.test(value)) return undefined;
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
  }

  /**
   * Real instants, often with one two-digit field (the year's last two, month to second) set past its range, mostly
   * in the stored form (milliseconds, Z), where the fast path decides, else in other ISO spellings; and anything.
   */
  const timeText = fc.oneof(
    fc
      .tuple(
        fc
          .date({ min: new Date(Date.UTC(0, 0, 1)), max: new Date(Date.UTC(9999, 11, 31)) })
          .filter((date) => !Number.isNaN(date.getTime())),
        fc.option(
          fc.tuple(
            fc.constantFrom(2, 5, 8, 11, 14, 17),
            fc.oneof(fc.nat(99), fc.constantFrom(0, 13, 24, 29, 30, 31, 60)),
          ),
        ),
        fc.constantFrom(3, 3, 3, 0, 1, 6),
        fc.constantFrom('Z', 'Z', 'Z', 'Z', 'z', '+00:00', '-0130', '+05:30', ''),
      )
      .map(([date, field, fraction, tail]) => {
        const iso = date.toISOString();
        const dateTime = field
          ? iso.slice(0, field[0]) + pad(field[1], 2) + iso.slice(field[0] + 2, 19)
          : iso.slice(0, 19);
        const frac = fraction === 0 ? '' : `.${iso.slice(20, 23).padEnd(fraction, '7').slice(0, fraction)}`;
        return `${dateTime}${frac}${tail}`;
      }),
    fc.string({ maxLength: 30 }),
    fc.integer(),
  );

  it('reads timestamp and sentAt as the Date-based code did', () => {
    fc.assert(
      fc.property(timeText, timeText, (timestamp, sentAt) => {
        const [result] = mapReferenceBody([{ eventName: 'e', userId: 'u', timestamp, sentAt }], ctx);
        const expected = isoTimeByDate(timestamp);
        const expectedSent = isoTimeByDate(sentAt);
        // A time that lands outside years 0000-9999 in UTC (9999-12-31T23:00-0130) is read as `Date` writes it,
        // `+010000-…`, which the envelope's date-time format refuses: the item is a dead letter, as it always was.
        const expanded = (time: string | undefined) => time !== undefined && /^[+-]/.test(time);
        if (expected === undefined || expanded(expected) || expanded(expectedSent)) {
          expect(result?.ok).toBe(false);
          return;
        }
        if (!result?.ok) throw new Error(`expected an envelope for ${String(timestamp)}`);
        expect(result.envelope.timestamp).toBe(expected);
        expect(result.envelope.sentAt).toBe(expectedSent);
      }),
      { numRuns: 10_000 },
    );
  });

  it('refuses a sentAt that lands past year 9999 in UTC, as the Date-based code did', () => {
    const [result] = mapReferenceBody(
      [
        {
          eventName: 'e',
          userId: 'u',
          timestamp: '1970-01-01T00:00:00.000Z',
          sentAt: '9999-12-31T22:30:00.000-0130',
        },
      ],
      ctx,
    );
    expect(result?.ok).toBe(false);
  });

  it('tells a UUID as the regex did, whatever the case or the character out of place', () => {
    const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
    const nameBased = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const uuidLike = fc
      .tuple(
        fc.uuid(),
        fc.boolean(),
        fc.option(
          fc.tuple(fc.nat(36), fc.constantFrom('-', 'g', 'G', 'z', '0', 'F', ' ', 'é', '\u0130', '')),
        ),
      )
      .map(([uuid, upper, change]) => {
        const text = upper ? uuid.toUpperCase() : uuid;
        return change ? text.slice(0, change[0]) + change[1] + text.slice(change[0] + 1) : text;
      });
    fc.assert(
      fc.property(fc.oneof(uuidLike, fc.string({ minLength: 1, maxLength: 40 })), (given) => {
        const id = eventIdOf({ eventId: given }, 'src-web');
        if (uuidPattern.test(given)) expect(id).toBe(given.toLowerCase());
        else expect(id).toMatch(nameBased);
      }),
      { numRuns: 10_000 },
    );
  });

  it('refuses lone surrogates in the text columns as the regex did, and keeps pairs', () => {
    const withSurrogates = fc
      .array(fc.constantFrom('a', '\ud83d', '\ude00', '\ud83d\ude00', 'é', '–'), {
        minLength: 1,
        maxLength: 6,
      })
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(withSurrogates, (userId) => {
        const [result] = mapReferenceBody([{ eventName: 'e', userId }], ctx);
        expect(result?.ok).toBe(!/\p{Cs}/u.test(userId));
      }),
      { numRuns: 2_000 },
    );
  });
});
