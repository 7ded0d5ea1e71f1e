import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataKey } from '../keys/key-store.ts';
import { type LocalKeyStore, openLocalKeyStore } from '../keys/local/local-key-store.ts';
import {
  decryptField,
  decryptForSubject,
  encryptField,
  encryptForSubject,
  isEncrypted,
} from './field-encryption.ts';

let dir: string;
let store: LocalKeyStore;
let alice: DataKey;
let bob: DataKey;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-fields-'));
  store = await openLocalKeyStore({
    masterKeyFile: path.join(dir, 'secrets', 'master.key'),
    databaseFile: path.join(dir, 'keys.db'),
  });
  alice = await store.dataKeyFor('alice');
  bob = await store.dataKeyFor('bob');
});
afterAll(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const field = 'properties.prompt_text';

/** Flips one bit of the decoded body at `index` (negative counts from the end) and re-encodes the value. */
function flipBit(value: string, index: number): string {
  const [scheme, version, keyId, body] = value.split(':') as [string, string, string, string];
  const bytes = Buffer.from(body, 'base64url');
  const at = index < 0 ? bytes.length + index : index;
  bytes[at] = bytes[at]! ^ 0x01;
  return [scheme, version, keyId, bytes.toString('base64url')].join(':');
}

describe('field encryption', () => {
  it('round-trips a value in the enc:v1 format', () => {
    const value = encryptField(alice, field, 'how do I reset my password? ✓ ünïcode');
    expect(value).toMatch(new RegExp(`^enc:v1:${alice.keyId}:[A-Za-z0-9_-]+$`));
    expect(isEncrypted(value)).toBe(true);
    expect(decryptField(alice, field, value)).toBe('how do I reset my password? ✓ ünïcode');
    expect(decryptField(alice, field, encryptField(alice, field, ''))).toBe('');
  });

  it('tells encrypted values from plain ones', () => {
    expect(isEncrypted('hello')).toBe(false);
    expect(isEncrypted('enc:v1:short:abc')).toBe(false);
    expect(isEncrypted(42)).toBe(false);
    expect(isEncrypted(encryptField(bob, field, 'x'))).toBe(true);
  });

  it('encrypts the same value differently every time', () => {
    expect(encryptField(alice, field, 'same')).not.toBe(encryptField(alice, field, 'same'));
  });

  it.each([
    ['the nonce', 0],
    ['the ciphertext', 13],
    ['the tag', -1],
  ])('refuses a value with one bit flipped in %s', (_, index) => {
    const value = flipBit(encryptField(alice, field, 'a secret'), index);
    expect(() => decryptField(alice, field, value)).toThrow(
      expect.objectContaining({ code: 'DEEPREF_DECRYPT_FAILED' }),
    );
  });

  it('refuses a value moved to another field or another subject', () => {
    const value = encryptField(alice, field, 'a secret');
    expect(() => decryptField(alice, 'properties.other', value)).toThrow(
      expect.objectContaining({ code: 'DEEPREF_DECRYPT_FAILED' }),
    );
    expect(() => decryptField(bob, field, value)).toThrow(
      expect.objectContaining({ code: 'DEEPREF_DECRYPT_FAILED' }),
    );
    // Even a subject given alice's very key and key id cannot read it: the subject id is authenticated.
    const impostor: DataKey = { ...alice, subjectId: 'mallory' };
    expect(() => decryptField(impostor, field, value)).toThrow(
      expect.objectContaining({ code: 'DEEPREF_DECRYPT_FAILED' }),
    );
  });

  it('uses a different nonce for each of 100,000 values', () => {
    const nonces = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      // 16 base64url characters are exactly the 12 nonce bytes.
      nonces.add(encryptField(alice, field, '').slice(`enc:v1:${alice.keyId}:`.length).slice(0, 16));
    }
    expect(nonces.size).toBe(100_000);
  });

  it('round-trips any string for any subject and field', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string(), (plaintext, fieldPath) => {
        const value = encryptField(bob, fieldPath, plaintext);
        expect(isEncrypted(value)).toBe(true);
        expect(decryptField(bob, fieldPath, value)).toBe(plaintext);
      }),
      { numRuns: 300 },
    );
  });
});

describe('field encryption and erasure', () => {
  it('cannot decrypt an erased subject, and still decrypts everyone else', async () => {
    const x = await encryptForSubject(store, 'subject-x', field, 'canary-x');
    const y = await encryptForSubject(store, 'subject-y', field, 'canary-y');
    expect(await decryptForSubject(store, 'subject-x', field, x)).toBe('canary-x');

    await store.destroy('subject-x');
    await expect(decryptForSubject(store, 'subject-x', field, x)).rejects.toMatchObject({
      code: 'DEEPREF_SUBJECT_ERASED',
      statusCode: 410,
    });
    expect(await decryptForSubject(store, 'subject-y', field, y)).toBe('canary-y');

    // A new key for the same subject id does not bring the erased values back.
    await encryptForSubject(store, 'subject-x', field, 'new data');
    await expect(decryptForSubject(store, 'subject-x', field, x)).rejects.toMatchObject({
      code: 'DEEPREF_DECRYPT_FAILED',
    });
  });
});
