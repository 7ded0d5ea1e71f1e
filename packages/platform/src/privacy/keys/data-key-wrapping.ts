/**
 * How every `KeyStore` adapter keeps a data key at rest: AES-256-GCM under the master key, stored as
 * `nonce ‖ ciphertext ‖ tag` with the subject id and key id as authenticated data, beside the master key version.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto';
import type { DataKey } from './key-store.ts';
import type { MasterKey } from './master-key-file.ts';

/** A data key as stored: the row shape of both adapters' `data_keys` table. */
export interface WrappedDataKey {
  subject_id: string;
  key_id: string;
  master_version: number;
  wrapped: Buffer;
}

const nonceBytes = 12;
const tagBytes = 16;

export function checkSubjectId(subjectId: string): void {
  if (typeof subjectId !== 'string' || subjectId.length === 0) {
    throw new TypeError('A subject id must be a non-empty string.');
  }
}

/** A new random data key for the subject, wrapped under `master`, and the key itself for the caller to use. */
export function newWrappedDataKey(
  master: MasterKey,
  subjectId: string,
): { row: WrappedDataKey; dataKey: DataKey } {
  const keyId = randomBytes(8).toString('base64url');
  const raw = randomBytes(32);
  try {
    return {
      row: {
        subject_id: subjectId,
        key_id: keyId,
        master_version: master.version,
        wrapped: wrap(master, subjectId, keyId, raw),
      },
      dataKey: { subjectId, keyId, key: createSecretKey(raw) },
    };
  } finally {
    raw.fill(0);
  }
}

/** The row's data key; `mismatch` makes the error for a row that `master` does not open. */
export function unwrapDataKey(
  master: MasterKey,
  row: WrappedDataKey,
  mismatch: (detail: string) => Error,
): DataKey {
  const raw = unwrap(master, row, mismatch);
  try {
    return { subjectId: row.subject_id, keyId: row.key_id, key: createSecretKey(raw) };
  } finally {
    raw.fill(0);
  }
}

/** The row wrapped anew under `next` (master key rotation); the data key itself does not change. */
export function rewrapDataKey(
  current: MasterKey,
  next: MasterKey,
  row: WrappedDataKey,
  mismatch: (detail: string) => Error,
): WrappedDataKey {
  const raw = unwrap(current, row, mismatch);
  try {
    return { ...row, master_version: next.version, wrapped: wrap(next, row.subject_id, row.key_id, raw) };
  } finally {
    raw.fill(0);
  }
}

/** Binds a wrapped key to its subject and key id, so a row copied onto another subject does not unwrap. */
function wrapAad(subjectId: string, keyId: string): Buffer {
  return Buffer.from(JSON.stringify(['deepref-data-key:v1', subjectId, keyId]));
}

function wrap(master: MasterKey, subjectId: string, keyId: string, raw: Buffer): Buffer {
  const nonce = randomBytes(nonceBytes);
  const cipher = createCipheriv('aes-256-gcm', master.key, nonce);
  cipher.setAAD(wrapAad(subjectId, keyId));
  const body = Buffer.concat([cipher.update(raw), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

function unwrap(master: MasterKey, row: WrappedDataKey, mismatch: (detail: string) => Error): Buffer {
  if (row.master_version !== master.version) {
    throw mismatch(
      `a data key is wrapped under master key version ${row.master_version}, not ${master.version}`,
    );
  }
  const nonce = row.wrapped.subarray(0, nonceBytes);
  const tag = row.wrapped.subarray(row.wrapped.length - tagBytes);
  const body = row.wrapped.subarray(nonceBytes, row.wrapped.length - tagBytes);
  try {
    const decipher = createDecipheriv('aes-256-gcm', master.key, nonce);
    decipher.setAAD(wrapAad(row.subject_id, row.key_id));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch (error) {
    throw mismatch(`the wrapped data key ${row.key_id} does not authenticate (${(error as Error).message})`);
  }
}
