import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeeprefError } from '../errors.ts';
import { collectorBodyParser, decodeBody, describeJsonError, parseJson } from './body.ts';

const limits = { maxRequestBytes: 500 * 1024 };
const json = { 'content-type': 'application/json' };

async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(DeeprefError);
    return { code: (error as DeeprefError).code, message: (error as DeeprefError).message };
  }
  throw new Error('expected the body to be refused');
}

describe('decodeBody', () => {
  it('decodes a JSON body sent as application/json', async () => {
    const body = Buffer.from('[{"eventName":"login"}]');
    expect(await decodeBody(body, json, limits)).toEqual({ value: [{ eventName: 'login' }], bytes: 23 });
  });

  it('accepts text/plain with any charset parameter, as sendBeacon sends it', async () => {
    const body = Buffer.from('{"a":"é"}');
    const headers = { 'content-type': 'text/plain;charset=UTF-8' };
    expect((await decodeBody(body, headers, limits)).value).toEqual({ a: 'é' });
    const latin = { 'content-type': 'Text/Plain; charset=ISO-8859-1' };
    expect((await decodeBody(body, latin, limits)).value).toEqual({ a: 'é' });
  });

  it('refuses other media types and a missing one', async () => {
    expect(
      await refusal(
        decodeBody(Buffer.from('a=1'), { 'content-type': 'application/x-www-form-urlencoded' }, limits),
      ),
    ).toEqual({
      code: 'DEEPREF_UNSUPPORTED_MEDIA_TYPE',
      message:
        'Content type application/x-www-form-urlencoded is not supported. Send application/json or text/plain.',
    });
    expect((await refusal(decodeBody(Buffer.from('{}'), {}, limits))).message).toContain(
      'Content type (none)',
    );
  });

  it('inflates gzip', async () => {
    const body = gzipSync(JSON.stringify({ batch: [{ event: 'x' }] }));
    const headers = { ...json, 'content-encoding': 'gzip' };
    expect(await decodeBody(body, headers, limits)).toEqual({
      value: { batch: [{ event: 'x' }] },
      bytes: 25,
    });
  });

  it('inflates gzip read from a stream in small chunks', async () => {
    const events = Array.from({ length: 500 }, (_, i) => ({ event: 'e', i }));
    const compressed = gzipSync(JSON.stringify(events));
    const chunks = Array.from({ length: Math.ceil(compressed.length / 100) }, (_, i) =>
      compressed.subarray(i * 100, (i + 1) * 100),
    );
    const decoded = await decodeBody(Readable.from(chunks), { ...json, 'content-encoding': 'gzip' }, limits);
    expect(decoded.value).toEqual(events);
  });

  it('refuses unknown content encodings', async () => {
    const headers = { ...json, 'content-encoding': 'br' };
    expect(await refusal(decodeBody(Buffer.from('{}'), headers, limits))).toEqual({
      code: 'DEEPREF_UNSUPPORTED_ENCODING',
      message: 'Content encoding br is not supported. Send identity or gzip.',
    });
  });

  it('refuses a corrupt gzip stream', async () => {
    const truncated = gzipSync('{"a":1}').subarray(0, 12);
    const headers = { ...json, 'content-encoding': 'gzip' };
    expect(await refusal(decodeBody(truncated, headers, limits))).toEqual({
      code: 'DEEPREF_BAD_ENCODING',
      message: 'The request body could not be decoded: the gzip stream is corrupt or truncated.',
    });
    expect((await refusal(decodeBody(Buffer.from('{"a":1}'), headers, limits))).code).toBe(
      'DEEPREF_BAD_ENCODING',
    );
  });

  it('refuses a gzip bomb after the limit, without inflating the rest', async () => {
    // 50 MB of zeros compress to about 50 KB.
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(limits.maxRequestBytes);
    const headers = { ...json, 'content-encoding': 'gzip' };
    expect(await refusal(decodeBody(bomb, headers, limits))).toEqual({
      code: 'DEEPREF_PAYLOAD_TOO_LARGE',
      message: 'The request body is larger than the limit of 512000 bytes. Send fewer events per request.',
    });

    // Sent as a stream, the decoder stops reading long before the end: the rest is never inflated.
    const chunkSize = 1024;
    let pulled = 0;
    async function* wire() {
      for (let at = 0; at < bomb.length; at += chunkSize) {
        pulled++;
        yield bomb.subarray(at, at + chunkSize);
      }
    }
    expect((await refusal(decodeBody(wire(), headers, limits))).code).toBe('DEEPREF_PAYLOAD_TOO_LARGE');
    expect(pulled).toBeLessThan(Math.ceil(bomb.length / chunkSize) / 2);
  });

  it('refuses a body larger than the limit, by Content-Length or by bytes read', async () => {
    const small = { maxRequestBytes: 10 };
    const declared = { ...json, 'content-length': '11' };
    expect((await refusal(decodeBody(Buffer.from('{}'), declared, small))).code).toBe(
      'DEEPREF_PAYLOAD_TOO_LARGE',
    );
    expect((await refusal(decodeBody(Buffer.from('[1,2,3,4,5,6]'), json, small))).code).toBe(
      'DEEPREF_PAYLOAD_TOO_LARGE',
    );
    const stream = Readable.from([Buffer.from('[1,2,3'), Buffer.from(',4,5,6]')]);
    expect((await refusal(decodeBody(stream, json, small))).code).toBe('DEEPREF_PAYLOAD_TOO_LARGE');
  });

  it('refuses invalid UTF-8', async () => {
    const body = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    expect(await refusal(decodeBody(body, json, limits))).toEqual({
      code: 'DEEPREF_BAD_ENCODING',
      message: 'The request body could not be decoded: the body is not valid UTF-8.',
    });
  });

  it('drops a UTF-8 byte order mark', async () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('[]')]);
    expect((await decodeBody(body, json, limits)).value).toEqual([]);
  });

  it('reports malformed JSON by position without echoing the body', async () => {
    const body = Buffer.from('[{"email":"jane@example.com",,}]');
    const { code, message } = await refusal(decodeBody(body, json, limits));
    expect(code).toBe('DEEPREF_MALFORMED_JSON');
    expect(message).toBe(
      'The request body is not valid JSON: expected a double-quoted property name at position 29.',
    );
    expect(message).not.toContain('jane');
  });

  it('works as a Fastify content-type parser', async () => {
    const parse = collectorBodyParser(limits);
    const value = await parse(
      { headers: { 'content-type': 'text/plain' } },
      Readable.from([Buffer.from('[1]')]),
    );
    expect(value).toEqual([1]);
  });
});

describe('parseJson', () => {
  it('strips __proto__ keys, so a later merge cannot pollute Object.prototype', () => {
    const text = '{"a":1,"__proto__":{"polluted":true},"b":{"__proto__":{"polluted":true}}}';
    // A naive deep merge, the kind that turns a `__proto__` key into pollution.
    type Json = Record<string, unknown>;
    const merge = (target: Json, source: Json) => {
      for (const key of Object.keys(source)) {
        const next = source[key];
        if (next && typeof next === 'object') {
          if (!(key in target)) target[key] = {};
          merge(target[key] as Json, next as Json);
        } else {
          target[key] = next;
        }
      }
    };
    try {
      merge({}, JSON.parse(text)); // the control: plain JSON.parse is not enough
      expect(({} as Json).polluted).toBe(true);
    } finally {
      delete (Object.prototype as Json).polluted;
    }

    const value = parseJson(text) as Json;
    expect(value).toEqual({ a: 1, b: {} });
    expect(Object.hasOwn(value, '__proto__')).toBe(false);
    merge({}, value);
    expect(({} as Json).polluted).toBeUndefined();
  });

  it('strips keys written with unicode escapes', () => {
    expect(parseJson('{"\\u005f_proto__":{"x":1},"ok":true}')).toEqual({ ok: true });
  });

  it('strips constructor.prototype but keeps an innocent constructor key', () => {
    expect(parseJson('{"constructor":{"prototype":{"polluted":true}},"k":1}')).toEqual({ k: 1 });
    expect(parseJson('{"constructor":"Toyota"}')).toEqual({ constructor: 'Toyota' });
  });

  it('survives deep nesting without overflowing the stack', () => {
    const depth = 100_000;
    const text = `${'['.repeat(depth)}{"__proto__":1}${']'.repeat(depth)}`;
    expect(() => parseJson(text)).not.toThrow();
  });
});

describe('describeJsonError', () => {
  it('names the position of the first error', () => {
    expect(describeJsonError('')).toBe('the body is empty at position 0');
    expect(describeJsonError('[1,2')).toBe('unexpected end of input at position 4');
    expect(describeJsonError('{"a" 1}')).toBe("expected ':' after a property name at position 5");
    expect(describeJsonError('{"a":1,}')).toBe('expected a double-quoted property name at position 7');
    expect(describeJsonError('[1] x')).toBe('unexpected data after the JSON value at position 4');
    expect(describeJsonError('[01]')).toBe("expected ',' or ']' at position 2");
    expect(describeJsonError('"\\q"')).toBe('bad escape at position 2');
  });

  it('agrees with JSON.parse about what is valid', () => {
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.string()), (text) => {
        let valid = true;
        try {
          JSON.parse(text);
        } catch {
          valid = false;
        }
        expect(describeJsonError(text) === 'it could not be parsed').toBe(valid);
      }),
      { numRuns: 2000 },
    );
  });
});
