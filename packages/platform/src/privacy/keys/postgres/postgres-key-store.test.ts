/**
 * The PostgreSQL key store against the PostgreSQL on the machine (`DEEPREF_POSTGRES_URL`), each test in a schema
 * of its own: the KeyStore contract (two stores on one schema and one master key file stand for two processes),
 * then what only PostgreSQL shows: the key table's rewrite on erasure, openers racing on an empty schema, and a
 * collector's cache seeing another process's erasure within its bound. Where the server's data folder is on this
 * machine and readable, the table's files are read byte for byte after a checkpoint.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeWithService } from '../../../testing/services.ts';
import {
  postgresAdmin,
  postgresReachability,
  postgresUrl,
  testSchemaName,
} from '../../../testing/warehouses.ts';
import { CachedKeyStore } from '../../pii/cached-key-store.ts';
import { describeKeyStoreContract, type KeyStoreFixture } from '../key-store.contract.ts';
import type { KeyStore } from '../key-store.ts';
import { openPostgresKeyStore, type PostgresKeyStoreOptions } from './postgres-key-store.ts';

let dataDirectory: Promise<string | undefined> | undefined;

/** PostgreSQL's data folder when this process can read it, else undefined (the byte checks are left out). */
function readableDataDirectory(): Promise<string | undefined> {
  dataDirectory ??= postgresAdmin(async (client) => {
    const { rows } = await client.query<{ data_directory: string }>('SHOW data_directory');
    const folder = rows[0]!.data_directory;
    try {
      fs.readdirSync(path.join(folder, 'base'));
      return folder;
    } catch {
      console.warn(`PostgreSQL's data folder ${folder} is not readable here: the byte checks are left out.`);
      return undefined;
    }
  });
  return dataDirectory;
}

function postgresFixture(): KeyStoreFixture & { options: PostgresKeyStoreOptions } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-pg-keys-'));
  const schema = testSchemaName();
  const options = {
    connectionString: postgresUrl,
    schema,
    masterKeyFile: path.join(dir, 'secrets', 'master.key'),
  };
  return {
    options,
    masterKeyFile: options.masterKeyFile,
    open: () => openPostgresKeyStore(options),
    wrappedKeyOf: (subjectId) =>
      postgresAdmin(async (client) => {
        const { rows } = await client.query<{ wrapped: Buffer }>(
          `SELECT wrapped FROM ${schema}.data_keys WHERE subject_id = $1`,
          [subjectId],
        );
        return rows[0]!.wrapped;
      }),
    async storedFiles() {
      const folder = await readableDataDirectory();
      if (!folder) return undefined;
      return postgresAdmin(async (client) => {
        await client.query('CHECKPOINT');
        // The schema's tables and indexes, and the TOAST table and index of each (long values live there).
        const { rows } = await client.query<{ file: string | null }>(
          `SELECT pg_relation_filepath(c.oid) AS file FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1
           UNION ALL
           SELECT pg_relation_filepath(t.oid) FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_class t ON t.oid = c.reltoastrelid OR t.oid IN (
               SELECT indexrelid FROM pg_index WHERE indrelid = c.reltoastrelid)
            WHERE n.nspname = $1`,
          [schema],
        );
        return rows
          .map((row) => row.file && path.join(folder, row.file))
          .filter((file): file is string => !!file && fs.existsSync(file))
          .map((file) => fs.readFileSync(file));
      });
    },
    async dispose() {
      await postgresAdmin((client) => client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

describeWithService(postgresReachability, 'PostgreSQL KeyStore', () => {
  describeKeyStoreContract('postgres', async () => postgresFixture());

  let fixture: ReturnType<typeof postgresFixture>;
  let stores: KeyStore[];

  async function open(): Promise<KeyStore> {
    const store = await fixture.open();
    stores.push(store);
    return store;
  }

  const admin = <T>(sql: string, params: unknown[] = []) =>
    postgresAdmin(async (client) => (await client.query(sql, params)).rows as T[]);

  beforeEach(() => {
    fixture = postgresFixture();
    stores = [];
  });

  afterEach(async () => {
    for (const store of stores) await store.close();
    await fixture.dispose();
  });

  it('keeps its tables in its own schema, made once by openers racing on an empty one', async () => {
    const [first] = await Promise.all([open(), open(), open()]);
    const tables = await admin<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
      [fixture.options.schema],
    );
    expect(tables.map((row) => row.table_name)).toEqual(['data_keys', 'key_store_meta']);
    expect(await admin(`SELECT master_version FROM ${fixture.options.schema}.key_store_meta`)).toEqual([
      { master_version: 1 },
    ]);
    const key = await first!.dataKeyFor('user-x');
    for (const store of stores) expect((await store.existingDataKey('user-x'))?.keyId).toBe(key.keyId);
  });

  it('erases a key by deleting its row and rewriting the key table', async () => {
    const store = await open();
    await store.dataKeyFor('user-x');
    await store.dataKeyFor('user-y');
    const fileNode = () =>
      admin<{ node: number }>(`SELECT pg_relation_filenode('${fixture.options.schema}.data_keys') AS node`);
    const before = await fileNode();

    await store.destroy('user-x');
    expect(
      await admin(`SELECT subject_id FROM ${fixture.options.schema}.data_keys ORDER BY subject_id`),
    ).toEqual([{ subject_id: 'user-y' }]);
    // A new file node: the rows, dead ones included, were written anew and the old file dropped.
    expect(await fileNode()).not.toEqual(before);
  });

  it("stops a collector's cache using a key another process destroyed once the cache's bound has passed", async () => {
    let clock = 0;
    const collector = new CachedKeyStore(await open(), 100, { ttlMs: 10_000, now: () => clock });
    const eraser = await open();
    const before = await collector.dataKeyFor('user-x');
    await eraser.destroy('user-x');

    clock = 9_999;
    expect((await collector.dataKeyFor('user-x')).keyId).toBe(before.keyId);
    clock = 10_000;
    const after = await collector.dataKeyFor('user-x');
    expect(after.keyId).not.toBe(before.keyId);
    expect((await eraser.existingDataKey('user-x'))?.keyId).toBe(after.keyId);
  });

  it('refuses a process whose master key file is another key than the store was made with', async () => {
    await open();
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-pg-keys-other-'));
    try {
      const other = { ...fixture.options, masterKeyFile: path.join(elsewhere, 'secrets', 'master.key') };
      // No file there: the store holds a master key record, so none is made up.
      await expect(openPostgresKeyStore(other)).rejects.toMatchObject({ code: 'DEEPREF_MASTER_KEY_DAMAGED' });
      fs.mkdirSync(path.dirname(other.masterKeyFile), { recursive: true, mode: 0o700 });
      const foreign = Buffer.alloc(32, 3).toString('base64url');
      fs.writeFileSync(other.masterKeyFile, `deepref-master-key:v1:1:${foreign}\n`, { mode: 0o600 });
      await expect(openPostgresKeyStore(other)).rejects.toMatchObject({
        code: 'DEEPREF_MASTER_KEY_MISMATCH',
        message: expect.stringContaining(`PostgreSQL schema ${fixture.options.schema}`),
      });
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});
