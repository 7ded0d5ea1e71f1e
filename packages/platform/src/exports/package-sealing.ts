/**
 * How an export package is kept at rest: its zip encrypted with AES-256-GCM under a data key of its own, held by the
 * KeyStore under the package's key name (`packageKeyName`), stored as `nonce ‖ ciphertext ‖ tag`. The package id and
 * key id are authenticated data, so sealed bytes moved onto another package do not open.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DataKey } from '../privacy/keys/key-store.ts';

const nonceBytes = 12;
const tagBytes = 16;

/**
 * The KeyStore name of a package's key. The `export-package:` prefix and the random package id keep it apart from
 * every subject's key, so erasing a subject never reaches a package kept for it, and destroying a package's key
 * reaches no subject.
 */
export function packageKeyName(exportId: string): string {
  return `export-package:${exportId}`;
}

function aad(exportId: string, keyId: string): Buffer {
  return Buffer.from(`deepref-export-package:v1\n${exportId}\n${keyId}`, 'utf8');
}

export function sealPackage(key: DataKey, exportId: string, zip: Uint8Array): Buffer {
  const nonce = randomBytes(nonceBytes);
  const cipher = createCipheriv('aes-256-gcm', key.key, nonce);
  cipher.setAAD(aad(exportId, key.keyId));
  return Buffer.concat([nonce, cipher.update(zip), cipher.final(), cipher.getAuthTag()]);
}

/** The zip; throws when the bytes were changed or belong to another package or key. */
export function openPackage(key: DataKey, exportId: string, sealed: Uint8Array): Buffer {
  const bytes = Buffer.from(sealed);
  const decipher = createDecipheriv('aes-256-gcm', key.key, bytes.subarray(0, nonceBytes));
  decipher.setAAD(aad(exportId, key.keyId));
  decipher.setAuthTag(bytes.subarray(bytes.length - tagBytes));
  return Buffer.concat([
    decipher.update(bytes.subarray(nonceBytes, bytes.length - tagBytes)),
    decipher.final(),
  ]);
}
