/**
 * CORS for the collector: which browser origins may send for a source, and the headers to answer with.
 *
 * A preflight (OPTIONS) is answered for every origin, and the source's `allowedOrigins` are enforced on the
 * actual request. The preflight cannot be checked against a source: browsers never send Authorization on it, so
 * the write key is unknown there. Checking it against the union of all sources' origins instead would protect
 * nothing either, because the requests browsers send without a preflight at all (`text/plain` bodies,
 * `sendBeacon`) reach the actual-request check anyway; that check is the one that counts, and doing it in one
 * place keeps the preflight free of store lookups and tells no one which origins are configured.
 *
 * Credentials (cookies) are never allowed: the write key is the credential. The Fetch standard knows only
 * `Access-Control-Allow-Credentials: true`, so "not allowed" is said by leaving that header out.
 */
import { DeeprefError } from '../errors.ts';
import type { Source } from './sources.ts';

/** How long browsers may cache a preflight, in seconds (Firefox caps at 86400, Chromium at 7200). */
export const preflightMaxAgeSeconds = 86_400;

const allowHeaders = 'Content-Type, Authorization, Content-Encoding';
const allowMethods = 'POST, OPTIONS';
/** Retry-After is not a CORS-safelisted response header, and SDKs need it after a 429 or 503. */
const exposeHeaders = 'Retry-After';

/**
 * Whether a browser at `origin` may send with this source's key. Requests without an Origin header do not come
 * from a browser page and are not subject to CORS. Matching is exact on scheme, host and port (default ports and
 * case normalised); `*` allows any origin except the opaque `null` origin, which must be listed literally.
 */
export function isOriginAllowed(source: Pick<Source, 'allowedOrigins'>, origin: string | undefined): boolean {
  if (origin === undefined) return true;
  if (origin === 'null') return source.allowedOrigins.includes('null');
  const wanted = normalizeOrigin(origin);
  if (wanted === undefined) return false;
  return source.allowedOrigins.some((allowed) => allowed === '*' || normalizeOrigin(allowed) === wanted);
}

/** Headers for the answer to a preflight (OPTIONS); see the module comment for why any origin is answered. */
export function preflightHeaders(origin: string | undefined): Record<string, string> {
  if (origin === undefined) return { Vary: 'Origin' };
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Methods': allowMethods,
    'Access-Control-Allow-Headers': allowHeaders,
    'Access-Control-Max-Age': String(preflightMaxAgeSeconds),
    Vary: 'Origin',
  };
}

/**
 * Headers for the answer to an actual request from `origin` with `source`'s key, or
 * DEEPREF_ORIGIN_NOT_ALLOWED (403, and the browser hides the answer from the page as well).
 */
export function requestCorsHeaders(
  source: Pick<Source, 'allowedOrigins'>,
  origin: string | undefined,
): Record<string, string> {
  if (origin === undefined) return { Vary: 'Origin' };
  if (!isOriginAllowed(source, origin)) {
    throw new DeeprefError('DEEPREF_ORIGIN_NOT_ALLOWED', { origin: origin.slice(0, 200) });
  }
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Expose-Headers': exposeHeaders,
    Vary: 'Origin',
  };
}

/** `scheme://host[:port]` with the URL parser's normalisation, or undefined when it is not an http(s) origin. */
function normalizeOrigin(value: string): string | undefined {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}
