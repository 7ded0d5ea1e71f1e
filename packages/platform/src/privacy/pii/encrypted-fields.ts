/**
 * Reading back what the PII stage encrypted, for exports and data-subject requests. Format of an encrypted field:
 * the value is replaced by `enc:v1:<keyId>:<base64url(nonce ‖ ciphertext ‖ tag)>` (AES-256-GCM, see
 * crypto/field-encryption.ts) under the data key of the event's subject, which is `userId`, else `anonymousId`.
 * The authenticated field path is where the value sits: the root (`properties`, `traits`, `context`), then each
 * key, and each array index as a number, joined by dots (`properties.prompt_text`, `traits.address.street`,
 * `properties.notes.2`). A string decrypts to itself; a non-string value was encrypted as its JSON text and
 * decrypts to that text.
 */
import { decryptField, isEncrypted } from '../crypto/field-encryption.ts';
import type { KeyStore } from '../keys/key-store.ts';
import { policyRoots } from './apply-policy.ts';

/** The subject whose data key encrypts an event's fields: `userId`, else `anonymousId` (non-empty strings). */
export function eventSubject(event: { userId?: unknown; anonymousId?: unknown }): string | undefined {
  for (const id of [event.userId, event.anonymousId]) {
    if (typeof id === 'string' && id.length > 0 && id.length <= 256) return id;
  }
  return undefined;
}

/**
 * A copy of the event with every encrypted field of `properties`, `traits` and `context` decrypted. Throws
 * `DEEPREF_SUBJECT_ERASED` when the event has encrypted fields and its subject's key was destroyed, and
 * `DEEPREF_DECRYPT_FAILED` when a value was altered or moved to another subject or field.
 */
export async function decryptEventFields<
  E extends {
    userId?: unknown;
    anonymousId?: unknown;
    properties?: unknown;
    traits?: unknown;
    context?: unknown;
  },
>(event: E, keys: KeyStore): Promise<E> {
  const subject = eventSubject(event);
  if (subject === undefined || !hasEncrypted(event)) return event;
  const key = await keys.existingDataKey(subject);
  const decrypt = (value: unknown, path: string): unknown => {
    if (typeof value === 'string') return isEncrypted(value) ? decryptField(key, path, value) : value;
    if (Array.isArray(value)) return value.map((element, i) => decrypt(element, `${path}.${i}`));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decrypt(v, `${path}.${k}`)]));
    }
    return value;
  };
  const copy = { ...event };
  for (const root of policyRoots) {
    if (copy[root] !== undefined) (copy as Record<string, unknown>)[root] = decrypt(copy[root], root);
  }
  return copy;
}

function hasEncrypted(event: Record<string, unknown>): boolean {
  const search = (value: unknown): boolean => {
    if (typeof value === 'string') return isEncrypted(value);
    if (value !== null && typeof value === 'object') return Object.values(value).some(search);
    return false;
  };
  return policyRoots.some((root) => search(event[root]));
}
