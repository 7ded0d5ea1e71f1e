import fc from 'fast-check';
import { Compile } from 'typebox/compile';
import { describe, expect, it } from 'vitest';
import { EventEnvelope } from './envelope.ts';
import { checkIdentity, isValidEnvelope, validateEnvelope } from './envelope-validation.ts';

const valid = {
  eventId: '0e3c2f4e-1b2a-4c3d-8e9f-0a1b2c3d4e5f',
  type: 'track',
  eventName: 'page_view',
  timestamp: '2024-11-23T10:15:30.123Z',
  anonymousId: 'anon-7f3a',
  properties: { path: '/references' },
} as const;

function without<T extends object>(value: T, key: keyof T): Partial<T> {
  const { [key]: _removed, ...rest } = value;
  return rest as Partial<T>;
}

describe('validateEnvelope', () => {
  it('accepts a minimal envelope and hands back the same object', () => {
    const result = validateEnvelope(valid);
    expect(result).toEqual({ ok: true, value: valid });
    expect(result.ok && result.value).toBe(valid);
    expect(isValidEnvelope(valid)).toBe(true);
  });

  it('accepts a full envelope with context, Segment fields and extra context keys', () => {
    const full = {
      ...valid,
      type: 'page',
      sentAt: '2024-11-23T10:15:31+01:00',
      sessionId: 's-1',
      userId: 'u-42',
      groupId: 'team-1',
      traits: { plan: 'pro' },
      integrations: { All: true },
      context: {
        page: { url: 'https://app.example/references', path: '/references', referrer: '', title: 'Refs' },
        userAgent: 'Mozilla/5.0',
        screen: { width: 1920, height: 1080 },
        locale: 'en-GB',
        timezone: 'Europe/London',
        library: { name: '@deepref/browser', version: '0.1.0' },
        campaign: { source: 'newsletter' },
      },
    };
    expect(validateEnvelope(full)).toEqual({ ok: true, value: full });
  });

  it('enforces format "uuid" in the compiled, accelerated validator', () => {
    expect(Compile(EventEnvelope).IsAccelerated()).toBe(true);
    for (const eventId of [
      'not-a-uuid',
      '0e3c2f4e1b2a4c3d8e9f0a1b2c3d4e5f',
      '0e3c2f4e-1b2a-4c3d-8e9f-0a1b2c3d4e5',
      '',
    ]) {
      expect(validateEnvelope({ ...valid, eventId }), eventId).toEqual({
        ok: false,
        errors: [{ path: '/eventId', message: 'must match format "uuid"' }],
      });
    }
    expect(validateEnvelope({ ...valid, eventId: '0E3C2F4E-1B2A-4C3D-8E9F-0A1B2C3D4E5F' }).ok).toBe(true);
  });

  it('enforces format "date-time" (RFC 3339, offset required) on timestamp and sentAt', () => {
    for (const timestamp of [
      'yesterday',
      '2024-11-23',
      '2024-11-23T10:15:30', // no offset: ambiguous event time
      '2024-02-30T10:15:30Z',
      '2024-11-23T25:15:30Z',
      '1732356930123',
    ]) {
      expect(validateEnvelope({ ...valid, timestamp }), timestamp).toEqual({
        ok: false,
        errors: [{ path: '/timestamp', message: 'must match format "date-time"' }],
      });
    }
    expect(validateEnvelope({ ...valid, sentAt: 'soon' })).toEqual({
      ok: false,
      errors: [{ path: '/sentAt', message: 'must match format "date-time"' }],
    });
    expect(validateEnvelope({ ...valid, timestamp: '2024-11-23T10:15:30-05:00' }).ok).toBe(true);
  });

  it('names each missing required field', () => {
    expect(validateEnvelope(without(valid, 'eventName'))).toEqual({
      ok: false,
      errors: [{ path: '/eventName', message: 'is required' }],
    });
    expect(validateEnvelope({ anonymousId: 'a' })).toEqual({
      ok: false,
      errors: [
        { path: '/eventId', message: 'is required' },
        { path: '/type', message: 'is required' },
        { path: '/eventName', message: 'is required' },
        { path: '/timestamp', message: 'is required' },
        { path: '/properties', message: 'is required' },
      ],
    });
  });

  it('refuses an extra top-level field, naming it', () => {
    expect(validateEnvelope({ ...valid, url: 'https://app.example/' })).toEqual({
      ok: false,
      errors: [{ path: '/url', message: 'is not an allowed property' }],
    });
    expect(validateEnvelope({ ...valid, 'a/b~c': 1 })).toEqual({
      ok: false,
      errors: [{ path: '/a~1b~0c', message: 'is not an allowed property' }],
    });
  });

  it('needs a userId or an anonymousId', () => {
    const anonymous = without(valid, 'anonymousId');
    expect(validateEnvelope(anonymous)).toEqual({
      ok: false,
      errors: [{ path: '', message: 'must have userId or anonymousId' }],
    });
    expect(isValidEnvelope(anonymous)).toBe(false);
    expect(validateEnvelope({ ...anonymous, userId: 'u-42' }).ok).toBe(true);
    expect(validateEnvelope({ ...anonymous, userId: '' })).toEqual({
      ok: false,
      errors: [{ path: '/userId', message: 'must have at least 1 characters' }],
    });
    expect(validateEnvelope({ ...anonymous, userId: undefined, anonymousId: undefined }).ok).toBe(false);
    expect(checkIdentity({ userId: 'u' })).toBe(true);
    expect(checkIdentity({ anonymousId: 'a' })).toBe(true);
    expect(checkIdentity({})).toBe(false);
  });

  it('checks the Segment call type and the kind of properties', () => {
    expect(validateEnvelope({ ...valid, type: 'event', properties: [] })).toEqual({
      ok: false,
      errors: [
        { path: '/type', message: 'must be one of track, page, screen, identify, group, alias' },
        { path: '/properties', message: 'must be object' },
      ],
    });
  });

  it('refuses what is not an object', () => {
    for (const value of [null, undefined, 'event', 42, [valid]]) {
      expect(validateEnvelope(value)).toEqual({
        ok: false,
        errors: [{ path: '', message: 'must be object' }],
      });
    }
  });

  it('never repeats the offending value in an error', () => {
    const secret = 'jane.doe@example.com';
    const result = validateEnvelope({
      ...valid,
      eventId: secret,
      timestamp: secret,
      sessionId: { secret },
      userId: secret.repeat(20),
      context: { userAgent: [secret], locale: secret.repeat(10) },
    });
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain('jane');
  });
});

// ---- properties --------------------------------------------------------------------------------------------

const id = fc.string({ minLength: 1, maxLength: 256 });
const isoTime = fc.oneof(
  fc
    .date({
      min: new Date('1970-01-01T00:00:00Z'),
      max: new Date('9999-12-31T23:59:59Z'),
      noInvalidDate: true,
    })
    .map((date) => date.toISOString()),
  fc
    .tuple(
      fc.date({
        min: new Date('2000-01-01T00:00:00Z'),
        max: new Date('2099-12-31T00:00:00Z'),
        noInvalidDate: true,
      }),
      fc.integer({ min: -12, max: 14 }),
    )
    .map(([date, hours]) => {
      const sign = hours < 0 ? '-' : '+';
      const offset = `${sign}${String(Math.abs(hours)).padStart(2, '0')}:00`;
      return `${date.toISOString().slice(0, 19)}${offset}`;
    }),
);
const identity = fc.oneof(
  fc.record({ userId: id }),
  fc.record({ anonymousId: id }),
  fc.record({ userId: id, anonymousId: id }),
);
const context = fc.record(
  {
    page: fc.record(
      { url: fc.webUrl(), path: fc.string({ maxLength: 100 }), referrer: fc.string({ maxLength: 100 }) },
      { requiredKeys: [] },
    ),
    userAgent: fc.string({ maxLength: 200 }),
    locale: fc.constantFrom('en-US', 'fr-FR', 'de'),
    timezone: fc.constantFrom('UTC', 'Europe/Paris'),
    library: fc.record({ name: fc.string({ maxLength: 50 }), version: fc.string({ maxLength: 20 }) }),
  },
  { requiredKeys: [] },
);
const envelope = fc
  .tuple(
    fc.record(
      {
        eventId: fc.uuid(),
        type: fc.constantFrom('track', 'page', 'screen', 'identify', 'group', 'alias'),
        eventName: fc.string({ minLength: 1, maxLength: 200 }),
        timestamp: isoTime,
        sentAt: isoTime,
        sessionId: id,
        properties: fc.dictionary(fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 2 })),
        traits: fc.dictionary(fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 1 })),
        context,
      },
      { requiredKeys: ['eventId', 'type', 'eventName', 'timestamp', 'properties'] },
    ),
    identity,
  )
  .map(([fields, who]) => ({ ...fields, ...who }));

const notAString = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string(), { maxKeys: 3 }),
);
const notAnObject = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.string(),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
);
const requiredStringField = fc.constantFrom('eventId', 'type', 'eventName', 'timestamp');

describe('validateEnvelope (properties)', () => {
  it('accepts every envelope built from valid parts', () => {
    fc.assert(
      fc.property(envelope, (event) => {
        expect(validateEnvelope(event)).toEqual({ ok: true, value: event });
        expect(isValidEnvelope(event)).toBe(true);
      }),
    );
  });

  it('refuses it once a required field has the wrong type, and points at that field', () => {
    const mutated = fc.oneof(
      fc.tuple(envelope, requiredStringField, notAString),
      fc.tuple(envelope, fc.constant('properties'), notAnObject),
    );
    fc.assert(
      fc.property(mutated, ([event, field, wrong]) => {
        const result = validateEnvelope({ ...event, [field]: wrong });
        expect(result.ok).toBe(false);
        expect(isValidEnvelope({ ...event, [field]: wrong })).toBe(false);
        if (!result.ok) expect(result.errors.map((error) => error.path)).toEqual([`/${field}`]);
      }),
    );
  });

  it('refuses it once a required field is missing', () => {
    const field = fc.constantFrom('eventId', 'type', 'eventName', 'timestamp', 'properties');
    fc.assert(
      fc.property(envelope, field, (event, missing) => {
        expect(validateEnvelope(without(event, missing as keyof typeof event))).toEqual({
          ok: false,
          errors: [{ path: `/${missing}`, message: 'is required' }],
        });
      }),
    );
  });
});
