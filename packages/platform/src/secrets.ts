/**
 * Local secrets that live in `<data-dir>/secrets/` with mode 0600, created on first start: for now the key for
 * hashing IP addresses. (The per-subject data keys of the privacy work wrap under a master key kept the same way.)
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Reads the named 32-byte secret, creating it (0600, in a 0700 folder) when it does not exist. */
export function loadOrCreateSecret(secretsDir: string, name: string): Buffer {
  fs.mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
  const file = path.join(secretsDir, `${name}.key`);
  try {
    fs.writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new Error(`Secret ${file} is damaged: expected 32 bytes of base64.`);
  return key;
}
