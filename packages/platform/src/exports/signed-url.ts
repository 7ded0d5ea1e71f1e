/**
 * Signed download links for export packages: HMAC-SHA256, under a managed secret (`secrets/export-url.key`), over
 * the export's id and the link's expiry. Whoever holds the link may download until it expires; changing either part
 * of it, or the signature, makes it refused.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { DeeprefError } from '../errors.ts';

/** How long a link stays valid: 7 days (reference §8.1). */
export const downloadLinkLifetimeMs = 7 * 24 * 60 * 60 * 1000;

export interface SignedDownload {
  exportId: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  signature: string;
}

function mac(secret: Buffer, exportId: string, expiresAt: number): Buffer {
  return createHmac('sha256', secret).update(`deepref-export:v1\n${exportId}\n${expiresAt}`).digest();
}

export function signDownload(secret: Buffer, exportId: string, expiresAt: number): SignedDownload {
  return { exportId, expiresAt, signature: mac(secret, exportId, expiresAt).toString('base64url') };
}

/** The path and query of a link: `/api/v1/exports/<id>/download?expires=<ms>&signature=<mac>`. */
export function downloadPath(link: SignedDownload): string {
  const query = new URLSearchParams({ expires: String(link.expiresAt), signature: link.signature });
  return `/api/v1/exports/${encodeURIComponent(link.exportId)}/download?${query}`;
}

/**
 * Accepts a link that this secret signed and that has not expired at `now`; refuses a tampered one with
 * `DEEPREF_EXPORT_LINK_INVALID` and an expired one with `DEEPREF_EXPORT_LINK_EXPIRED` (checked after the signature,
 * so a forged expiry never tells anything).
 */
export function verifyDownload(
  secret: Buffer,
  exportId: string,
  expires: string | undefined,
  signature: string | undefined,
  now: number,
): void {
  if (!expires || !/^\d{1,16}$/.test(expires)) {
    throw new DeeprefError('DEEPREF_EXPORT_LINK_INVALID', { detail: 'its expiry is missing or malformed' });
  }
  const expected = mac(secret, exportId, Number(expires));
  const given = Buffer.from(signature ?? '', 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new DeeprefError('DEEPREF_EXPORT_LINK_INVALID', { detail: 'its signature does not match' });
  }
  if (now >= Number(expires)) {
    throw new DeeprefError('DEEPREF_EXPORT_LINK_EXPIRED', {
      expiresAt: new Date(Number(expires)).toISOString(),
    });
  }
}
