/**
 * Hostile and broken input through the real server, hand-written and generated (fast-check, fixed seed): each
 * request gets a clear 4xx with `{ error: { code, message } }`, or each item a dead letter or an event stored
 * exactly as sent; the server answers its health check after every request; and at the end nothing stored is
 * corrupt: every log record parses, the engines' integrity checks pass, the warehouse and the lake hold the log's
 * events with the same text. Runs once per adapter set.
 */
import { randomUUID } from 'node:crypto';
import type { StoredEvent } from '@deepref/schema';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetterReasons } from '../errors.ts';
import { type AdapterSet, adapterSets } from '../testing/adapter-sets.ts';
import {
  deadLettersAfter,
  expectHealthy,
  expectStoresAgree,
  lastDeadLetterId,
  storedEvents,
  stringValuesIn,
} from '../testing/e2e-checks.ts';
import type { PostOptions, TestPlatform, TestResponse } from '../testing/test-platform.ts';

const route = '/api/telemetry/events';
/** Fixed, so a failure in CI replays on any machine; bounded, so the file stays fast. */
const propertyRuns = { numRuns: 100, seed: 20_261_127 };

const jsonErrorMessage = new RegExp(
  '^The request body is not valid JSON: (?:the body is empty|unexpected data after the JSON value|' +
    "unexpected end of input|unexpected character|expected ',' or '[}\\]]'|expected a double-quoted property name|" +
    "expected ':' after a property name|unterminated string|control character in a string|bad unicode escape|" +
    'bad escape|bad number) at position \\d+\\.$',
);
const badUtf8 = {
  error: {
    code: 'DEEPREF_BAD_ENCODING',
    message: 'The request body could not be decoded: the body is not valid UTF-8.',
  },
};
const notABatch = {
  error: {
    code: 'DEEPREF_INVALID_BODY',
    message:
      'The request body does not have the expected shape: expected a JSON array of events or an object with a `batch` array.',
  },
};
const loneSurrogate = /\p{Cs}/u;

function event(overrides: Record<string, unknown> = {}) {
  return {
    eventId: randomUUID(),
    eventName: 'bad_input_probe',
    timestamp: '2026-03-01T12:00:00.000Z',
    userId: 'user-bad-input',
    properties: {},
    ...overrides,
  };
}

function prototypeSnapshot() {
  return {
    names: Object.getOwnPropertyNames(Object.prototype).sort(),
    proto: Object.getPrototypeOf(Object.prototype),
  };
}

for (const adapters of adapterSets) {
  describe(`bad input (${adapters.name})`, () => badInputSuite(adapters));
}

function badInputSuite(adapters: AdapterSet) {
  let tp: TestPlatform;
  const prototypeBefore = prototypeSnapshot();
  beforeAll(async () => {
    tp = await adapters.start();
  });
  afterAll(async () => {
    await tp?.close();
  });

  /** Posts, then checks the server is still alive before the test looks at the answer. */
  async function send(body: unknown, options?: PostOptions, path = route): Promise<TestResponse> {
    const response = await tp.post(path, body, options);
    await expectHealthy(tp);
    return response;
  }

  /** A refusal of the whole request: the status, exactly `{ error: { code, message } }`, nothing stored. */
  function expectRefused(response: TestResponse, status: number, code: string): string {
    expect(response.status).toBe(status);
    expect(response.body).toEqual({ error: { code, message: expect.any(String) } });
    return response.body.error.message;
  }

  /** The events a request appended, by id: the log read from the head it had before. */
  async function appendedSince(head: number): Promise<Map<string, StoredEvent>> {
    const records = await tp.platform.log.read(head, 1_000);
    return new Map(records.map(({ event }) => [event.eventId, event]));
  }

  /** Sends one item and returns its result and, if stored, the stored event. */
  async function sendItem(item: unknown) {
    const head = await tp.platform.log.head();
    const response = await send([item]);
    expect(response.status).toBe(200);
    expect(response.body.results).toHaveLength(1);
    const [result] = response.body.results;
    const stored = result.status === 'accepted' ? (await appendedSince(head)).get(result.eventId) : undefined;
    if (result.status === 'accepted') expect(stored).toBeDefined();
    return { result, stored };
  }

  describe('malformed and truncated JSON', () => {
    const cases: [body: string, detail: string][] = [
      ['', 'the body is empty at position 0'],
      ['   ', 'the body is empty at position 3'],
      ['[', 'unexpected end of input at position 1'],
      ['[{"eventName":"a",}]', 'expected a double-quoted property name at position 18'],
      ["[{'eventName':'a'}]", 'expected a double-quoted property name at position 2'],
      ['[{"eventName" "a"}]', "expected ':' after a property name at position 14"],
      ['[1 2]', "expected ',' or ']' at position 3"],
      ['{"batch":[] "x":1}', "expected ',' or '}' at position 12"],
      ['[nul]', 'unexpected character at position 1'],
      ['[NaN]', 'unexpected character at position 1'],
      ['[01]', "expected ',' or ']' at position 2"],
      ['[1e]', 'bad number at position 3'],
      ['["\\x"]', 'bad escape at position 3'],
      ['["\\u12G4"]', 'bad unicode escape at position 6'],
      ['["a\tb"]', 'control character in a string at position 3'],
      ['["a\u0000b"]', 'control character in a string at position 3'],
      ['["secret-token-0451', 'unexpected end of input at position 19'],
      ['[]]', 'unexpected data after the JSON value at position 2'],
      ['[] {"batch":[]}', 'unexpected data after the JSON value at position 3'],
    ];
    it.each(cases)('answers %j with 400 DEEPREF_MALFORMED_JSON: %s', async (body, detail) => {
      const message = expectRefused(await send(body), 400, 'DEEPREF_MALFORMED_JSON');
      expect(message).toBe(`The request body is not valid JSON: ${detail}.`);
    });

    it('answers every truncation of a valid batch with 400 DEEPREF_MALFORMED_JSON, quoting none of it', async () => {
      const batch = fc.array(
        fc.record({ eventId: fc.uuid(), eventName: fc.string(), properties: fc.jsonValue({ maxDepth: 3 }) }),
        { minLength: 1, maxLength: 4 },
      );
      await fc.assert(
        fc.asyncProperty(batch, fc.nat(), async (events, cut) => {
          const text = JSON.stringify(events);
          const truncated = text.slice(0, cut % text.length);
          const message = expectRefused(await send(truncated), 400, 'DEEPREF_MALFORMED_JSON');
          expect(message).toMatch(jsonErrorMessage);
        }),
        propertyRuns,
      );
    });
  });

  describe('wrong types', () => {
    it.each([
      ['42', 42],
      ['a string', '"events"'],
      ['null', 'null'],
      ['true', 'true'],
      ['an object without a batch', '{"events":[]}'],
    ])('answers a body that is %s with 400 DEEPREF_INVALID_BODY', async (_kind, body) => {
      const response = await send(typeof body === 'number' ? String(body) : body);
      expect(response.status).toBe(400);
      expect(response.body).toEqual(notABatch);
    });

    const wrongTypes: [field: string, value: unknown, reason: string, message: string][] = [
      ['eventName', 42, 'schema_violation', '/event is required for a track call and must be a string'],
      ['eventName', '', 'schema_violation', '/event is required for a track call and must be a string'],
      ['eventName', 'n'.repeat(201), 'schema_violation', '/eventName must have at most 200 characters'],
      ['timestamp', 12_345, 'schema_violation', '/timestamp must be an ISO 8601 date-time'],
      [
        'timestamp',
        '+275760-09-13T00:00:00.000Z',
        'schema_violation',
        '/timestamp must be an ISO 8601 date-time',
      ],
      ['properties', [1, 2], 'schema_violation', '/properties must be object'],
      ['properties', 'text', 'schema_violation', '/properties must be object'],
      ['eventId', true, 'schema_violation', '/eventId must be a string'],
      ['anonymousId', ['a'], 'schema_violation', '/anonymousId must be string'],
      ['userId', 'u'.repeat(257), 'schema_violation', '/userId must have at most 256 characters'],
      ['context', 'text', 'schema_violation', '/context must be object'],
      ['traits', 5, 'schema_violation', '/traits must be object'],
      [
        'type',
        'purchase',
        'schema_violation',
        '/type must be one of track, page, screen, identify, group, alias',
      ],
    ];
    it.each(wrongTypes)('dead-letters an event whose %s is %j', async (field, value, reason, message) => {
      const lastId = await lastDeadLetterId(tp);
      const item = event({ [field]: value });
      const { result } = await sendItem(item);
      expect(result).toEqual({
        ...(field === 'eventId' ? {} : { eventId: item.eventId }),
        status: 'rejected',
        reason,
        message,
      });
      const [letter] = await deadLettersAfter(tp, lastId);
      expect(letter).toMatchObject({ reason, message, raw: JSON.stringify(item) });
    });

    it('dead-letters an event whose userId is an object as one without identity', async () => {
      const { result } = await sendItem(event({ userId: { id: 7 } }));
      expect(result).toMatchObject({ status: 'rejected', reason: 'missing_identity' });
    });
  });

  describe('huge strings and deep nesting', () => {
    it('stores a 28 KB string value and a 2 KB key byte-exact', async () => {
      const properties = { ['k'.repeat(2_048)]: 'v'.repeat(28_000), text: 'ü€😀'.repeat(200) };
      const { result, stored } = await sendItem(event({ properties }));
      expect(result.status).toBe('accepted');
      expect(JSON.stringify(stored!.properties)).toBe(JSON.stringify(properties));
    });

    it('dead-letters a 400 KB string as a size violation', async () => {
      const item = event({ properties: { blob: 'x'.repeat(400_000) } });
      const { result } = await sendItem(item);
      expect(result).toEqual({
        eventId: item.eventId,
        status: 'rejected',
        reason: 'size_violation',
        message: `the event is ${JSON.stringify(item).length} bytes of JSON; the limit is 32768`,
      });
    });

    it('dead-letters properties nested 10,000 levels deep, arrays or objects', async () => {
      const eventId = randomUUID();
      for (const nested of [
        `${'['.repeat(10_000)}${']'.repeat(10_000)}`,
        `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`,
      ]) {
        const body = `[{"eventId":"${eventId}","eventName":"deep","userId":"u","properties":{"d":${nested}}}]`;
        const response = await send(body);
        expect(response.status).toBe(200);
        expect(response.body.results).toEqual([
          {
            status: 'rejected',
            reason: 'payload_format',
            message: 'the item nests objects and arrays more than 1024 levels deep',
          },
        ]);
      }
      expect((await storedEvents(tp)).has(eventId)).toBe(false);
    });

    it('dead-letters an item nested 3,000 levels deep with its raw text, and stores the rest of its batch', async () => {
      // Deep enough to overflow a recursive walk after the wire (a 500 for the whole batch before), shallow enough to
      // serialise.
      let nested: unknown = 'bottom';
      for (let level = 0; level < 3_000; level++) nested = level % 2 ? [nested] : { [`l${level}`]: nested };
      const lastId = await lastDeadLetterId(tp);
      const deep = event({ properties: { nested } });
      const fine = event();
      const response = await send([deep, fine]);
      expect(response.status).toBe(200);
      expect(response.body.results).toEqual([
        {
          eventId: deep.eventId,
          status: 'rejected',
          reason: 'payload_format',
          message: 'the item nests objects and arrays more than 1024 levels deep',
        },
        { eventId: fine.eventId, status: 'accepted' },
      ]);
      const [letter] = await deadLettersAfter(tp, lastId);
      expect(letter).toMatchObject({ reason: 'payload_format', raw: JSON.stringify(deep) });
    });

    it('dead-letters every item of a batch whose context nests more than 1,024 levels deep', async () => {
      let nested: unknown = 1;
      for (let level = 0; level < 1_100; level++) nested = { n: nested };
      const items = [event(), event()].map(({ eventName, ...rest }) => ({
        ...rest,
        type: 'track',
        event: eventName,
      }));
      const response = await send({ batch: items, context: { deep: nested } }, undefined, '/v1/batch');
      expect(response.status).toBe(200);
      expect(response.body.results).toEqual(
        items.map(() => ({
          status: 'rejected',
          reason: 'payload_format',
          message: 'the batch context the item inherits nests objects and arrays more than 1024 levels deep',
        })),
      );
    });

    it('dead-letters an item that is an array nested 10,000 levels deep', async () => {
      const response = await send(`[${'['.repeat(10_000)}${']'.repeat(10_000)}]`);
      expect(response.status).toBe(200);
      expect(response.body.results).toEqual([
        { status: 'rejected', reason: 'payload_format', message: 'the item is an array, not a JSON object' },
      ]);
    });

    it('stores properties nested 1,000 levels deep byte-exact', async () => {
      let nested: unknown = 'bottom';
      for (let level = 0; level < 1_000; level++) nested = level % 2 ? [nested] : { [`l${level}`]: nested };
      const { result, stored } = await sendItem(event({ properties: { nested } }));
      expect(result.status).toBe('accepted');
      expect(JSON.stringify(stored!.properties)).toBe(JSON.stringify({ nested }));
    });
  });

  describe('prototype keys', () => {
    it('drops __proto__ and constructor.prototype keys everywhere, and Object.prototype stays clean', async () => {
      const eventId = randomUUID();
      const item =
        `{"eventId":"${eventId}","type":"track","event":"proto_probe","userId":"u","__proto__":{"polluted":"item"},` +
        `"properties":{"__proto__":{"polluted":"properties"},"\\u005f_proto__":{"polluted":"escaped"},` +
        `"constructor":{"prototype":{"polluted":"constructor"}},"nested":{"__proto__":{"isAdmin":true},` +
        `"constructor":"kept, a plain value"},"ok":1},` +
        `"context":{"__proto__":{"polluted":"context"},"page":{"url":"https://example.com"}}}`;
      const body = `{"batch":[${item}],"__proto__":{"polluted":"batch"},"context":{"__proto__":{"polluted":"shared"},"locale":"en"},"integrations":{"constructor":{"prototype":{"polluted":1}}}}`;
      const response = await send(body, {}, '/v1/batch');
      expect(response.status).toBe(200);
      expect(response.body.results).toEqual([{ eventId, status: 'accepted' }]);

      const stored = (await storedEvents(tp)).get(eventId)!;
      expect(stored.properties).toEqual({ nested: { constructor: 'kept, a plain value' }, ok: 1 });
      expect(Object.getPrototypeOf(stored.properties)).toBe(Object.prototype);
      expect(stored.context).toEqual({ locale: 'en', page: { url: 'https://example.com' } });
      expect(stored.integrations).toEqual({});
      expect(prototypeSnapshot()).toEqual(prototypeBefore);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    });
  });

  describe('invalid UTF-8', () => {
    const sequences: [name: string, bytes: number[]][] = [
      ['a lone continuation byte', [0x80]],
      ['0xFF', [0xff]],
      ['a truncated three-byte sequence', [0xe2, 0x82]],
      ['an overlong slash', [0xc0, 0xaf]],
      ['an encoded surrogate', [0xed, 0xa0, 0x80]],
      ['a code point past U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ];
    it.each(sequences)('answers %s inside a string with 400 DEEPREF_BAD_ENCODING', async (_name, bytes) => {
      const [head, tail] = JSON.stringify([event({ eventName: 'SPLIT' })]).split('SPLIT') as [string, string];
      const body = Buffer.concat([Buffer.from(head), Buffer.from(bytes), Buffer.from(tail)]);
      const plain = await send(body);
      expect(plain.status).toBe(400);
      expect(plain.body).toEqual(badUtf8);
      const gzipped = await send(body, { gzip: true });
      expect(gzipped.body).toEqual(badUtf8);
    });

    it('takes a body that starts with a UTF-8 byte order mark', async () => {
      const item = event();
      const response = await send(
        Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify([item]))]),
      );
      expect(response.status).toBe(200);
      expect(response.body.results).toEqual([{ eventId: item.eventId, status: 'accepted' }]);
    });
  });

  describe('NUL bytes, SQL fragments, emoji and lone surrogates', () => {
    const sqlName = "x'); DROP TABLE events;--";
    const texts = {
      nul: {
        eventName: 'nul\u0000name',
        userId: 'user\u0000id',
        properties: { 'key\u0000': 'value\u0000', '\u0000': '' },
      },
      sql: {
        eventName: sqlName,
        userId: "' OR 1=1 --",
        sessionId: "Robert'); DROP TABLE students;--",
        properties: {
          "a'); DELETE FROM events; --": 1,
          '"; DROP TABLE dead_letters; --': "' UNION SELECT * FROM consumer_offsets --",
          'x" = 1 OR "1" = "1': '\\',
        },
      },
      emoji: {
        eventName: '🚀 launch 👨‍👩‍👧 ✨',
        userId: 'ユーザー-ü',
        properties: { '😀': '🏳️‍🌈', flags: '🇫🇷🇩🇪' },
      },
      loneSurrogatesInProperties: {
        properties: { '\udfff': '\ud800', pair: '\ud83d\ude00', reversed: '\ude00\ud83d' },
      },
    };
    it.each(Object.entries(texts))(
      'stores %s byte-exact in the log and the warehouse',
      async (_name, fields) => {
        const item = event(fields);
        const { result, stored } = await sendItem(item);
        expect(result).toEqual({ eventId: item.eventId, status: 'accepted' });
        for (const key of Object.keys(fields) as (keyof StoredEvent)[]) {
          expect(JSON.stringify(stored![key])).toBe(JSON.stringify(item[key as keyof typeof item]));
        }
        await tp.platform.drain();
        const row = await tp.platform.warehouse.query(
          'SELECT event_name, user_id, session_id, properties FROM events WHERE event_id = $1',
          [item.eventId],
        );
        // Byte-exact in the warehouse too, as far as its engine can hold text (`warehouseText`).
        const text = adapters.warehouseText;
        const sessionId = (item as { sessionId?: string }).sessionId;
        expect(row.rows).toEqual([
          [
            text(item.eventName),
            item.userId === undefined ? undefined : text(item.userId),
            sessionId === undefined ? null : text(sessionId),
            mapText(item.properties, text),
          ],
        ]);
      },
    );

    it('finds an event by a name full of SQL through a bound parameter, and every table is still there', async () => {
      const byName = await tp.platform.warehouse.query('SELECT count(*) FROM events WHERE event_name = $1', [
        sqlName,
      ]);
      expect(byName.rows).toEqual([[1]]);
      const events = await tp.platform.warehouse.query('SELECT count(*) > 0 FROM events');
      expect(events.rows).toEqual([[true]]);
    });

    it('keeps an SQL fragment in a dead letter as it came', async () => {
      const lastId = await lastDeadLetterId(tp);
      const item = event({ eventName: sqlName, userId: undefined });
      await sendItem(item);
      const [letter] = await deadLettersAfter(tp, lastId);
      expect(letter).toMatchObject({
        reason: 'missing_identity',
        eventName: sqlName,
        raw: JSON.stringify(item),
      });
    });

    it.each([
      ['eventName', 'launch \ud800'],
      ['userId', '\udc00user'],
      ['anonymousId', 'anon\ud83d'],
      ['sessionId', '\ude00'],
    ])(
      'dead-letters an event whose %s holds a lone surrogate, which no UTF-8 store can keep',
      async (field, value) => {
        const item = event({ [field]: value });
        const { result } = await sendItem(item);
        expect(result).toEqual({
          eventId: item.eventId,
          status: 'rejected',
          reason: 'schema_violation',
          message: `/${field} must be well-formed Unicode (it has a lone surrogate)`,
        });
      },
    );
  });

  describe('generated input', () => {
    const anyUtf16 = fc.string({
      unit: fc.oneof(
        fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit)),
        fc.constantFrom('\u0000', '🚀', '👨‍👩‍👧', "'", '"', ';', '--', '\\', "'); DROP TABLE events;--", ' '),
      ),
      maxLength: 30,
    });
    const noPrototypeKeys = (value: unknown) => !/"(?:__proto__|constructor)"/.test(JSON.stringify(value));

    it('answers any JSON value as the body with one result per item, or 400', async () => {
      await fc.assert(
        fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (body) => {
          const response = await send(JSON.stringify(body));
          if (Array.isArray(body)) {
            expect(response.status).toBe(200);
            expect(response.body.results).toHaveLength(body.length);
          } else {
            expect(response.status).toBe(400);
            expect(response.body).toEqual(notABatch);
          }
        }),
        propertyRuns,
      );
    });

    it('answers any bytes with 200 or a 400 from the catalog, never a 5xx', async () => {
      const codes = ['DEEPREF_MALFORMED_JSON', 'DEEPREF_BAD_ENCODING', 'DEEPREF_INVALID_BODY'];
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.boolean(), async (bytes, gzip) => {
          const response = await send(Buffer.from(bytes), { gzip });
          if (response.status === 200) return;
          expect(response.status).toBe(400);
          expect(response.body).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
          expect(codes).toContain(response.body.error.code);
        }),
        propertyRuns,
      );
    });

    it('stores any event-shaped item as sent or dead-letters it with a typed reason and its raw JSON', async () => {
      // Weighted towards well-formed values, so that both outcomes, stored and dead-lettered, are exercised.
      const id = fc.oneof(
        { weight: 6, arbitrary: fc.string({ maxLength: 12 }) },
        fc.integer(),
        fc.constant(null),
        fc.boolean(),
        fc.constant(''),
      );
      const isoDate = fc
        .date({ min: new Date(0), max: new Date(4_102_444_800_000), noInvalidDate: true })
        .map((date) => date.toISOString());
      const item = fc
        .record(
          {
            eventId: fc.oneof(
              { weight: 4, arbitrary: fc.uuid() },
              fc.string({ maxLength: 12 }),
              fc.integer(),
              fc.constant(null),
              fc.boolean(),
            ),
            type: fc.oneof(
              { weight: 6, arbitrary: fc.constant('track') },
              fc.constantFrom('page', 'identify', 'bogus'),
            ),
            eventName: fc.oneof({ weight: 4, arbitrary: anyUtf16 }, fc.jsonValue({ maxDepth: 1 })),
            userId: id,
            anonymousId: id,
            sessionId: id,
            timestamp: fc.oneof(
              { weight: 6, arbitrary: isoDate },
              fc.string({ maxLength: 30 }),
              fc.integer(),
            ),
            sentAt: fc.oneof({ weight: 3, arbitrary: isoDate }, fc.string({ maxLength: 10 })),
            properties: fc.oneof(
              {
                weight: 6,
                arbitrary: fc.dictionary(anyUtf16, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }),
              },
              fc.jsonValue({ maxDepth: 2 }),
            ),
            traits: fc.oneof(
              {
                weight: 3,
                arbitrary: fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
              },
              fc.jsonValue({ maxDepth: 2 }),
            ),
          },
          { requiredKeys: [] },
        )
        .filter(noPrototypeKeys);

      await fc.assert(
        fc.asyncProperty(fc.array(item, { minLength: 1, maxLength: 5 }), async (items) => {
          const lastId = await lastDeadLetterId(tp);
          const head = await tp.platform.log.head();
          const response = await send(items);
          expect(response.status).toBe(200);
          expect(response.body.results).toHaveLength(items.length);
          const appended = await appendedSince(head);
          const deadLetters = await deadLettersAfter(tp, lastId);
          let nextDeadLetter = 0;
          for (const [i, result] of response.body.results.entries()) {
            const sent = JSON.parse(JSON.stringify(items[i])) as Record<string, unknown>;
            if (result.status === 'rejected') {
              expect(deadLetterReasons).toContain(result.reason);
              const letter = deadLetters[nextDeadLetter++]!;
              expect(letter).toMatchObject({
                reason: result.reason,
                message: result.message,
                raw: JSON.stringify(sent),
              });
              for (const leaf of stringValuesIn(sent).filter((leaf) => leaf.trim().length >= 8)) {
                expect(result.message).not.toContain(leaf);
              }
              continue;
            }
            // A duplicate is a retry of an id an earlier run stored (fast-check repeats values while shrinking);
            // the final checks find every id in the log once.
            expect(['accepted', 'duplicate']).toContain(result.status);
            if (result.status === 'duplicate') continue;
            const stored = appended.get(result.eventId)!;
            expect(stored).toBeDefined();
            expect(stored.properties).toEqual(sent.properties ?? {});
            if (stored.type === 'track') expect(stored.eventName).toBe(sent.eventName);
            for (const key of ['userId', 'anonymousId', 'sessionId'] as const) {
              const given = typeof sent[key] === 'number' ? String(sent[key]) : sent[key];
              expect(stored[key]).toBe(given === '' || given === null ? undefined : given);
            }
          }
          expect(nextDeadLetter).toBe(deadLetters.length);
        }),
        propertyRuns,
      );
    });

    it('stores any text in names, ids, keys and values byte-exact, or refuses it with a schema violation', async () => {
      const item = fc
        .record({
          eventId: fc.uuid(),
          eventName: anyUtf16,
          userId: anyUtf16,
          properties: fc.dictionary(anyUtf16, anyUtf16, { maxKeys: 4 }),
        })
        .filter(noPrototypeKeys);
      await fc.assert(
        fc.asyncProperty(item, async (sent) => {
          const { result, stored } = await sendItem(sent);
          if (result.status === 'rejected') {
            expect(['schema_violation', 'missing_identity']).toContain(result.reason);
            return;
          }
          // A retry of an id seen in an earlier run (fast-check repeats values while shrinking).
          if (result.status === 'duplicate') return;
          expect(loneSurrogate.test(sent.eventName) || loneSurrogate.test(sent.userId)).toBe(false);
          expect(JSON.stringify([stored!.eventName, stored!.userId, stored!.properties])).toBe(
            JSON.stringify([sent.eventName, sent.userId, sent.properties]),
          );
        }),
        propertyRuns,
      );
    });
  });

  describe('afterwards, nothing stored is corrupt', () => {
    it('has every log record parse and the engines find their files sound', async () => {
      const events = await storedEvents(tp);
      expect(events.size).toBeGreaterThan(100);
      const deadLetters = await tp.platform.log.deadLetters.list();
      expect(deadLetters.length).toBeGreaterThan(100);
      for (const letter of deadLetters) expect(deadLetterReasons).toContain(letter.reason);
      expect(await adapters.checkIntegrity(tp)).toEqual([]);
    });

    it('has the warehouse and the lake hold the log’s events, with the same text', async () => {
      const count = await expectStoresAgree(tp);
      const events = await storedEvents(tp);
      expect(count).toBe(events.size);
      const rows = await tp.platform.warehouse.query(
        'SELECT event_id, event_name, user_id, anonymous_id, session_id FROM events ORDER BY log_offset',
      );
      const text = (value: string | undefined) =>
        value === undefined ? null : adapters.warehouseText(value);
      const expected = [...events.values()].map((e) => [
        e.eventId,
        text(e.eventName),
        text(e.userId),
        text(e.anonymousId),
        text(e.sessionId),
      ]);
      expect(rows.rows).toEqual(expected);
      expect(prototypeSnapshot()).toEqual(prototypeBefore);
    });
  });
}

/** `value` with every string in it (keys too) passed through `text`. */
function mapText(value: unknown, text: (s: string) => string): unknown {
  if (typeof value === 'string') return text(value);
  if (Array.isArray(value)) return value.map((v) => mapText(v, text));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [text(k), mapText(v, text)]));
  }
  return value;
}
