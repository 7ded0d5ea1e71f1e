import { createHmac } from 'node:crypto';
import type { EventEnvelope } from '@deepref/schema';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventBatches } from '../../../../bench/event-batches.ts';
import {
  anonymizeIp,
  correctClockSkew,
  createEnricher,
  parseUserAgent,
  truncateIp,
  UserAgentCache,
} from './enrich.ts';
import { mapReferenceBody } from './wire.ts';

const chromeDesktop =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const iPhoneSafari =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
const iPadSafari =
  'Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1';
const googlebot = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const googlebotSmartphone =
  'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.201 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

describe('parseUserAgent', () => {
  it('reads Chrome on Windows as a desktop', () => {
    expect(parseUserAgent(chromeDesktop)).toEqual({
      browser: 'Chrome',
      browserVersion: '124.0.0.0',
      os: 'Windows',
      osVersion: '10',
      deviceType: 'desktop',
    });
  });

  it('reads Safari on an iPhone as mobile and on an iPad as a tablet', () => {
    expect(parseUserAgent(iPhoneSafari)).toEqual({
      browser: 'Mobile Safari',
      browserVersion: '17.4',
      os: 'iOS',
      osVersion: '17.4',
      deviceType: 'mobile',
    });
    expect(parseUserAgent(iPadSafari).deviceType).toBe('tablet');
  });

  it('reads Googlebot as a bot, also when it poses as a phone', () => {
    expect(parseUserAgent(googlebot)).toEqual({ deviceType: 'bot' });
    expect(parseUserAgent(googlebotSmartphone)).toEqual({
      browser: 'Chrome',
      browserVersion: '124.0.6367.201',
      os: 'Android',
      osVersion: '6.0.1',
      deviceType: 'bot',
    });
  });

  it('calls what it cannot place unknown', () => {
    expect(parseUserAgent('analytics-node-next/latest')).toEqual({ deviceType: 'unknown' });
    expect(parseUserAgent(undefined)).toEqual({ deviceType: 'unknown' });
  });
});

describe('UserAgentCache', () => {
  it('keeps at most its size, dropping the least recently used', () => {
    const cache = new UserAgentCache(2);
    cache.device(chromeDesktop);
    cache.device(iPhoneSafari);
    cache.device(chromeDesktop); // now the most recent
    cache.device(googlebot); // drops iPhoneSafari
    expect(cache.size).toBe(2);
    expect([...(cache as unknown as { entries: Map<string, unknown> }).entries.keys()]).toEqual([
      chromeDesktop,
      googlebot,
    ]);
  });

  it('hands out copies, so changing one event does not change the next', () => {
    const cache = new UserAgentCache();
    const first = cache.device(chromeDesktop);
    first.deviceType = 'changed';
    expect(cache.device(chromeDesktop).deviceType).toBe('desktop');
  });
});

describe('IP policy', () => {
  it('truncates IPv4 to its /24 and IPv6 to its /48', () => {
    expect(truncateIp('203.0.113.195')).toBe('203.0.113.0');
    expect(truncateIp('2001:db8:85a3:8d3:1319:8a2e:370:7348')).toBe('2001:db8:85a3::');
    expect(truncateIp('2001:0DB8:0001:0042::1')).toBe('2001:db8:1::');
    expect(truncateIp('2001:0db8:0000:0042::1')).toBe('2001:db8::');
    expect(truncateIp('2001:0:0db8::1')).toBe('2001:0:db8::');
    expect(truncateIp('::1')).toBe('::');
    expect(truncateIp('fe80::1%eth0')).toBe('fe80::');
  });

  it('treats IPv4-mapped IPv6 as the IPv4 address', () => {
    expect(truncateIp('::ffff:198.51.100.7')).toBe('198.51.100.0');
    expect(anonymizeIp('::FFFF:198.51.100.7', 'hash', 'k')).toBe(anonymizeIp('198.51.100.7', 'hash', 'k'));
  });

  it('hashes with HMAC-SHA256 under the key, 32 hex characters, the same for every spelling', () => {
    const expected = createHmac('sha256', 'secret').update('203.0.113.195').digest('hex').slice(0, 32);
    expect(anonymizeIp('203.0.113.195', 'hash', 'secret')).toBe(expected);
    expect(anonymizeIp('203.0.113.195', 'hash', 'other')).not.toBe(expected);
    expect(anonymizeIp('2001:db8::1', 'hash', 'k')).toBe(anonymizeIp('2001:0DB8:0:0:0:0:0:1', 'hash', 'k'));
    expect(anonymizeIp('2001:db8::1', 'hash', 'k')).toMatch(/^[0-9a-f]{32}$/);
  });

  it('drops, and gives nothing for what is not an address', () => {
    expect(anonymizeIp('203.0.113.195', 'drop')).toBeUndefined();
    expect(anonymizeIp('not an ip', 'truncate')).toBeUndefined();
    expect(anonymizeIp('999.1.1.1', 'truncate')).toBeUndefined();
  });
});

describe('correctClockSkew', () => {
  it('moves the event time by receivedAt − sentAt', () => {
    // The client's clock is 2 minutes and 500 ms fast.
    const receivedAt = new Date('2024-05-01T12:00:00.000Z');
    expect(correctClockSkew('2024-05-01T12:01:58.000Z', '2024-05-01T12:02:00.500Z', receivedAt)).toBe(
      '2024-05-01T11:59:57.500Z',
    );
    // And one hour slow.
    expect(correctClockSkew('2024-05-01T10:59:00.000Z', '2024-05-01T11:00:00.000Z', receivedAt)).toBe(
      '2024-05-01T11:59:00.000Z',
    );
  });

  it('keeps the client time without sentAt', () => {
    expect(correctClockSkew('2024-05-01T10:00:00.000Z', undefined, new Date('2024-05-01T12:00:00Z'))).toBe(
      '2024-05-01T10:00:00.000Z',
    );
  });

  it('keeps the client time when the corrected one would leave the years 0000 to 9999', () => {
    // A day of skew either way: the correction would be written -000001-12-31… and +010000-01-01…
    const late = new Date('2024-05-02T00:00:00Z');
    const early = new Date('2024-04-30T00:00:00Z');
    const sentAt = '2024-05-01T00:00:00.000Z';
    expect(correctClockSkew('0000-01-01T00:00:00.000Z', sentAt, early)).toBe('0000-01-01T00:00:00.000Z');
    expect(correctClockSkew('9999-12-31T23:00:00.000Z', sentAt, late)).toBe('9999-12-31T23:00:00.000Z');
    // At the edges, still corrected.
    expect(correctClockSkew('0000-01-02T00:00:00.000Z', sentAt, early)).toBe('0000-01-01T00:00:00.000Z');
    expect(correctClockSkew('9999-12-30T23:59:59.999Z', sentAt, late)).toBe('9999-12-31T23:59:59.999Z');
  });
});

describe('createEnricher', () => {
  const envelope: EventEnvelope = {
    eventId: '6f7b7a4e-2a55-4c1d-9a6c-0b1f1e2d3c4b',
    type: 'track',
    eventName: 'login',
    timestamp: '2024-05-01T12:01:58.000Z',
    sentAt: '2024-05-01T12:02:00.500Z',
    userId: 'u1',
    properties: { method: 'password' },
    context: { ip: '203.0.113.195', userAgent: iPhoneSafari, locale: 'en-GB' },
  };
  const input = {
    sourceId: 'src-1',
    receivedAt: new Date('2024-05-01T12:00:00.000Z'),
    request: { ip: '198.51.100.7', userAgent: chromeDesktop },
  };

  it('adds receivedAt, the corrected time, the device and the truncated address', () => {
    const enrich = createEnricher({ ipPolicy: 'truncate' });
    expect(enrich(envelope, input)).toEqual({
      eventId: '6f7b7a4e-2a55-4c1d-9a6c-0b1f1e2d3c4b',
      type: 'track',
      eventName: 'login',
      timestamp: '2024-05-01T11:59:57.500Z',
      originalTimestamp: '2024-05-01T12:01:58.000Z',
      sentAt: '2024-05-01T12:02:00.500Z',
      receivedAt: '2024-05-01T12:00:00.000Z',
      userId: 'u1',
      properties: { method: 'password' },
      context: { userAgent: iPhoneSafari, locale: 'en-GB' },
      sourceId: 'src-1',
      device: {
        browser: 'Mobile Safari',
        browserVersion: '17.4',
        os: 'iOS',
        osVersion: '17.4',
        deviceType: 'mobile',
      },
      ip: '203.0.113.0',
    });
    expect(envelope.context?.ip).toBe('203.0.113.195');
  });

  it('falls back to the request: its User-Agent header and peer address', () => {
    const enrich = createEnricher({ ipPolicy: 'truncate' });
    const { context: _context, ...bare } = envelope;
    const stored = enrich(bare, input);
    expect(stored.device.browser).toBe('Chrome');
    expect(stored.ip).toBe('198.51.100.0');
    expect(stored.context).toBeUndefined();
  });

  it('never keeps the raw address, under every policy', () => {
    for (const ipPolicy of ['truncate', 'hash', 'drop'] as const) {
      const stored = createEnricher({ ipPolicy, ipHashKey: Buffer.alloc(32, 7) })(envelope, input);
      const text = JSON.stringify(stored);
      expect(text).not.toContain('203.0.113.195');
      expect(text).not.toContain('198.51.100.7');
      expect(stored.context).toEqual({ userAgent: iPhoneSafari, locale: 'en-GB' });
      if (ipPolicy === 'drop') expect(stored.ip).toBeUndefined();
      if (ipPolicy === 'hash') expect(stored.ip).toMatch(/^[0-9a-f]{32}$/);
    }
  });

  it('needs a key for the hash policy', () => {
    expect(() => createEnricher({ ipPolicy: 'hash' })).toThrow("ipPolicy 'hash' needs ipHashKey.");
  });
});

describe('the Date-free paths against the straightforward code', () => {
  /**
   * Segment's correction as it was written first: Date.parse, a Date and toISOString for every event; a corrected
   * time that toISOString writes with a six-digit year (past 0000 to 9999) keeps the client's.
   */
  function correctClockSkewByDate(timestamp: string, sentAt: string | undefined, receivedAt: Date): string {
    const event = Date.parse(timestamp);
    const sent = sentAt === undefined ? Number.NaN : Date.parse(sentAt);
    if (Number.isNaN(event) || Number.isNaN(sent)) return timestamp;
    const corrected = new Date(event + (receivedAt.getTime() - sent));
    if (Number.isNaN(corrected.getTime())) return timestamp;
    const iso = corrected.toISOString();
    return iso.length === 24 ? iso : timestamp;
  }

  const instant = fc.oneof(
    fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) }),
    fc.integer({ min: -8.64e15, max: 8.64e15 }),
    fc.constantFrom(8.64e15, -8.64e15, 0, 253_402_300_800_000),
  );
  const timeText = fc.oneof(
    instant.map((ms) => new Date(ms).toISOString()),
    fc.constantFrom(
      '2024-02-30T10:00:00.000Z',
      '2024-05-01T24:00:00.000Z',
      '2024-05-01T12:00:00+02:00',
      'soon',
      '',
    ),
    fc.string({ maxLength: 26 }),
  );
  const receivedAt = fc.oneof(
    instant.map((ms) => new Date(ms)),
    fc.constant(new Date(Number.NaN)),
  );

  it('corrects the clock skew as Date.parse, new Date and toISOString did', () => {
    fc.assert(
      fc.property(timeText, fc.option(timeText, { nil: undefined }), receivedAt, (timestamp, sentAt, at) => {
        expect(correctClockSkew(timestamp, sentAt, at)).toBe(correctClockSkewByDate(timestamp, sentAt, at));
      }),
      { numRuns: 20_000 },
    );
  });

  it('corrects runs of events that share one sentAt and one receive time as it corrects each alone', () => {
    const enrich = createEnricher({ ipPolicy: 'truncate' });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(timeText, fc.option(timeText, { nil: undefined })), { minLength: 1, maxLength: 8 }),
        receivedAt,
        fc.boolean(),
        (times, at, shareSentAt) => {
          if (Number.isNaN(at.getTime())) return; // no receive time to write: enrich throws, as it did
          const facts = { sourceId: 's', receivedAt: at, request: {} };
          for (const [timestamp, ownSentAt] of times) {
            const sentAt = shareSentAt ? times[0]![1] : ownSentAt;
            const envelope: EventEnvelope = {
              eventId: 'e',
              type: 'track',
              eventName: 'x',
              timestamp,
              userId: 'u',
              properties: {},
            };
            if (sentAt !== undefined) envelope.sentAt = sentAt;
            expect(enrich(envelope, facts).timestamp).toBe(correctClockSkewByDate(timestamp, sentAt, at));
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });

  /** The stored event as enrich built it before (key order included), from the straightforward pieces. */
  function storedJsonByDate(
    envelope: EventEnvelope,
    sourceId: string,
    receivedAt: Date,
    requestUa: string,
    requestIp = '127.0.0.1',
  ): string {
    const { ip: _ip, ...context } = envelope.context ?? {};
    const clientIp = envelope.context?.ip;
    const ip =
      (clientIp ? anonymizeIp(clientIp, 'truncate') : undefined) ?? anonymizeIp(requestIp, 'truncate');
    const event: Record<string, unknown> = {
      eventId: envelope.eventId,
      type: envelope.type,
      eventName: envelope.eventName,
      timestamp: correctClockSkewByDate(envelope.timestamp, envelope.sentAt, receivedAt),
      originalTimestamp: envelope.timestamp,
      receivedAt: receivedAt.toISOString(),
      sourceId,
      properties: envelope.properties,
      device: parseUserAgent(envelope.context?.userAgent ?? requestUa),
    };
    for (const key of [
      'sentAt',
      'sessionId',
      'userId',
      'anonymousId',
      'groupId',
      'previousId',
      'traits',
      'integrations',
    ] as const) {
      if (envelope[key] !== undefined) event[key] = envelope[key];
    }
    if (envelope.context !== undefined) event.context = context;
    if (ip !== undefined) event.ip = ip;
    return JSON.stringify(event);
  }

  it('stores the bench events as the straightforward code would, byte for byte', () => {
    const batches = eventBatches(50);
    const enrich = createEnricher({ ipPolicy: 'truncate' });
    for (let i = 0; i < 12; i++) {
      const receivedAt = new Date(Date.now() + i * 61_000);
      const results = mapReferenceBody(JSON.parse(batches.next()), {
        sourceId: 'bench',
        receivedAt,
        limits: { maxEventBytes: 32 * 1024, strict: false },
      });
      const facts = { sourceId: 'bench', receivedAt, request: { ip: '127.0.0.1', userAgent: 'bench' } };
      for (const result of results) {
        if (!result.ok) throw new Error(result.message);
        const expected = storedJsonByDate(result.envelope, 'bench', receivedAt, 'bench');
        expect(JSON.stringify(enrich(result.envelope, facts))).toBe(expected);
      }
    }
  });

  it('stores generated events as the straightforward code would, byte for byte', () => {
    const enrich = createEnricher({ ipPolicy: 'truncate' });
    const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });
    const envelope = fc.record(
      {
        eventId: fc.uuid(),
        type: fc.constantFrom('track', 'page', 'identify'),
        eventName: fc.string({ minLength: 1, maxLength: 12 }),
        timestamp: timeText,
        sentAt: optional(timeText),
        sessionId: optional(fc.string()),
        userId: optional(fc.string()),
        anonymousId: optional(fc.string()),
        groupId: optional(fc.string()),
        previousId: optional(fc.string()),
        properties: fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 })),
        traits: optional(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 1 }))),
        integrations: optional(fc.dictionary(fc.string(), fc.boolean())),
        context: optional(
          fc.record(
            {
              ip: fc.constantFrom('203.0.113.195', '2001:db8::1', 'nonsense'),
              userAgent: fc.constantFrom(chromeDesktop, iPhoneSafari, googlebot, 'curl/8.0'),
              locale: fc.string(),
            },
            { requiredKeys: [] },
          ),
        ),
      },
      { requiredKeys: ['eventId', 'type', 'eventName', 'timestamp', 'properties'] },
    );
    fc.assert(
      fc.property(envelope, receivedAt, (generated, at) => {
        const env = generated as EventEnvelope;
        const facts = {
          sourceId: 'gen',
          receivedAt: at,
          request: { ip: '127.0.0.1', userAgent: chromeDesktop },
        };
        if (Number.isNaN(at.getTime())) return; // no receive time to write: both throw on toISOString
        expect(JSON.stringify(enrich(env, facts))).toBe(storedJsonByDate(env, 'gen', at, chromeDesktop));
      }),
      { numRuns: 2_000 },
    );
  });
});
