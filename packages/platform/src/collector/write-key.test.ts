import { describe, expect, it } from 'vitest';
import { findWriteKey, requireWriteKey } from './write-key.ts';

describe('write key', () => {
  it('reads the HTTP Basic user, as in Segment’s example (abc123 → YWJjMTIzOg==)', () => {
    expect(findWriteKey({ headers: { authorization: 'Basic YWJjMTIzOg==' } })).toEqual({
      writeKey: 'abc123',
      from: 'basic',
    });
    // Without the colon, for backward compatibility.
    expect(findWriteKey({ headers: { authorization: 'basic YWJjMTIz' } })?.writeKey).toBe('abc123');
  });

  it('reads `writeKey` from a Segment body, then `?writeKey=` for sendBeacon', () => {
    expect(findWriteKey({ headers: {}, body: { writeKey: 'k1', event: 'x' } })).toEqual({
      writeKey: 'k1',
      from: 'body',
    });
    expect(findWriteKey({ headers: {}, body: [], query: { writeKey: 'k2' } })).toEqual({
      writeKey: 'k2',
      from: 'query',
    });
  });

  it('prefers the header over the body and the body over the query', () => {
    const request = {
      headers: { authorization: 'Basic YWJjMTIzOg==' },
      body: { writeKey: 'k1' },
      query: { writeKey: 'k2' },
    };
    expect(findWriteKey(request)?.writeKey).toBe('abc123');
    expect(findWriteKey({ ...request, headers: {} })?.writeKey).toBe('k1');
  });

  it('ignores other schemes, empty users and non-string keys', () => {
    expect(findWriteKey({ headers: { authorization: 'Bearer abc' } })).toBeUndefined();
    expect(findWriteKey({ headers: { authorization: 'Basic Onh4' } })).toBeUndefined(); // ":xx"
    expect(
      findWriteKey({ headers: {}, body: { writeKey: 42 }, query: { writeKey: ['a', 'b'] } }),
    ).toBeUndefined();
  });

  it('answers DEEPREF_MISSING_WRITE_KEY when there is none', () => {
    expect(() => requireWriteKey({ headers: {} })).toThrow(
      'No write key. Send it as the HTTP Basic user or as `writeKey` in the body.',
    );
  });
});
