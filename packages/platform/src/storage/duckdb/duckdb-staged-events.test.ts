import type { StoredEvent } from '@deepref/schema';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogRecord, RawLogRecord } from '../../bus/event-log.ts';
import { eventColumns, utcTimestamp } from '../event-columns.ts';
import { storedEvent } from '../test-events.ts';
import { appendEventRows, eventsTableSql } from './duckdb-event-rows.ts';
import { insertEventsFromJson } from './duckdb-staged-events.ts';

let instance: DuckDBInstance;
let connection: DuckDBConnection;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false' });
  connection = await instance.connect();
  await connection.run("SET TimeZone = 'UTC'");
  await connection.run(eventsTableSql('by_rows'));
  await connection.run(eventsTableSql('by_json'));
});

afterAll(() => {
  connection.closeSync();
  instance.closeSync();
});

const asText = eventColumns.map((c) => `CAST("${c.name}" AS VARCHAR)`).join(', ');

async function tableRows(table: string): Promise<unknown[][]> {
  return (await connection.runAndReadAll(`SELECT ${asText} FROM ${table}`)).getRows();
}

/** How `bothWays` loads: at most `maxChars` of bodies a statement, offsets from `offsetOf` (default 1, 2, …). */
interface Loading {
  maxChars?: number;
  offsetOf?: (index: number) => number;
}

/**
 * The rows `appendEventRows` makes of `bodies` (parsed as the log's `read` parses them) and those of the JSON path.
 */
async function bothWays(
  bodies: string[],
  { maxChars, offsetOf = (i) => i + 1 }: Loading = {},
): Promise<{ byRows: unknown[][]; byJson: unknown[][] | Error }> {
  const raw: RawLogRecord[] = bodies.map((body, i) => ({ offset: offsetOf(i), body }));
  const parsed: LogRecord[] = raw.map(({ offset, body }) => ({ offset, event: JSON.parse(body) }));
  await connection.run('DELETE FROM by_rows');
  await connection.run('DELETE FROM by_json');
  const appender = await connection.createAppender('by_rows');
  await appendEventRows(appender, parsed);
  appender.closeSync();
  let byJson: unknown[][] | Error;
  try {
    await insertEventsFromJson(connection, 'by_json', raw, maxChars);
    byJson = await tableRows('by_json');
  } catch (error) {
    byJson = error as Error;
  }
  return { byRows: await tableRows('by_rows'), byJson };
}

// Text with what is hardest to carry through: NUL, other control characters (a newline among them, which
// JSON.stringify escapes, so that bodies still split on raw ones), quotes, backslashes, astral characters.
const text = fc.string({
  unit: fc.oneof(
    fc.constantFrom(
      '\u0000',
      '\n',
      '\u001f',
      '"',
      '\\',
      '/',
      '\u2028',
      '😀',
      'é',
      'e+',
      ',',
      '}',
      ']',
      '{',
      ':',
    ),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
  ),
  maxLength: 12,
});
const loneSurrogate = fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff');
const anyText = fc.oneof(
  { arbitrary: text, weight: 40 },
  { arbitrary: fc.tuple(text, loneSurrogate).map(([a, b]) => a + b), weight: 1 },
);
const number = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(1e21, 1.5e-7, 12345678901234567000, 123456789012345680000, 2 ** 53 + 2, -1e308, 5e-324),
  fc.integer(),
);
function jsonOf(str: fc.Arbitrary<string>, num = number): fc.Arbitrary<Record<string, unknown>> {
  return fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      num,
      str,
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 3 }),
      tie('object'),
    ),
    object: fc.dictionary(str, tie('value'), { maxKeys: 4 }),
  })).object as fc.Arbitrary<Record<string, unknown>>;
}
// What DuckDB writes as JavaScript does: no control characters in strings (it writes \u001F for \u001f), no
// numbers of 1e21 and more (it writes 1e21 for 1e+21).
const plainJson = jsonOf(
  text.filter((t) => ![...t].some((c) => c.charCodeAt(0) < 0x20)),
  fc.oneof(fc.double({ min: -1e20, max: 1e20, noNaN: true }), fc.integer(), fc.constantFrom(1.5e-7, 5e-324)),
);

const canonicalTime = fc
  .date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
const anyTime = fc.oneof(
  { arbitrary: canonicalTime, weight: 12 },
  canonicalTime.map((t) => t.replace('.000Z', 'Z')),
  canonicalTime.map((t) => t.replace('Z', '123456Z')),
  canonicalTime.map((t) => t.replace('Z', '+05:30')),
  fc.constantFrom(
    '2026-02-29T00:00:00.000Z',
    '2028-02-29T00:00:00.000Z',
    '2026-12-31T23:59:60.000Z',
    '2026-11-27T24:00:00.000Z',
    '0000-02-29T00:00:00.000Z',
    '2026-11-27T10:00:00.1234567891Z',
    '2026-11-27T10:00Z',
    'yesterday',
  ),
);

function eventOf(
  time: fc.Arbitrary<string>,
  str: fc.Arbitrary<string>,
  json = jsonOf(str),
): fc.Arbitrary<StoredEvent> {
  const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
  return fc
    .record({
      eventId: str,
      type: fc.constantFrom('track', 'page', 'identify'),
      eventName: str,
      timestamp: time,
      originalTimestamp: time,
      sentAt: optional(time),
      receivedAt: time,
      sessionId: optional(str),
      userId: optional(str),
      anonymousId: optional(str),
      groupId: optional(str),
      previousId: optional(str),
      properties: json,
      traits: optional(json),
      context: optional(json),
      integrations: optional(json),
      sourceId: str,
      device: fc.record({
        browser: optional(str),
        browserVersion: optional(str),
        os: optional(str),
        osVersion: optional(str),
        deviceType: str,
      }),
      ip: optional(str),
    })
    .map((event) => JSON.parse(JSON.stringify(event)) as StoredEvent);
}

describe('insertEventsFromJson', () => {
  // Offsets one after another, or with gaps after every third (as a partition's), from 1 or beyond 32 bits; at most
  // so many characters of bodies a statement, or the default.
  const loading: fc.Arbitrary<Loading> = fc.record({
    maxChars: fc.option(fc.integer({ min: 1, max: 4_000 }), { nil: undefined }),
    offsetOf: fc.tuple(fc.constantFrom(1, 2 ** 40), fc.constantFrom(0, 1, 997)).map(
      ([from, gap]) =>
        (i: number) =>
          from + i + Math.floor(i / 3) * gap,
    ),
  });

  it('makes the rows appendEventRows makes, for events as the collector stores them', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(eventOf(canonicalTime, text, plainJson), { minLength: 1, maxLength: 20 }),
        loading,
        async (events, how) => {
          const { byRows, byJson } = await bothWays(
            events.map((event) => JSON.stringify(event)),
            how,
          );
          expect(byJson).toEqual(byRows);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('makes the same rows through the staging table, from a pack with a raw newline in a body on', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(eventOf(canonicalTime, text, plainJson), { minLength: 1, maxLength: 20 }),
        fc.nat(),
        loading,
        async (events, at, how) => {
          const bodies = events.map((event) => JSON.stringify(event));
          // A newline as whitespace between tokens, where a member's text is not: valid JSON, not JSON.stringify's.
          const i = at % bodies.length;
          bodies[i] = `{\n${bodies[i]!.slice(1)}`;
          const { byRows, byJson } = await bothWays(bodies, how);
          expect(byJson).toEqual(byRows);
        },
      ),
      { numRuns: 40 },
    );
    const staged = await connection.runAndReadAll('SELECT count(*) FROM staged_events');
    expect(staged.getRows()[0]![0]).toBe(0n);
  });

  /** Asserts the JSON path gives the same rows or refuses, and says how often it refused. */
  async function sameOrRefused(events: fc.Arbitrary<StoredEvent>): Promise<number> {
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(events, { minLength: 1, maxLength: 3 }), async (batch) => {
        const { byRows, byJson } = await bothWays(batch.map((event) => JSON.stringify(event)));
        if (byJson instanceof Error) refused++;
        else expect(byJson).toEqual(byRows);
      }),
      { numRuns: 150 },
    );
    return refused;
  }

  it('makes the same rows or refuses the batch, for any JSON in the members', async () => {
    const refused = await sameOrRefused(eventOf(canonicalTime, text));
    expect(refused).toBeGreaterThan(5);
    expect(refused).toBeLessThan(145);
  });

  it('makes the same rows or refuses the batch, for times in any form', async () => {
    const refused = await sameOrRefused(eventOf(anyTime, text, plainJson));
    // Both outcomes must occur, or the property says little.
    expect(refused).toBeGreaterThan(5);
    expect(refused).toBeLessThan(145);
  });

  it('makes the same rows or refuses the batch, for text with lone surrogates', async () => {
    const refused = await sameOrRefused(eventOf(canonicalTime, anyText, plainJson));
    expect(refused).toBeGreaterThan(5);
    expect(refused).toBeLessThan(145);
  });

  // Every field in range (the day perhaps not in its month), fractions of 0 to 9 digits, in UTC; or so with one field
  // at or beyond the edge of its range or in another form, an offset other than Z among them.
  const twoDigits = (values: number[]) => fc.constantFrom(...values.map((v) => String(v).padStart(2, '0')));
  const inRange = {
    year: fc.constantFrom('0000', '0001', '0999', '1900', '2000', '2024', '2026', '9999'),
    month: twoDigits([1, 2, 4, 9, 10, 12]),
    day: twoDigits([1, 9, 10, 19, 20, 28, 29, 30, 31]),
    separator: fc.constant('T'),
    hour: twoDigits([0, 9, 10, 19, 20, 23]),
    minute: twoDigits([0, 9, 10, 59]),
    second: twoDigits([0, 9, 10, 59]),
    fraction: fc.oneof(fc.constant(''), fc.stringMatching(/^\.[0-9]{1,9}$/)),
    offset: fc.constant('Z'),
  };
  const outOfRange: { [field in keyof typeof inRange]: fc.Arbitrary<string> } = {
    year: fc.constantFrom('202', '20260', '202a', '-2026', '+02026'),
    month: fc.oneof(twoDigits([0, 13, 19, 20, 99]), fc.constantFrom('1', '001')),
    day: fc.oneof(twoDigits([0, 32, 39, 40, 99]), fc.constantFrom('1', '001')),
    separator: fc.constantFrom(' ', 't', 'TT', ''),
    hour: fc.oneof(twoDigits([24, 29, 30, 99]), fc.constantFrom('1', '001')),
    minute: fc.oneof(twoDigits([60, 99]), fc.constantFrom('1', '001')),
    second: fc.oneof(twoDigits([60, 99]), fc.constantFrom('1', '001')),
    fraction: fc.oneof(fc.stringMatching(/^\.[0-9]{10,12}$/), fc.constantFrom('.', '.1a', ',5', '.١')),
    offset: fc.constantFrom('z', '', '+00:00', '-05:30', 'ZZ', 'Z '),
  };
  const timeByFields = fc.oneof(
    {
      weight: 1,
      arbitrary: fc.constantFrom('2026-11-27T24:00:00Z', '2026-11-27T24:00:00.000Z', '2026-12-31T23:59:60Z'),
    },
    {
      weight: 9,
      arbitrary: fc
        .tuple(
          fc.record(inRange),
          fc.option(
            fc.oneof(...Object.entries(outOfRange).map(([k, v]) => v.map((value) => ({ [k]: value })))),
          ),
        )
        .map(([fields, changed]) => ({ ...fields, ...changed }))
        .map(
          (f) =>
            `${f.year}-${f.month}-${f.day}${f.separator}${f.hour}:${f.minute}:${f.second}${f.fraction}${f.offset}`,
        ),
    },
  );
  const timeFields = ['timestamp', 'originalTimestamp', 'sentAt', 'receivedAt'] as const;

  it('takes a time, in any of the four, exactly when eventRow keeps it as it is (year 0000 aside)', async () => {
    let taken = 0;
    await fc.assert(
      fc.asyncProperty(timeByFields, fc.constantFrom(...timeFields), async (time, field) => {
        const { byRows, byJson } = await bothWays([JSON.stringify(storedEvent(1, { [field]: time }))]);
        if (utcTimestamp(time) === time && !time.startsWith('0000')) {
          taken++;
          expect(byJson).toEqual(byRows);
        } else expect(byJson).toBeInstanceOf(Error);
      }),
      { numRuns: 400 },
    );
    // Both outcomes must occur often, or the property says little.
    expect(taken).toBeGreaterThan(20);
    expect(taken).toBeLessThan(380);
  });

  it('refuses a time in another offset rather than convert it differently', async () => {
    const body = JSON.stringify(storedEvent(1, { originalTimestamp: '2026-11-27T01:30:00+03:00' }));
    const { byJson } = await bothWays([body]);
    expect(byJson).toBeInstanceOf(Error);
  });

  it('refuses a member it would write otherwise than JSON.stringify did', async () => {
    for (const properties of [{ big: 1e21 }, { control: '\u001f' }]) {
      const { byRows, byJson } = await bothWays([JSON.stringify(storedEvent(1, { properties }))]);
      expect(byJson).toBeInstanceOf(Error);
      expect(byRows[0]).toContain(JSON.stringify(properties));
    }
  });

  it('keeps a batch in offset order, within a statement and across statements', async () => {
    const bodies = Array.from({ length: 2_500 }, (_, i) => JSON.stringify(storedEvent(i)));
    for (const maxChars of [undefined, 100_000, 20_000]) {
      const { byRows, byJson } = await bothWays(bodies, { maxChars });
      expect(byJson).toEqual(byRows);
    }
  });

  it('carries bodies of characters of several bytes, beyond the room packing starts with', async () => {
    // 3 bytes a character in UTF-8 and 3 million of them: more than every batch before, so the buffer grows mid-pack.
    const bodies = Array.from({ length: 20 }, (_, i) =>
      JSON.stringify(storedEvent(i, { properties: { text: '€'.repeat(150_000), emoji: '😀é' } })),
    );
    const { byRows, byJson } = await bothWays(bodies);
    expect(byJson).toEqual(byRows);
  });

  it('inserts nothing for no records', async () => {
    const { byRows, byJson } = await bothWays([]);
    expect(byRows).toEqual([]);
    expect(byJson).toEqual([]);
  });
});
