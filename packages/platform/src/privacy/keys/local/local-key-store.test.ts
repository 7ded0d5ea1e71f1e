/**
 * The embedded key store (a SQLite file and a master key file in the data directory) against the KeyStore
 * contract; its files are read byte for byte, WAL and shared-memory index included.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describeKeyStoreContract } from '../key-store.contract.ts';
import { openLocalKeyStore } from './local-key-store.ts';

describeKeyStoreContract('local', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-keys-'));
  const options = {
    masterKeyFile: path.join(dir, 'secrets', 'master.key'),
    databaseFile: path.join(dir, 'keys.db'),
  };
  return {
    masterKeyFile: options.masterKeyFile,
    open: () => openLocalKeyStore(options),
    async wrappedKeyOf(subjectId) {
      const db = new Database(options.databaseFile, { readonly: true });
      try {
        const row = db.prepare('SELECT wrapped FROM data_keys WHERE subject_id = ?').get(subjectId) as
          | { wrapped: Buffer }
          | undefined;
        return row!.wrapped;
      } finally {
        db.close();
      }
    },
    async storedFiles() {
      return ['', '-wal', '-shm', '-journal']
        .map((suffix) => options.databaseFile + suffix)
        .filter((file) => fs.existsSync(file))
        .map((file) => fs.readFileSync(file));
    },
    async dispose() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});
