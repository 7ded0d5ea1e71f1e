/**
 * Test support for the privacy-request tests: a real SQLite MetaStore and a local KeyStore in a temporary folder,
 * opened before the file's tests and removed after them. Read its fields inside tests (they are set in `beforeAll`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { MetaStore } from '../../storage/meta-store.ts';
import { openSqliteMetaStore } from '../../storage/sqlite/sqlite-meta-store.ts';
import type { KeyStore } from '../keys/key-store.ts';
import { openLocalKeyStore } from '../keys/local/local-key-store.ts';

export interface DsrTestStores {
  dir: string;
  meta: MetaStore;
  keys: KeyStore;
}

export function useDsrTestStores(prefix: string): DsrTestStores {
  const stores = {} as DsrTestStores;
  beforeAll(async () => {
    stores.dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    stores.meta = await openSqliteMetaStore(path.join(stores.dir, 'meta.db'));
    stores.keys = await openLocalKeyStore({
      masterKeyFile: path.join(stores.dir, 'secrets', 'master.key'),
      databaseFile: path.join(stores.dir, 'keys.db'),
    });
  });
  afterAll(async () => {
    await stores.meta.destroy();
    await stores.keys.close();
    fs.rmSync(stores.dir, { recursive: true, force: true });
  });
  return stores;
}
