/**
 * Every event the collector acks reaches every store: generated batches of events the collector accepts but that
 * stress the stores (times at the edges of years 0000 and 9999, offsets, skewed `sentAt`, text with quotes, NUL,
 * lone surrogates and line separators, odd property keys, extreme numbers, deep nesting, values near the event size
 * limit, every Segment call type), sent through the real HTTP server. After each batch the consumers drain (a
 * refused row would make the drain reject, and the loader retry it for ever); each accepted event is in the log
 * once, in the warehouse with the log's values, and in the lake; the stream still writes the rows of later events to
 * the warehouse and to the real-time store (memory, or Redis in the scale-out set), read back through the API.
 * Runs once per adapter set.
 */
import { randomUUID } from 'node:crypto';
import type { StoredEvent } from '@deepref/schema';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdapterSet, adapterSets } from '../testing/adapter-sets.ts';
import { signIn } from '../testing/admin-session.ts';
import { expectStoresAgree, lakeRows, storedEvents } from '../testing/e2e-checks.ts';
import type { TestPlatform } from '../testing/test-platform.ts';
import { utcTimestamp } from './event-columns.ts';

/**
 * A fixed seed, so a failure replays on any machine (the ids are random and the recent times follow the clock; the
 * report shows both). No shrinking: a refused row stays in the log and fails every later drain, so a shrunk case
 * would be noise; the first failing batch is the finding.
 */
const propertyRuns = { numRuns: 40, seed: 20_261_128, endOnFailure: true };

/** Characters that stores spell, escape or refuse in their own ways. */
const awkwardText = fc.string({
  unit: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('a', 'Z', '0', ' ', '.', '-') },
    fc.constantFrom(
      '"',
      '\\',
      "'",
      '\u0000',
      '\u001f',
      '\n',
      '\t',
      '\u2028',
      '\u2029',
      '\ud800',
      '\udfff',
      '\ufeff',
      '\uffff',
      'é',
      '€',
      '😀',
      '👨‍👩‍👧',
      '🇫🇷',
      '%',
      '_',
      '$',
      '[0]',
      '\\u0000',
    ),
  ),
  maxLength: 12,
});

/** An id or name: awkward text, which the collector may refuse (a lone surrogate) or keep. */
const awkwardId = fc.oneof({ weight: 3, arbitrary: awkwardText.filter((t) => t.trim() !== '') }, fc.uuid());

/** Property keys: dotted, quoted, empty, very long, JSON-path-like. */
const awkwardKey = fc.oneof(
  { weight: 3, arbitrary: awkwardText },
  fc.constantFrom(
    '',
    '.',
    'a.b',
    '$.properties',
    '"',
    "'",
    'k'.repeat(2_000),
    '0',
    '-1',
    'properties',
    'null',
  ),
);

/** Numbers at the edges of doubles and of the engines' number types. */
const awkwardNumber = fc.oneof(
  fc.constantFrom(
    1e308,
    -1e308,
    Number.MAX_VALUE,
    -0,
    5e-324,
    -5e-324,
    2 ** 53 + 1,
    -(2 ** 53) - 1,
    2 ** 63,
    1e21,
    1e-7,
    0.1,
    0.30000000000000004,
  ),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);

/** A JSON value of the shapes above, with arrays of mixed types and empty objects. */
const awkwardValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    awkwardText,
    awkwardNumber,
    fc.boolean(),
    fc.constant(null),
    fc.constant({}),
    fc.constant([]),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(awkwardKey, tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** A value nested `levels` deep, objects and arrays in turn. */
function nested(levels: number): unknown {
  let value: unknown = 'bottom';
  for (let level = 0; level < levels; level++) value = level % 2 ? [value] : { [`l${level}`]: value };
  return value;
}

const awkwardProperties = fc.oneof(
  { weight: 6, arbitrary: fc.dictionary(awkwardKey, awkwardValue, { maxKeys: 6 }) },
  // Shown by its depth in a report: printing it whole would overflow fast-check's stack. From about 2,500 levels
  // (it depends on the stack left), the collector's PII stage overflows the stack and the whole request gets a 500.
  fc
    .constantFrom(100, 1_000)
    .map((levels) => ({ deep: nested(levels), [fc.toStringMethod]: () => `{ deep: nested(${levels}) }` })),
  // Near the 32 KB event limit: some land just under it, some just over (a size violation, not acked).
  fc
    .tuple(fc.integer({ min: 29_000, max: 32_600 }), fc.constantFrom('x', 'é', '€', '😀'))
    .map(([bytes, char]) => ({
      big: char.repeat(Math.floor(bytes / Buffer.byteLength(char))),
    })),
);

/** Digits of a two-digit field. */
const two = (n: number) => String(n).padStart(2, '0');

/** Times the collector reads: the edges of the years 0000 to 9999, leap days, offsets, 1 to 9 fraction digits. */
const awkwardTime = fc.oneof(
  fc.constantFrom(
    '0000-01-01T00:00:00.000Z',
    '0000-02-29T12:00:00Z',
    '0000-01-01T00:00:00+14:00',
    '0000-01-01T11:59:59.999-12:00',
    '9999-12-31T23:59:59.999Z',
    '9999-12-31T23:59:59.999999999Z',
    '9999-12-31T12:00:00-12:00',
    '2024-02-29T23:59:59.5+00:00',
    '1969-12-31T23:59:59.999999Z',
    '1970-01-01T00:00:00Z',
    '2026-03-01T12:00:00.000Z',
    '2025-12-31T23:30:00-01:00',
  ),
  fc
    .record({
      year: fc.oneof(fc.constantFrom(0, 1, 1969, 1970, 2000, 2024, 2025, 2026, 9998, 9999), fc.nat(9999)),
      month: fc.integer({ min: 1, max: 12 }),
      day: fc.integer({ min: 1, max: 28 }),
      hour: fc.nat(23),
      minute: fc.nat(59),
      second: fc.nat(59),
      fraction: fc.option(fc.stringMatching(/^\d{1,9}$/), { nil: undefined }),
      zone: fc.constantFrom('Z', 'z', '+00:00', '-00:00', '+14:00', '-12:00', '+05:30', '+1400', '-0930'),
    })
    .map(
      (t) =>
        `${String(t.year).padStart(4, '0')}-${two(t.month)}-${two(t.day)}T${two(t.hour)}:${two(t.minute)}:` +
        `${two(t.second)}${t.fraction === undefined ? '' : `.${t.fraction}`}${t.zone}`,
    ),
);

/**
 * Times of the last hours, each later than the one before: on time for this suite's live stream (`liveStream`), whose
 * windows then close as later events arrive, so that their rows reach the sinks during the run.
 */
let liveClock = Date.now() - 11 * 3_600_000;
const recentTime = fc.integer({ min: 1, max: 120 }).map((seconds) => {
  liveClock += seconds * 1_000;
  return new Date(liveClock).toISOString();
});

/** A time or none (the receive time or `sentAt` stands in). */
const maybeTime = fc.option(fc.oneof(awkwardTime, { weight: 2, arbitrary: recentTime }), {
  nil: undefined,
  freq: 4,
});

/**
 * The live stream's policy here: events up to 12 hours old are on time, events out of order (behind a later one) or
 * early (ahead of arrival) are dropped rather than re-stamped, so that they cannot hold every window at the time of
 * their arrival; and a user with more than two events in a window raises an alert. So the result and alert sinks get
 * rows keyed by the generated ids while the suite runs.
 */
const liveStream = {
  lateArrivalToleranceMs: 12 * 3_600_000,
  latePolicy: 'drop' as const,
  alertThreshold: 2,
};

const eventTypes = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;

/** Registered events the stream jobs read, with awkward group keys and numbers where their schemas allow them. */
const streamedEvent = fc.oneof(
  fc.record({
    eventName: fc.constant('api_latency'),
    properties: fc.record({
      endpoint: awkwardText.filter((t) => t.length > 0),
      method: fc.constantFrom('GET', 'POST'),
      status_code: fc.constantFrom(100, 200, 503, 599),
      duration_ms: fc.constantFrom(0, -0, 5e-324, 1.5, 1e21, 1e308, Number.MAX_VALUE),
    }),
  }),
  fc.record({
    eventName: fc.constant('response_received'),
    properties: fc.record({
      prompt_id: fc.uuid(),
      response_id: fc.uuid(),
      model_used: awkwardText.filter((t) => t.length > 0),
      success: fc.boolean(),
      generation_time_ms: fc.constantFrom(0, 5e-324, 250, 1e308),
      prompt_tokens: fc.constantFrom(0, 7, 2 ** 53 + 1, 1e21),
      completion_tokens: fc.constantFrom(0, 9, 2 ** 53 + 1, 1e300),
    }),
  }),
);

/** One item of a reference-wrapper or Segment batch. */
const item = fc
  .record(
    {
      type: fc.constantFrom(...eventTypes),
      custom: fc.record({ eventName: awkwardId, properties: awkwardProperties }),
      streamed: streamedEvent,
      streamedWeight: fc.nat(3),
      userId: fc.option(awkwardId, { nil: undefined, freq: 4 }),
      anonymousId: fc.option(awkwardId, { nil: undefined }),
      sessionId: fc.option(awkwardId, { nil: undefined }),
      groupId: awkwardId,
      previousId: awkwardId,
      timestamp: maybeTime,
      originalTimestamp: fc.option(awkwardTime, { nil: undefined, freq: 4 }),
      sentAt: fc.option(awkwardTime, { nil: undefined }),
      traits: fc.option(fc.dictionary(awkwardKey, awkwardValue, { maxKeys: 3 }), { nil: undefined }),
      context: fc.option(
        fc.record({ locale: awkwardText, page: fc.record({ url: awkwardText }), extra: awkwardValue }),
        { nil: undefined },
      ),
      integrations: fc.option(fc.dictionary(awkwardKey, fc.boolean(), { maxKeys: 3 }), { nil: undefined }),
    },
    { requiredKeys: ['type', 'custom', 'streamed', 'streamedWeight', 'groupId', 'previousId'] },
  )
  .map(({ custom, streamed, streamedWeight, ...fields }) => ({
    ...fields,
    // A quarter of the track calls are events the stream jobs aggregate.
    ...(fields.type === 'track' && streamedWeight === 0 ? streamed : custom),
    // Every call but an alias needs a user or a visitor; an alias needs both ids.
    userId:
      fields.userId ?? (fields.anonymousId === undefined || fields.type === 'alias' ? 'user-1' : undefined),
  }));

/** A batch as one of the routes takes it, with batch-level `context`, `integrations` and `sentAt` for some. */
const request = fc.oneof(
  fc.array(item, { minLength: 1, maxLength: 3 }).map((items) => ({
    route: '/api/telemetry/events',
    body: items.map(
      ({ type: _type, groupId: _g, previousId: _p, traits: _t, integrations: _i, ...rest }) => ({
        eventId: randomUUID(),
        ...rest,
      }),
    ) as unknown,
  })),
  fc
    .record({
      items: fc.array(item, { minLength: 1, maxLength: 3 }),
      context: fc.option(
        fc.record({ library: fc.record({ name: awkwardText }), ip: fc.constant('8.8.8.8') }),
        {
          nil: undefined,
        },
      ),
      integrations: fc.option(fc.constant({ All: false, Mixpanel: true }), { nil: undefined }),
      sentAt: fc.option(awkwardTime, { nil: undefined }),
    })
    .map(({ items, ...shared }) => ({
      route: '/v1/batch',
      body: {
        ...shared,
        batch: items.map(({ eventName, ...rest }) => ({
          ...rest,
          messageId: randomUUID(),
          ...(rest.type === 'track' ? { event: eventName } : {}),
        })),
      } as unknown,
    })),
);

/** The columns a warehouse row is checked on (`expectedRow`). */
const checkedColumns =
  'event_id, event_name, timestamp, original_timestamp, sent_at, user_id, anonymous_id, session_id, group_id, ' +
  'previous_id, properties, traits, context';
/** Where the JSON columns are in `checkedColumns`. */
const jsonColumns = new Set([10, 11, 12]);
const same = (text: string) => text;

for (const adapters of adapterSets) {
  describe(`every acked event reaches every store (${adapters.name})`, () => ackedEventsSuite(adapters));
}

function ackedEventsSuite(adapters: AdapterSet) {
  let tp: TestPlatform;
  /** The admin's session, for the real-time routes. */
  let cookie: string;
  const acked = new Set<string>();
  beforeAll(async () => {
    let announced = '';
    tp = await adapters.start({ stream: liveStream, announceAdminPassword: (m) => (announced = m) });
    cookie = await signIn(tp.url, announced);
  });
  afterAll(async () => {
    await tp?.close();
  });

  /** The warehouse row of a log event, as that warehouse holds it (`warehouseText`, times in UTC). */
  function expectedRow(e: StoredEvent): unknown[] {
    const text = (value: string | undefined) => (value === undefined ? null : adapters.warehouseText(value));
    const json = (value: unknown) =>
      value === undefined ? null : canonicalJson(value, adapters.warehouseText);
    return [
      e.eventId,
      text(e.eventName),
      utcTimestamp(e.timestamp) ?? utcTimestamp(e.receivedAt),
      utcTimestamp(e.originalTimestamp),
      utcTimestamp(e.sentAt),
      text(e.userId),
      text(e.anonymousId),
      text(e.sessionId),
      text(e.groupId),
      text(e.previousId),
      json(e.properties),
      json(e.traits),
      json(e.context),
    ];
  }

  it('loads every acked event into the warehouse with the log’s values, drain after drain', async () => {
    let sentItems = 0;
    await fc.assert(
      fc.asyncProperty(request, async ({ route, body }) => {
        const head = await tp.platform.log.head();
        const response = await tp.post(route, body);
        expect(response.status, JSON.stringify(response.body)).toBe(200);
        const ids: string[] = response.body.results
          .filter((result: { status: string }) => result.status === 'accepted')
          .map((result: { eventId: string }) => result.eventId);
        sentItems += response.body.results.length;
        for (const id of ids) acked.add(id);

        const appended = await tp.platform.log.read(head, 1_000);
        const logged = new Map(appended.map(({ event }) => [event.eventId, event]));
        expect(appended).toHaveLength(logged.size);
        expect([...logged.keys()].sort()).toEqual([...ids].sort());

        await expect(tp.platform.drain(), `drain after ${JSON.stringify(body)}`).resolves.toBeUndefined();
        if (ids.length === 0) return;
        const rows = await tp.platform.warehouse.query(
          `SELECT ${checkedColumns} FROM events WHERE event_id IN (${ids.map((_, i) => `$${i + 1}`).join(', ')})`,
          ids,
        );
        const byId = new Map(rows.rows.map((row) => [row[0] as string, row]));
        expect(rows.rows).toHaveLength(ids.length);
        for (const id of ids) {
          const row = byId
            .get(id)!
            .map((value, i) => (jsonColumns.has(i) && value !== null ? canonicalJson(value, same) : value));
          expect(row).toEqual(expectedRow(logged.get(id)!));
        }
      }),
      propertyRuns,
    );
    // The generators must mostly make events the collector accepts, or the property says little.
    expect(acked.size).toBeGreaterThan(sentItems / 2);
  });

  it('has every acked event once in the log, the warehouse and the lake', async () => {
    const events = await storedEvents(tp);
    for (const id of acked) expect(events.has(id), `event ${id} is in the log`).toBe(true);
    expect(await expectStoresAgree(tp)).toBe(events.size);
    // The JSON columns too: DuckDB checks them as it reads a file (a file it cannot read fails compaction,
    // erasure and retention).
    const lake = await lakeRows(
      tp.platform.lake.glob('events'),
      'SELECT event_id, CAST(properties AS VARCHAR), CAST(traits AS VARCHAR), CAST(context AS VARCHAR) FROM lake',
    );
    const lakeIds = new Set(lake.map(([id]) => id as string));
    for (const id of acked) expect(lakeIds.has(id), `event ${id} is in the lake`).toBe(true);
  });

  it('still writes the stream’s rows for later events, to the warehouse and the real-time store', async () => {
    const endpoint = `/after-the-stress/${randomUUID()}`;
    const latency = (timestamp: string, path: string) => ({
      eventId: randomUUID(),
      eventName: 'api_latency',
      timestamp,
      userId: 'user-after',
      properties: { endpoint: path, method: 'GET', status_code: 200, duration_ms: 12 },
    });
    const at = (msFromNow: number) => new Date(Date.now() + msFromNow).toISOString();
    // A backfilled day; a live minute, now (the stress's events without a time were stamped on arrival, so the
    // watermark is a few seconds behind now); and an event 70 s ahead (within the early-arrival tolerance; the same
    // user, so the same partition) that moves the watermark past that minute's end.
    const response = await tp.post('/api/telemetry/events', [
      latency(at(-2 * 86_400_000), endpoint),
      latency(at(0), endpoint),
      latency(at(70_000), `${endpoint}/closer`),
    ]);
    expect(response.body.results.map((r: { status: string }) => r.status)).toEqual([
      'accepted',
      'accepted',
      'accepted',
    ]);
    await tp.platform.drain();
    // The backfilled day is recomputed from the warehouse; the live minute closes on the stream.
    const rows = await tp.platform.warehouse.query(
      `SELECT group_key, result FROM stream_results
       WHERE job = 'api_metrics' AND strpos(group_values, $1) > 0 AND strpos(group_values, $2) = 0
       ORDER BY window_end_ms`,
      [endpoint, `${endpoint}/closer`],
    );
    expect(rows.rows.map(([, result]) => JSON.parse(result as string).requests)).toEqual([1, 1]);
    // The live minute's row in the real-time store, read as the dashboard reads it.
    const key = rows.rows[1]![0] as string;
    const live = await fetch(`${tp.url}/api/realtime/jobs/api_metrics/${encodeURIComponent(key)}`, {
      headers: { cookie },
    });
    expect(live.status).toBe(200);
    expect(await live.json()).toMatchObject({
      job: 'api_metrics',
      key,
      group: { endpoint, method: 'GET' },
      values: { requests: 1 },
    });
  });
}

/**
 * JSON text of `value` with every string in it (keys too) passed through `text` and the keys of each object sorted
 * (PostgreSQL's jsonb orders them its own way): equal for equal values. Keys that `text` makes equal become one,
 * with the later key's value, as jsonb keeps them (docs/deployment-postgres.md). One frame a level, so that
 * properties nested thousands deep compare within the stack.
 */
function canonicalJson(value: unknown, text: (s: string) => string): string {
  if (typeof value === 'string') return JSON.stringify(text(value));
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += `${i ? ',' : ''}${canonicalJson(value[i], text)}`;
    return `${out}]`;
  }
  const entries = [...new Map(Object.entries(value).map(([key, child]) => [text(key), child] as const))];
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  let out = '{';
  for (let i = 0; i < entries.length; i++) {
    out += `${i ? ',' : ''}${JSON.stringify(entries[i]![0])}:${canonicalJson(entries[i]![1], text)}`;
  }
  return `${out}}`;
}
