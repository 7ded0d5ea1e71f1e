import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decryptForSubject, encryptForSubject } from '../../crypto/field-encryption.ts';
import { type LocalKeyStoreOptions, openLocalKeyStore } from './local-key-store.ts';

let dir: string;
let options: LocalKeyStoreOptions;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-keys-'));
  options = {
    masterKeyFile: path.join(dir, 'secrets', 'master.key'),
    databaseFile: path.join(dir, 'keys.db'),
  };
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const mode = (file: string) => fs.statSync(file).mode & 0o777;

function wrappedKeyOf(subjectId: string): Buffer {
  const db = new Database(options.databaseFile, { readonly: true });
  try {
    const row = db.prepare('SELECT wrapped FROM data_keys WHERE subject_id = ?').get(subjectId) as
      | { wrapped: Buffer }
      | undefined;
    return row!.wrapped;
  } finally {
    db.close();
  }
}

/** Every file SQLite keeps for the database: the file itself, its WAL and its shared-memory index. */
function databaseBytes(): Buffer[] {
  return ['', '-wal', '-shm', '-journal']
    .map((suffix) => options.databaseFile + suffix)
    .filter((file) => fs.existsSync(file))
    .map((file) => fs.readFileSync(file));
}

const containsBytes = (needle: Buffer) => databaseBytes().some((bytes) => bytes.includes(needle));

describe('local key store: master key file', () => {
  it('creates the master key file with mode 0600 in a folder with mode 0700 on first start', async () => {
    const store = await openLocalKeyStore(options);
    await store.close();
    expect(mode(options.masterKeyFile)).toBe(0o600);
    expect(mode(path.dirname(options.masterKeyFile))).toBe(0o700);
    expect(fs.readFileSync(options.masterKeyFile, 'utf8')).toMatch(
      /^deepref-master-key:v1:1:[A-Za-z0-9_-]{43}\n$/,
    );
  });

  it('refuses to start when others may read the master key file', async () => {
    await (await openLocalKeyStore(options)).close();
    fs.chmodSync(options.masterKeyFile, 0o644);
    await expect(openLocalKeyStore(options)).rejects.toMatchObject({
      code: 'DEEPREF_MASTER_KEY_INSECURE',
      message: expect.stringContaining('has mode 0644'),
    });
  });

  it('refuses to start with a damaged master key file', async () => {
    await (await openLocalKeyStore(options)).close();
    fs.writeFileSync(options.masterKeyFile, 'deepref-master-key:v1:1:tooshort\n', { mode: 0o600 });
    await expect(openLocalKeyStore(options)).rejects.toMatchObject({ code: 'DEEPREF_MASTER_KEY_DAMAGED' });
  });

  it('refuses a missing master key file when the database already holds keys', async () => {
    await (await openLocalKeyStore(options)).close();
    fs.rmSync(options.masterKeyFile);
    await expect(openLocalKeyStore(options)).rejects.toMatchObject({ code: 'DEEPREF_MASTER_KEY_DAMAGED' });
    expect(fs.existsSync(options.masterKeyFile)).toBe(false);
  });

  it('refuses a valid master key that is not the one the database was made with', async () => {
    await (await openLocalKeyStore(options)).close();
    const other = Buffer.alloc(32, 7).toString('base64url');
    fs.writeFileSync(options.masterKeyFile, `deepref-master-key:v1:1:${other}\n`, { mode: 0o600 });
    await expect(openLocalKeyStore(options)).rejects.toMatchObject({ code: 'DEEPREF_MASTER_KEY_MISMATCH' });
  });
});

describe('local key store: data keys', () => {
  it('gives a subject the same data key on every call and across restarts, and each subject its own', async () => {
    const store = await openLocalKeyStore(options);
    expect(await store.existingDataKey('user-x')).toBeUndefined();
    const x = await store.dataKeyFor('user-x');
    const y = await store.dataKeyFor('user-y');
    expect(x.key.export()).toHaveLength(32);
    expect(x.keyId).toMatch(/^[A-Za-z0-9_-]{11}$/);
    expect((await store.dataKeyFor('user-x')).key.export()).toEqual(x.key.export());
    expect(y.key.export()).not.toEqual(x.key.export());
    await store.close();

    const reopened = await openLocalKeyStore(options);
    const again = await reopened.existingDataKey('user-x');
    expect(again?.keyId).toBe(x.keyId);
    expect(again?.key.export()).toEqual(x.key.export());
    await reopened.close();
  });

  it('destroys a subject key so that a new one for the same subject is different', async () => {
    const store = await openLocalKeyStore(options);
    const before = await store.dataKeyFor('user-x');
    await store.destroy('user-x');
    expect(await store.existingDataKey('user-x')).toBeUndefined();
    const after = await store.dataKeyFor('user-x');
    expect(after.keyId).not.toBe(before.keyId);
    expect(after.key.export()).not.toEqual(before.key.export());
    await store.close();
  });

  it('leaves no byte of a destroyed data key in the database file or its WAL', async () => {
    const store = await openLocalKeyStore(options);
    const x = await store.dataKeyFor('user-x');
    await store.dataKeyFor('user-y');
    const xWrapped = wrappedKeyOf('user-x');
    const yWrapped = wrappedKeyOf('user-y');
    // The scan can see a live key, so not finding the destroyed one means something.
    expect(containsBytes(xWrapped)).toBe(true);

    await store.destroy('user-x');
    expect(containsBytes(xWrapped)).toBe(false);
    expect(containsBytes(x.key.export())).toBe(false);
    await store.close();

    expect(containsBytes(xWrapped)).toBe(false);
    expect(containsBytes(x.key.export())).toBe(false);
    expect(containsBytes(yWrapped)).toBe(true);
  });
});

describe('local key store: master key rotation', () => {
  const subjects = Array.from({ length: 20 }, (_, i) => `user-${i}`);

  async function encryptAll(store: Awaited<ReturnType<typeof openLocalKeyStore>>) {
    const values = new Map<string, string>();
    for (const subject of subjects) {
      values.set(
        subject,
        await encryptForSubject(store, subject, 'properties.prompt_text', `secret of ${subject}`),
      );
    }
    return values;
  }

  async function expectAllDecrypt(
    store: Awaited<ReturnType<typeof openLocalKeyStore>>,
    values: Map<string, string>,
  ) {
    for (const [subject, value] of values) {
      expect(await decryptForSubject(store, subject, 'properties.prompt_text', value)).toBe(
        `secret of ${subject}`,
      );
    }
  }

  it('re-wraps every data key under a new master key and keeps every value decryptable', async () => {
    const store = await openLocalKeyStore(options);
    const values = await encryptAll(store);
    const oldKeyFile = fs.readFileSync(options.masterKeyFile, 'utf8');
    const oldWrapped = wrappedKeyOf('user-3');

    expect(await store.rotateMasterKey()).toEqual({ masterKeyVersion: 2, rewrapped: 20 });
    await expectAllDecrypt(store, values);
    await store.close();

    const newKeyFile = fs.readFileSync(options.masterKeyFile, 'utf8');
    expect(newKeyFile).toMatch(/^deepref-master-key:v1:2:/);
    expect(newKeyFile.split(':')[3]).not.toBe(oldKeyFile.split(':')[3]);
    expect(mode(options.masterKeyFile)).toBe(0o600);
    expect(fs.readdirSync(path.dirname(options.masterKeyFile))).toEqual(['master.key']);
    expect(wrappedKeyOf('user-3')).not.toEqual(oldWrapped);
    expect(containsBytes(oldWrapped)).toBe(false);

    const reopened = await openLocalKeyStore(options);
    await expectAllDecrypt(reopened, values);
    await reopened.close();
  });

  it('lets a second process on the same files follow a rotation made by the first', async () => {
    const server = await openLocalKeyStore(options);
    const cli = await openLocalKeyStore(options);
    const values = await encryptAll(server);
    await cli.rotateMasterKey();
    await expectAllDecrypt(server, values);
    expect((await server.dataKeyFor('user-new')).keyId).toBe((await cli.existingDataKey('user-new'))?.keyId);
    await cli.close();
    await server.close();
  });

  it('finishes a rotation that committed before the new key replaced the key file', async () => {
    const store = await openLocalKeyStore(options);
    const values = await encryptAll(store);
    const oldKeyFile = fs.readFileSync(options.masterKeyFile);
    await store.rotateMasterKey();
    await store.close();
    // As if the process died between the commit and the rename.
    fs.renameSync(options.masterKeyFile, `${options.masterKeyFile}.next`);
    fs.writeFileSync(options.masterKeyFile, oldKeyFile, { mode: 0o600 });

    const reopened = await openLocalKeyStore(options);
    await expectAllDecrypt(reopened, values);
    await reopened.close();
    expect(fs.readFileSync(options.masterKeyFile, 'utf8')).toMatch(/^deepref-master-key:v1:2:/);
    expect(fs.existsSync(`${options.masterKeyFile}.next`)).toBe(false);
  });

  it('discards the new key of a rotation that never committed', async () => {
    const store = await openLocalKeyStore(options);
    const values = await encryptAll(store);
    await store.close();
    const unused = Buffer.alloc(32, 9).toString('base64url');
    fs.writeFileSync(`${options.masterKeyFile}.next`, `deepref-master-key:v1:2:${unused}\n`, { mode: 0o600 });

    const reopened = await openLocalKeyStore(options);
    await expectAllDecrypt(reopened, values);
    await reopened.close();
    expect(fs.existsSync(`${options.masterKeyFile}.next`)).toBe(false);
    expect(fs.readFileSync(options.masterKeyFile, 'utf8')).toMatch(/^deepref-master-key:v1:1:/);
  });
});
