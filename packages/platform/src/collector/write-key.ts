/**
 * Where a request carries its write key. In order of precedence: the HTTP Basic user (Segment's libraries;
 * the password is empty and ignored), `writeKey` in a JSON body (Segment's browser calls), and `?writeKey=` in
 * the query, for `navigator.sendBeacon`, which cannot set headers. A key in the query lands in access logs
 * and proxies: it is a send-only key, which is why this is acceptable, but prefer the header.
 */
import { DeeprefError } from '../errors.ts';

export type WriteKeyLocation = 'basic' | 'body' | 'query';

export interface WriteKeyRequest {
  headers: { authorization?: string | undefined };
  body?: unknown;
  query?: unknown;
}

/** The write key of a request and where it was found, or undefined when there is none. */
export function findWriteKey(
  request: WriteKeyRequest,
): { writeKey: string; from: WriteKeyLocation } | undefined {
  const basic = basicUser(request.headers.authorization);
  if (basic) return { writeKey: basic, from: 'basic' };
  const inBody = stringField(request.body, 'writeKey');
  if (inBody) return { writeKey: inBody, from: 'body' };
  const inQuery = stringField(request.query, 'writeKey');
  if (inQuery) return { writeKey: inQuery, from: 'query' };
  return undefined;
}

/** The write key of a request; DEEPREF_MISSING_WRITE_KEY when there is none. */
export function requireWriteKey(request: WriteKeyRequest): string {
  const found = findWriteKey(request);
  if (!found) throw new DeeprefError('DEEPREF_MISSING_WRITE_KEY');
  return found.writeKey;
}

/** The user of `Authorization: Basic base64(user:password)`; a value without a colon is all user. */
function basicUser(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^\s*basic\s+([A-Za-z0-9+/_-]+={0,2})\s*$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = (colon === -1 ? decoded : decoded.slice(0, colon)).trim();
  return user || undefined;
}

function stringField(container: unknown, key: string): string | undefined {
  if (container === null || typeof container !== 'object' || Array.isArray(container)) return undefined;
  const value = Object.hasOwn(container, key) ? (container as Record<string, unknown>)[key] : undefined;
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}
