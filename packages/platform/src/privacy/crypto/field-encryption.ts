/**
 * Field encryption: a string value encrypted with its subject's data key (AES-256-GCM), written as
 * `enc:v1:<keyId>:<base64url(nonce ‖ ciphertext ‖ tag)>`. The subject id, field path and key id are authenticated
 * data, so a value copied onto another subject or field does not decrypt; destroying the key erases the value.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DeeprefError } from '../../errors.ts';
import type { DataKey, KeyStore } from '../keys/key-store.ts';

const nonceBytes = 12;
const tagBytes = 16;
const encryptedValue = /^enc:v1:([A-Za-z0-9_-]{11}):([A-Za-z0-9_-]+)$/;
// base64url of the shortest body: a 12-byte nonce, an empty ciphertext and a 16-byte tag.
const minimumBodyChars = Math.ceil(((nonceBytes + tagBytes) * 4) / 3);

/** Whether a value has the encrypted-field format (it says nothing about whether it still decrypts). */
export function isEncrypted(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const match = encryptedValue.exec(value);
  return match !== null && match[2]!.length >= minimumBodyChars;
}

/** Encrypts `plaintext` for the field at `fieldPath` (e.g. `properties.prompt_text`) of the key's subject. */
export function encryptField(dataKey: DataKey, fieldPath: string, plaintext: string): string {
  // A random 96-bit nonce per value: with 2^32 values under one key the collision chance stays below 2^-32.
  const nonce = randomBytes(nonceBytes);
  const cipher = createCipheriv('aes-256-gcm', dataKey.key, nonce);
  cipher.setAAD(fieldAad(dataKey.subjectId, fieldPath, dataKey.keyId));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `enc:v1:${dataKey.keyId}:${Buffer.concat([nonce, body]).toString('base64url')}`;
}

/**
 * Decrypts a value of the field at `fieldPath` with the subject's data key; pass `undefined` when the subject has
 * no key (`KeyStore.existingDataKey`), which means it was erased.
 */
export function decryptField(dataKey: DataKey | undefined, fieldPath: string, value: string): string {
  const match = encryptedValue.exec(value);
  if (!match || !isEncrypted(value)) {
    throw new DeeprefError('DEEPREF_DECRYPT_FAILED', { detail: 'it is not in the enc:v1 format' });
  }
  if (!dataKey) throw new DeeprefError('DEEPREF_SUBJECT_ERASED');
  const keyId = match[1]!;
  if (keyId !== dataKey.keyId) {
    throw new DeeprefError('DEEPREF_DECRYPT_FAILED', {
      detail:
        `it was encrypted under data key ${keyId}, and the subject's key is ${dataKey.keyId} ` +
        '(the value is from another subject, or from this subject before an erasure)',
    });
  }
  const bytes = Buffer.from(match[2]!, 'base64url');
  const nonce = bytes.subarray(0, nonceBytes);
  const ciphertext = bytes.subarray(nonceBytes, bytes.length - tagBytes);
  const tag = bytes.subarray(bytes.length - tagBytes);
  try {
    const decipher = createDecipheriv('aes-256-gcm', dataKey.key, nonce);
    decipher.setAAD(fieldAad(dataKey.subjectId, fieldPath, keyId));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  } catch (error) {
    throw new DeeprefError(
      'DEEPREF_DECRYPT_FAILED',
      { detail: 'its authentication tag does not match' },
      { cause: error },
    );
  }
}

/** Encrypts one value, creating the subject's data key on first use. */
export async function encryptForSubject(
  keys: KeyStore,
  subjectId: string,
  fieldPath: string,
  plaintext: string,
): Promise<string> {
  return encryptField(await keys.dataKeyFor(subjectId), fieldPath, plaintext);
}

/** Decrypts one value; throws DEEPREF_SUBJECT_ERASED when the subject's key was destroyed. */
export async function decryptForSubject(
  keys: KeyStore,
  subjectId: string,
  fieldPath: string,
  value: string,
): Promise<string> {
  return decryptField(await keys.existingDataKey(subjectId), fieldPath, value);
}

function fieldAad(subjectId: string, fieldPath: string, keyId: string): Buffer {
  return Buffer.from(JSON.stringify(['deepref-field:v1', subjectId, fieldPath, keyId]));
}
