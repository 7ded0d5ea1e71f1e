/**
 * Request bodies into JSON values: media type, content encoding (gzip inflated as a stream under a hard cap, so
 * a gzip bomb is refused after `maxRequestBytes`, never inflated), strict UTF-8, then JSON without prototype keys.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { IngestConfig } from '../config.ts';
import { DeeprefError } from '../errors.ts';

/** The media types the collector parses; register exactly these with Fastify (`addContentTypeParser`). */
export const collectorMediaTypes = ['application/json', 'text/plain'] as const;

/** The request headers the decoder reads; Fastify's `request.headers` fits. */
export interface BodyHeaders {
  'content-type'?: string | undefined;
  'content-encoding'?: string | undefined;
  'content-length'?: string | undefined;
}

export interface DecodedBody {
  value: unknown;
  /** Bytes of JSON text after decompression. */
  bytes: number;
}

/**
 * Decodes a request body, given whole (a Buffer) or as the request stream. Both the bytes on the wire and the
 * inflated bytes are capped at `maxRequestBytes`; reading stops at the first byte past the cap.
 *
 * The media type is only a gate: `text/plain` is what browsers send to skip the CORS preflight (`sendBeacon`
 * with a string), and the body is decoded as UTF-8 (RFC 8259 §8.1) whatever `charset` the header names.
 */
export async function decodeBody(
  body: Uint8Array | AsyncIterable<Uint8Array>,
  headers: BodyHeaders,
  limits: Pick<IngestConfig, 'maxRequestBytes'>,
): Promise<DecodedBody> {
  checkMediaType(headers['content-type']);
  const gzip = isGzip(headers['content-encoding']);
  const limit = limits.maxRequestBytes;
  const declared = Number(headers['content-length']);
  if (declared > limit) throw new DeeprefError('DEEPREF_PAYLOAD_TOO_LARGE', { limit });

  const bytes = gzip
    ? await inflateCapped(body, limit)
    : body instanceof Uint8Array
      ? capped(body, limit)
      : await readCapped(body, limit);
  const text = decodeUtf8(bytes);
  return { value: parseJson(text), bytes: bytes.length };
}

/**
 * A Fastify content-type parser for `collectorMediaTypes` (async form, streaming: register it without `parseAs`).
 * Register it also for `'*'` so that other media types get DEEPREF_UNSUPPORTED_MEDIA_TYPE from the same catalog
 * instead of Fastify's own 415.
 */
export function collectorBodyParser(limits: Pick<IngestConfig, 'maxRequestBytes'>) {
  return async (request: { headers: BodyHeaders }, payload: AsyncIterable<Uint8Array>): Promise<unknown> =>
    (await decodeBody(payload, request.headers, limits)).value;
}

function checkMediaType(header: string | undefined): void {
  const mediaType = (header ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (mediaType === 'application/json' || mediaType === 'text/plain') return;
  throw new DeeprefError('DEEPREF_UNSUPPORTED_MEDIA_TYPE', { contentType: mediaType || '(none)' });
}

function isGzip(header: string | undefined): boolean {
  const encoding = (header ?? '').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') return false;
  if (encoding === 'gzip' || encoding === 'x-gzip') return true;
  // A list such as "gzip, gzip" or "br" is refused rather than guessed at; the echo is cut short.
  throw new DeeprefError('DEEPREF_UNSUPPORTED_ENCODING', { encoding: encoding.slice(0, 40) });
}

function capped(bytes: Uint8Array, limit: number): Uint8Array {
  if (bytes.length > limit) throw new DeeprefError('DEEPREF_PAYLOAD_TOO_LARGE', { limit });
  return bytes;
}

function chunksOf(body: Uint8Array | AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  return body instanceof Uint8Array ? Readable.from([body]) : body;
}

async function readCapped(body: AsyncIterable<Uint8Array>, limit: number): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > limit) throw new DeeprefError('DEEPREF_PAYLOAD_TOO_LARGE', { limit });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

/**
 * Inflates gzip as a stream and stops as soon as the output passes `limit`: throwing in the sink destroys the
 * gunzip stream, so at most one zlib chunk (16 KiB) beyond the cap is ever produced.
 */
async function inflateCapped(body: Uint8Array | AsyncIterable<Uint8Array>, limit: number): Promise<Buffer> {
  const tooLarge = new DeeprefError('DEEPREF_PAYLOAD_TOO_LARGE', { limit });
  const chunks: Buffer[] = [];
  let total = 0;
  let wire = 0;
  try {
    await pipeline(
      chunksOf(body),
      async function* countWireBytes(source: AsyncIterable<Uint8Array>) {
        for await (const chunk of source) {
          wire += chunk.length;
          if (wire > limit) throw tooLarge;
          yield chunk;
        }
      },
      createGunzip(),
      async (inflated: AsyncIterable<Buffer>) => {
        for await (const chunk of inflated) {
          total += chunk.length;
          if (total > limit) throw tooLarge;
          chunks.push(chunk);
        }
      },
    );
  } catch (error) {
    if (error instanceof DeeprefError) throw error;
    throw new DeeprefError('DEEPREF_BAD_ENCODING', { detail: 'the gzip stream is corrupt or truncated' });
  }
  return Buffer.concat(chunks, total);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Strict UTF-8; a leading byte order mark is dropped. */
function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new DeeprefError('DEEPREF_BAD_ENCODING', { detail: 'the body is not valid UTF-8' });
  }
}

// Keys written with \u escapes decode to the same names, so the quick test looks for any escape as well.
const suspectKey = /"(?:__proto__|constructor)"\s*:|\\u/;

/**
 * Parses JSON text and removes the keys that turn a later merge into prototype pollution: every `__proto__`,
 * and every `constructor` whose value is an object with a `prototype` key (secure-json-parse's rule). Parsing
 * itself never pollutes (JSON.parse defines own properties); the keys are removed so no later step can.
 * Errors give a position, never the content.
 */
export function parseJson(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DeeprefError('DEEPREF_MALFORMED_JSON', { detail: describeJsonError(text) });
  }
  if (value !== null && typeof value === 'object' && suspectKey.test(text)) removePrototypeKeys(value);
  return value;
}

/** Walks with an explicit stack, so a deeply nested body cannot overflow the call stack. */
function removePrototypeKeys(root: object): void {
  const stack: object[] = [root];
  while (stack.length > 0) {
    const node = stack.pop() as Record<string, unknown>;
    if (Object.hasOwn(node, '__proto__')) Reflect.deleteProperty(node, '__proto__');
    const ctor = Object.hasOwn(node, 'constructor') ? node.constructor : undefined;
    if (ctor !== null && typeof ctor === 'object' && Object.hasOwn(ctor, 'prototype')) {
      Reflect.deleteProperty(node, 'constructor');
    }
    for (const key in node) {
      const child = node[key];
      if (child !== null && typeof child === 'object') stack.push(child);
    }
  }
}

/**
 * Where and why JSON text is invalid, found by a small scanner of our own: V8's messages quote the input
 * ("Unexpected token 'x', "…" is not valid JSON"), and no part of a body may be echoed to the client.
 * Only called on the error path.
 */
export function describeJsonError(text: string): string {
  const scanner = new JsonScanner(text);
  const failure = scanner.scan();
  if (!failure) return 'it could not be parsed';
  return `${failure.what} at position ${failure.at}`;
}

class JsonScanner {
  private i = 0;
  constructor(private readonly s: string) {}

  scan(): { what: string; at: number } | undefined {
    try {
      this.skipSpace();
      if (this.i >= this.s.length) return { what: 'the body is empty', at: this.i };
      this.value();
      this.skipSpace();
      if (this.i < this.s.length) return { what: 'unexpected data after the JSON value', at: this.i };
      return undefined;
    } catch (failure) {
      return failure as { what: string; at: number };
    }
  }

  private fail(what: string): never {
    throw this.i >= this.s.length ? { what: 'unexpected end of input', at: this.i } : { what, at: this.i };
  }

  private skipSpace(): void {
    while (this.i < this.s.length) {
      const c = this.s.charCodeAt(this.i);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.i++;
    }
  }

  /** One value; containers are tracked on an explicit stack rather than by recursion. */
  private value(): void {
    const open: string[] = [];
    for (;;) {
      this.skipSpace();
      const c = this.s[this.i];
      if (c === '{' || c === '[') {
        this.i++;
        this.skipSpace();
        const close = c === '{' ? '}' : ']';
        if (this.s[this.i] === close) {
          this.i++;
        } else {
          open.push(close);
          if (close === '}') this.memberName();
          continue;
        }
      } else if (c === '"') {
        this.string();
      } else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
        this.number();
      } else if (!this.literal('true') && !this.literal('false') && !this.literal('null')) {
        this.fail('unexpected character');
      }
      // A value is complete: close containers or move to the next element.
      for (;;) {
        const close = open.at(-1);
        if (close === undefined) return;
        this.skipSpace();
        const next = this.s[this.i];
        if (next === close) {
          this.i++;
          open.pop();
          continue;
        }
        if (next !== ',') this.fail(`expected ',' or '${close}'`);
        this.i++;
        if (close === '}') this.memberName();
        break;
      }
    }
  }

  private memberName(): void {
    this.skipSpace();
    if (this.s[this.i] !== '"') this.fail('expected a double-quoted property name');
    this.string();
    this.skipSpace();
    if (this.s[this.i] !== ':') this.fail("expected ':' after a property name");
    this.i++;
  }

  private literal(word: string): boolean {
    if (!this.s.startsWith(word, this.i)) return false;
    this.i += word.length;
    return true;
  }

  private string(): void {
    this.i++;
    for (;;) {
      if (this.i >= this.s.length) this.fail('unterminated string');
      const c = this.s.charCodeAt(this.i);
      if (c === 0x22) {
        this.i++;
        return;
      }
      if (c < 0x20) this.fail('control character in a string');
      if (c === 0x5c) {
        this.i++;
        const e = this.s[this.i];
        if (e === 'u') {
          for (let k = 1; k <= 4; k++) {
            if (!/[0-9a-fA-F]/.test(this.s[this.i + k] ?? '')) {
              this.i += k;
              this.fail('bad unicode escape');
            }
          }
          this.i += 4;
        } else if (e === undefined || !'"\\/bfnrt'.includes(e)) {
          this.fail('bad escape');
        }
      }
      this.i++;
    }
  }

  private number(): void {
    if (this.s[this.i] === '-') this.i++;
    if (this.s[this.i] === '0') {
      this.i++;
    } else if (!this.digits()) {
      this.fail('bad number');
    }
    if (this.s[this.i] === '.') {
      this.i++;
      if (!this.digits()) this.fail('bad number');
    }
    if (this.s[this.i] === 'e' || this.s[this.i] === 'E') {
      this.i++;
      if (this.s[this.i] === '+' || this.s[this.i] === '-') this.i++;
      if (!this.digits()) this.fail('bad number');
    }
  }

  private digits(): boolean {
    const start = this.i;
    while (this.i < this.s.length && this.s[this.i]! >= '0' && this.s[this.i]! <= '9') this.i++;
    return this.i > start;
  }
}
