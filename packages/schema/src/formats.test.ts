import fc from 'fast-check';
import Format, { IsDateTime, IsUuid } from 'typebox/format';
import { describe, expect, it } from 'vitest';
import { isValidEnvelope } from './envelope-validation.ts';
import { isDateTime, isUuid } from './formats.ts';

describe('the schema package', () => {
  it('validates with these checks in place of TypeBox’s', () => {
    expect(Format.Get('date-time')).toBe(isDateTime);
    expect(Format.Get('uuid')).toBe(isUuid);
    const envelope = {
      eventId: '0f8fad5b-d9cb-469f-a165-70867728950e',
      type: 'track',
      eventName: 'custom',
      timestamp: '2024-02-29T12:00:00.000Z',
      userId: 'u1',
      properties: {},
    };
    expect(isValidEnvelope(envelope)).toBe(true);
    expect(isValidEnvelope({ ...envelope, timestamp: '2023-02-29T12:00:00.000Z' })).toBe(false);
    expect(isValidEnvelope({ ...envelope, eventId: '0f8fad5b-d9cb-469f-a165-70867728950g' })).toBe(false);
  });
});

/** A string with one character replaced, from the characters these formats are made of or any other. */
function mutated(base: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const char = fc.oneof(
    fc.constantFrom(
      '0',
      '1',
      '2',
      '3',
      '5',
      '6',
      '9',
      '-',
      ':',
      '.',
      'T',
      't',
      'Z',
      'z',
      '+',
      '[',
      'a',
      'F',
      'g',
    ),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  );
  return fc
    .tuple(base, fc.nat(), char)
    .map(([value, at, c]) => value.slice(0, at % value.length) + c + value.slice((at % value.length) + 1));
}

describe('the date-time format', () => {
  // Years -271821 to 275760: toISOString writes six-digit years with a sign outside 0–9999.
  const date = fc.date({ noInvalidDate: true });
  const iso = date.map((d) => d.toISOString());
  const edges = fc.constantFrom(
    '2024-02-29T12:00:00.000Z',
    '2023-02-29T12:00:00.000Z',
    '1900-02-29T00:00:00.000Z',
    '2000-02-29T00:00:00.000Z',
    '2024-04-31T00:00:00.000Z',
    '2024-00-10T00:00:00.000Z',
    '2024-13-10T00:00:00.000Z',
    '2024-01-00T00:00:00.000Z',
    '2024-12-31T23:59:60.000Z',
    '2024-12-31T23:58:60.000Z',
    '2024-12-31T24:00:00.000Z',
    '2024-12-31T23:60:00.000Z',
    '2024-12-31t23:59:59.000z',
    '2024-12-31T23:59:59.00aZ',
    '2024-12-31T23:59:59Z',
    '2024-12-31T23:59:59.123456Z',
    '2024-12-31T23:59:59.000+01:00',
    '2024-12-31T23:59:59.000Z[Europe/Paris]',
    '0000-01-01T00:00:00.000Z',
    '+010000-01-01T00:00:00.000Z',
    '２０２４-12-31T23:59:59.000Z',
  );
  it('answers as TypeBox does, on timestamps, their near misses and any string', () => {
    fc.assert(
      fc.property(
        fc.oneof(iso, edges, mutated(iso), mutated(edges), fc.string({ maxLength: 30 })),
        (value) => {
          expect(isDateTime(value)).toBe(IsDateTime(value));
        },
      ),
      { numRuns: 20_000 },
    );
  });
});

describe('the uuid format', () => {
  const uuid = fc.uuid().chain((id) => fc.constantFrom(id, id.toUpperCase()));
  it('answers as TypeBox does, on uuids, their near misses and any string', () => {
    fc.assert(
      fc.property(fc.oneof(uuid, mutated(uuid), fc.string({ maxLength: 40 })), (value) => {
        expect(isUuid(value)).toBe(IsUuid(value));
      }),
      { numRuns: 20_000 },
    );
  });
});
