/**
 * The behaviour every `KeyStore` adapter promises, as one suite that each adapter's test file runs with its own
 * fixture: the master key file, data keys shared by every opener, destruction that leaves no byte of the key in
 * the store's files, and master key rotation followed by every opener.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decryptForSubject, encryptForSubject } from '../crypto/field-encryption.ts';
import type { KeyStore } from './key-store.ts';

export interface KeyStoreFixture {
  /** The master key file every store of the fixture uses. */
  masterKeyFile: string;
  /** Opens a store on the fixture's storage: a restart, or another process when one is still open. */
  open(): Promise<KeyStore>;
  /** The subject's wrapped key as stored, read past the store. */
  wrappedKeyOf(subjectId: string): Promise<Buffer>;
  /** The bytes of every file the store keeps keys in; undefined (with a warning) when they cannot be read here. */
  storedFiles(): Promise<Buffer[] | undefined>;
  /** Removes what the fixture made; the test has closed its stores. */
  dispose(): Promise<void>;
}

const mode = (file: string) => fs.statSync(file).mode & 0o777;

export function describeKeyStoreContract(name: string, create: () => Promise<KeyStoreFixture>): void {
  describe(`KeyStore contract: ${name}`, () => {
    let fixture: KeyStoreFixture;
    let opened: KeyStore[] = [];

    async function open(): Promise<KeyStore> {
      const store = await fixture.open();
      opened.push(store);
      return store;
    }

    /** Whether a store file holds `needle`; undefined when the files cannot be read here. */
    async function filesHold(needle: Buffer): Promise<boolean | undefined> {
      const files = await fixture.storedFiles();
      return files?.some((bytes) => bytes.includes(needle));
    }

    beforeEach(async () => {
      fixture = await create();
      opened = [];
    });

    afterEach(async () => {
      for (const store of opened) await store.close();
      await fixture.dispose();
    });

    describe('master key file', () => {
      it('creates the master key file with mode 0600 in a folder with mode 0700 on first start', async () => {
        await (await open()).close();
        expect(mode(fixture.masterKeyFile)).toBe(0o600);
        expect(mode(path.dirname(fixture.masterKeyFile))).toBe(0o700);
        expect(fs.readFileSync(fixture.masterKeyFile, 'utf8')).toMatch(
          /^deepref-master-key:v1:1:[A-Za-z0-9_-]{43}\n$/,
        );
      });

      it('refuses to start when others may read the master key file', async () => {
        await (await open()).close();
        fs.chmodSync(fixture.masterKeyFile, 0o644);
        await expect(open()).rejects.toMatchObject({
          code: 'DEEPREF_MASTER_KEY_INSECURE',
          message: expect.stringContaining('has mode 0644'),
        });
      });

      it('refuses to start with a damaged master key file', async () => {
        await (await open()).close();
        fs.writeFileSync(fixture.masterKeyFile, 'deepref-master-key:v1:1:tooshort\n', { mode: 0o600 });
        await expect(open()).rejects.toMatchObject({ code: 'DEEPREF_MASTER_KEY_DAMAGED' });
      });

      it('refuses a missing master key file when the store already holds keys', async () => {
        await (await open()).close();
        fs.rmSync(fixture.masterKeyFile);
        await expect(open()).rejects.toMatchObject({ code: 'DEEPREF_MASTER_KEY_DAMAGED' });
        expect(fs.existsSync(fixture.masterKeyFile)).toBe(false);
      });

      it('refuses a valid master key that is not the one the store was made with', async () => {
        await (await open()).close();
        const other = Buffer.alloc(32, 7).toString('base64url');
        fs.writeFileSync(fixture.masterKeyFile, `deepref-master-key:v1:1:${other}\n`, { mode: 0o600 });
        await expect(open()).rejects.toMatchObject({ code: 'DEEPREF_MASTER_KEY_MISMATCH' });
      });
    });

    describe('data keys', () => {
      it('gives a subject the same data key on every call and across restarts, and each subject its own', async () => {
        const store = await open();
        expect(await store.existingDataKey('user-x')).toBeUndefined();
        const x = await store.dataKeyFor('user-x');
        const y = await store.dataKeyFor('user-y');
        expect(x.key.export()).toHaveLength(32);
        expect(x.keyId).toMatch(/^[A-Za-z0-9_-]{11}$/);
        expect((await store.dataKeyFor('user-x')).key.export()).toEqual(x.key.export());
        expect(y.key.export()).not.toEqual(x.key.export());
        await store.close();

        const again = await (await open()).existingDataKey('user-x');
        expect(again?.keyId).toBe(x.keyId);
        expect(again?.key.export()).toEqual(x.key.export());
      });

      it('gives concurrent callers in two processes one key per subject', async () => {
        const [first, second] = [await open(), await open()];
        const subjects = Array.from({ length: 10 }, (_, i) => `user-${i}`);
        const keys = await Promise.all(
          subjects.flatMap((subject) => [first.dataKeyFor(subject), second.dataKeyFor(subject)]),
        );
        for (let i = 0; i < subjects.length; i++) {
          expect(keys[2 * i + 1]!.keyId).toBe(keys[2 * i]!.keyId);
          expect(keys[2 * i + 1]!.key.export()).toEqual(keys[2 * i]!.key.export());
        }
        expect(new Set(keys.map((key) => key.keyId)).size).toBe(subjects.length);
      });

      it('destroys a subject key so that a new one for the same subject is different', async () => {
        const store = await open();
        const before = await store.dataKeyFor('user-x');
        await store.destroy('user-x');
        expect(await store.existingDataKey('user-x')).toBeUndefined();
        const after = await store.dataKeyFor('user-x');
        expect(after.keyId).not.toBe(before.keyId);
        expect(after.key.export()).not.toEqual(before.key.export());
      });

      it('shows a key destroyed by one process as gone to another', async () => {
        const [first, second] = [await open(), await open()];
        const before = await first.dataKeyFor('user-x');
        expect((await second.existingDataKey('user-x'))?.keyId).toBe(before.keyId);
        await first.destroy('user-x');
        expect(await second.existingDataKey('user-x')).toBeUndefined();
        expect((await second.dataKeyFor('user-x')).keyId).not.toBe(before.keyId);
      });

      it("leaves no byte of a destroyed data key in the store's files", async () => {
        const store = await open();
        const x = await store.dataKeyFor('user-x');
        await store.dataKeyFor('user-y');
        const xWrapped = await fixture.wrappedKeyOf('user-x');
        const yWrapped = await fixture.wrappedKeyOf('user-y');
        // The scan can see a live key, so not finding the destroyed one means something.
        const readable = await filesHold(xWrapped);
        if (readable === undefined) return;
        expect(readable).toBe(true);

        await store.destroy('user-x');
        expect(await filesHold(xWrapped)).toBe(false);
        expect(await filesHold(x.key.export())).toBe(false);
        await store.close();

        expect(await filesHold(xWrapped)).toBe(false);
        expect(await filesHold(x.key.export())).toBe(false);
        expect(await filesHold(yWrapped)).toBe(true);
      });
    });

    describe('master key rotation', () => {
      const subjects = Array.from({ length: 20 }, (_, i) => `user-${i}`);

      async function encryptAll(store: KeyStore) {
        const values = new Map<string, string>();
        for (const subject of subjects) {
          values.set(
            subject,
            await encryptForSubject(store, subject, 'properties.prompt_text', `secret of ${subject}`),
          );
        }
        return values;
      }

      async function expectAllDecrypt(store: KeyStore, values: Map<string, string>) {
        for (const [subject, value] of values) {
          expect(await decryptForSubject(store, subject, 'properties.prompt_text', value)).toBe(
            `secret of ${subject}`,
          );
        }
      }

      it('re-wraps every data key under a new master key and keeps every value decryptable', async () => {
        const store = await open();
        const values = await encryptAll(store);
        const oldKeyFile = fs.readFileSync(fixture.masterKeyFile, 'utf8');
        const oldWrapped = await fixture.wrappedKeyOf('user-3');

        expect(await store.rotateMasterKey()).toEqual({ masterKeyVersion: 2, rewrapped: 20 });
        await expectAllDecrypt(store, values);
        await store.close();

        const newKeyFile = fs.readFileSync(fixture.masterKeyFile, 'utf8');
        expect(newKeyFile).toMatch(/^deepref-master-key:v1:2:/);
        expect(newKeyFile.split(':')[3]).not.toBe(oldKeyFile.split(':')[3]);
        expect(mode(fixture.masterKeyFile)).toBe(0o600);
        expect(fs.readdirSync(path.dirname(fixture.masterKeyFile))).toEqual(['master.key']);
        expect(await fixture.wrappedKeyOf('user-3')).not.toEqual(oldWrapped);
        expect(await filesHold(oldWrapped)).not.toBe(true);

        await expectAllDecrypt(await open(), values);
      });

      it('lets a second process on the same files follow a rotation made by the first', async () => {
        const server = await open();
        const cli = await open();
        const values = await encryptAll(server);
        await cli.rotateMasterKey();
        await expectAllDecrypt(server, values);
        expect((await server.dataKeyFor('user-new')).keyId).toBe(
          (await cli.existingDataKey('user-new'))?.keyId,
        );
      });

      it('finishes a rotation that committed before the new key replaced the key file', async () => {
        const store = await open();
        const values = await encryptAll(store);
        const oldKeyFile = fs.readFileSync(fixture.masterKeyFile);
        await store.rotateMasterKey();
        await store.close();
        // As if the process died between the commit and the rename.
        fs.renameSync(fixture.masterKeyFile, `${fixture.masterKeyFile}.next`);
        fs.writeFileSync(fixture.masterKeyFile, oldKeyFile, { mode: 0o600 });

        const reopened = await open();
        await expectAllDecrypt(reopened, values);
        await reopened.close();
        expect(fs.readFileSync(fixture.masterKeyFile, 'utf8')).toMatch(/^deepref-master-key:v1:2:/);
        expect(fs.existsSync(`${fixture.masterKeyFile}.next`)).toBe(false);
      });

      it('discards the new key of a rotation that never committed', async () => {
        const store = await open();
        const values = await encryptAll(store);
        await store.close();
        const unused = Buffer.alloc(32, 9).toString('base64url');
        fs.writeFileSync(`${fixture.masterKeyFile}.next`, `deepref-master-key:v1:2:${unused}\n`, {
          mode: 0o600,
        });

        const reopened = await open();
        await expectAllDecrypt(reopened, values);
        await reopened.close();
        expect(fs.existsSync(`${fixture.masterKeyFile}.next`)).toBe(false);
        expect(fs.readFileSync(fixture.masterKeyFile, 'utf8')).toMatch(/^deepref-master-key:v1:1:/);
      });
    });
  });
}
