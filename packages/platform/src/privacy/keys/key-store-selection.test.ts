/**
 * Which key store a process uses: `adapters.keys` follows `adapters.meta` unless set, shows in `deepref config
 * print`, and a process of a split deployment must share its keys. On PostgreSQL, `openKeyStore` opens the shared
 * store in a schema of its own and moves in the keys the data directory kept locally before.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openKeyStore, postgresSchemas } from '../../adapters.ts';
import { dataPaths, defaultConfig, type PlatformConfig } from '../../config.ts';
import { loadConfig, printableConfig } from '../../config-file.ts';
import { describeWithService } from '../../testing/services.ts';
import {
  postgresAdmin,
  postgresReachability,
  postgresUrl,
  testSchemaName,
} from '../../testing/warehouses.ts';
import { decryptForSubject, encryptForSubject } from '../crypto/field-encryption.ts';
import { openLocalKeyStore } from './local/local-key-store.ts';
import { openPostgresKeyStore } from './postgres/postgres-key-store.ts';

const dirs: string[] = [];
const schemas: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  for (const schema of schemas.splice(0)) {
    await postgresAdmin((client) => client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
  }
});

function folder(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-key-selection-'));
  dirs.push(dir);
  return dir;
}

describe('adapters.keys', () => {
  it('follows adapters.meta unless set, and shows in config print', async () => {
    const embedded = await loadConfig({ cwd: folder(), env: {} });
    expect(embedded.config.adapters.keys).toBe('local');

    const shared = await loadConfig({ cwd: folder(), env: { DEEPREF_ADAPTERS_META: 'postgres' } });
    expect(shared.config.adapters.keys).toBe('postgres');
    expect(printableConfig(shared)['adapters.keys']).toEqual({ value: 'postgres', from: 'default' });

    const kept = await loadConfig({
      cwd: folder(),
      env: { DEEPREF_ADAPTERS_META: 'postgres', DEEPREF_ADAPTERS_KEYS: 'local' },
    });
    expect(printableConfig(kept)['adapters.keys']).toEqual({ value: 'local', from: 'env' });

    expect(defaultConfig().adapters.keys).toBe('local');
    expect(
      defaultConfig({ adapters: { meta: 'postgres' } as PlatformConfig['adapters'] }).adapters.keys,
    ).toBe('postgres');
  });

  it('refuses local keys for a process of a split deployment', async () => {
    const env = {
      DEEPREF_ROLE: 'ingest',
      DEEPREF_ADAPTERS_EVENT_LOG: 'jetstream',
      DEEPREF_ADAPTERS_WAREHOUSE: 'postgres',
      DEEPREF_ADAPTERS_META: 'postgres',
    };
    expect((await loadConfig({ cwd: folder(), env })).config.adapters.keys).toBe('postgres');
    await expect(
      loadConfig({ cwd: folder(), env: { ...env, DEEPREF_ADAPTERS_KEYS: 'local' } }),
    ).rejects.toMatchObject({
      code: 'DEEPREF_CONFIG_INVALID',
      message: expect.stringContaining("role ingest shares the subjects' data keys"),
    });
  });
});

describeWithService(postgresReachability, 'openKeyStore on PostgreSQL', () => {
  function sharedConfig(dataDir: string): PlatformConfig {
    const schema = testSchemaName();
    const config = defaultConfig({
      dataDir,
      adapters: { meta: 'postgres' } as PlatformConfig['adapters'],
      postgres: { connectionString: postgresUrl, schema },
    });
    schemas.push(postgresSchemas(config).keys);
    return config;
  }

  const secret = (subject: string) => `prompt of ${subject}`;

  /** A data directory whose local key store encrypted a value for each subject, as before keys were shared. */
  async function localValues(dataDir: string, subjects: string[]): Promise<Map<string, string>> {
    const paths = dataPaths(dataDir);
    const local = await openLocalKeyStore({ masterKeyFile: paths.masterKey, databaseFile: paths.keys });
    const values = new Map<string, string>();
    for (const subject of subjects) {
      values.set(subject, await encryptForSubject(local, subject, 'properties.prompt_text', secret(subject)));
    }
    await local.close();
    return values;
  }

  it("keeps its keys in the deployment's keys schema", async () => {
    const config = sharedConfig(folder());
    const store = await openKeyStore(config);
    await store.dataKeyFor('user-x');
    await store.close();
    const { rows } = await postgresAdmin((client) =>
      client.query(`SELECT subject_id FROM ${postgresSchemas(config).keys}.data_keys`),
    );
    expect(rows).toEqual([{ subject_id: 'user-x' }]);
    expect(fs.existsSync(dataPaths(config.dataDir).keys)).toBe(false);
  });

  it('moves the keys the data directory kept locally, so earlier values still decrypt, and deletes the local file', async () => {
    const config = sharedConfig(folder());
    const values = await localValues(config.dataDir, ['user-a', 'user-b']);

    const store = await openKeyStore(config);
    for (const [subject, value] of values) {
      expect(await decryptForSubject(store, subject, 'properties.prompt_text', value)).toBe(secret(subject));
    }
    expect(fs.readdirSync(path.dirname(dataPaths(config.dataDir).keys))).toEqual([]);

    // Erased in the shared store, the key has no local copy left to come back from.
    await store.destroy('user-a');
    await store.close();
    const reopened = await openKeyStore(config);
    expect(await reopened.existingDataKey('user-a')).toBeUndefined();
    await reopened.close();
  });

  it('refuses to start without the master key file of the local keys, and makes no master key', async () => {
    const config = sharedConfig(folder());
    await localValues(config.dataDir, ['user-d']);
    fs.rmSync(dataPaths(config.dataDir).masterKey);

    await expect(openKeyStore(config)).rejects.toMatchObject({ code: 'DEEPREF_MASTER_KEY_DAMAGED' });
    expect(fs.existsSync(dataPaths(config.dataDir).masterKey)).toBe(false);
    expect(fs.existsSync(dataPaths(config.dataDir).keys)).toBe(true);
  });

  it('refuses to start, keeping the local keys, when a subject already has another key in the shared store', async () => {
    // Two data directories with one master key file, each with a key of its own for user-c.
    const first = sharedConfig(folder());
    const second = { ...first, dataDir: folder() };
    await localValues(first.dataDir, ['user-c']);
    fs.mkdirSync(dataPaths(second.dataDir).secrets, { mode: 0o700 });
    fs.copyFileSync(dataPaths(first.dataDir).masterKey, dataPaths(second.dataDir).masterKey);
    await localValues(second.dataDir, ['user-c', 'user-e']);

    await (await openKeyStore(first)).close();
    await expect(openKeyStore(second)).rejects.toMatchObject({
      code: 'DEEPREF_LOCAL_KEYS_NOT_MOVED',
      message: expect.stringContaining('subject user-c already has another data key there'),
    });
    expect(fs.existsSync(dataPaths(second.dataDir).keys)).toBe(true);
    // Nothing of the refused file was taken.
    const shared = await openPostgresKeyStore({
      connectionString: postgresUrl,
      schema: postgresSchemas(first).keys,
      masterKeyFile: dataPaths(first.dataDir).masterKey,
    });
    expect(await shared.existingDataKey('user-e')).toBeUndefined();
    await shared.close();
  });

  it('refuses to start when the local keys are not wrapped under the master key file', async () => {
    const first = sharedConfig(folder());
    await (await openKeyStore(first)).close();
    // A second process with keys of its own, then given the shared master key file.
    const second = { ...first, dataDir: folder() };
    await localValues(second.dataDir, ['user-f']);
    fs.copyFileSync(dataPaths(first.dataDir).masterKey, dataPaths(second.dataDir).masterKey);

    await expect(openKeyStore(second)).rejects.toMatchObject({ code: 'DEEPREF_MASTER_KEY_MISMATCH' });
    expect(fs.existsSync(dataPaths(second.dataDir).keys)).toBe(true);
  });
});
