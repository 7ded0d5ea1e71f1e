/**
 * The export package store on both MetaStore engines (SQLite; PostgreSQL when it is on the machine), each with its
 * KeyStore: a package one store makes, another store over the same engines reads (as another process of a split
 * deployment would); what is at rest is sealed; expiry and erasure delete the package and destroy its key; zips
 * left in `<data-dir>/exports/` by an earlier version move in.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { unzipSync } from 'fflate';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KeyStore } from '../privacy/keys/key-store.ts';
import { openLocalKeyStore } from '../privacy/keys/local/local-key-store.ts';
import { openPostgresKeyStore } from '../privacy/keys/postgres/postgres-key-store.ts';
import type { MetaStore } from '../storage/meta-store.ts';
import { openPostgresMetaStore } from '../storage/postgres/postgres-meta-store.ts';
import { openSqliteMetaStore } from '../storage/sqlite/sqlite-meta-store.ts';
import { describeWithService } from '../testing/services.ts';
import { postgresAdmin, postgresReachability, postgresUrl, testSchemaName } from '../testing/warehouses.ts';
import { ExportStore, sha256Hex } from './export-store.ts';
import { packageKeyName } from './package-sealing.ts';
import { downloadLinkLifetimeMs } from './signed-url.ts';

interface Engines {
  meta: MetaStore;
  keys: KeyStore;
  close(): Promise<void>;
}

describe('export packages on SQLite', () => exportStoreContract(openSqlite));
describeWithService(postgresReachability, 'export packages on PostgreSQL', () =>
  exportStoreContract(openPostgres),
);

async function openSqlite(dir: string): Promise<Engines> {
  const meta = await openSqliteMetaStore(path.join(dir, 'meta.db'));
  const keys = await openLocalKeyStore({
    masterKeyFile: path.join(dir, 'secrets', 'master.key'),
    databaseFile: path.join(dir, 'keys.db'),
  });
  return {
    meta,
    keys,
    async close() {
      await meta.destroy();
      await keys.close();
    },
  };
}

async function openPostgres(dir: string): Promise<Engines> {
  const schema = testSchemaName();
  const meta = await openPostgresMetaStore({ connectionString: postgresUrl, schema });
  const keys = await openPostgresKeyStore({
    connectionString: postgresUrl,
    schema: `${schema}_keys`,
    masterKeyFile: path.join(dir, 'secrets', 'master.key'),
  });
  return {
    meta,
    keys,
    async close() {
      await meta.destroy();
      await keys.close();
      await postgresAdmin((client) =>
        client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; DROP SCHEMA IF EXISTS ${schema}_keys CASCADE`),
      );
    },
  };
}

function exportStoreContract(open: (dir: string) => Promise<Engines>) {
  const urlSecret = Buffer.alloc(32, 7);
  let dir: string;
  let engines: Engines;
  let now: number;
  let store: ExportStore;
  const marker = `export-marker-${randomBytes(6).toString('hex')}`;
  // Random bytes around the marker: deflate stores them as they are, so the zip holds the marker verbatim.
  const file = {
    name: 'data.bin',
    bytes: Buffer.concat([randomBytes(2048), Buffer.from(marker), randomBytes(2048)]),
  };

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-export-store-'));
    engines = await open(dir);
    now = Date.parse('2026-11-01T00:00:00Z');
    store = new ExportStore(engines.meta, engines.keys, urlSecret, () => now);
  });

  afterEach(async () => {
    await engines.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const make = (subject: string) =>
    store.create({ requestId: `req-${subject}`, subject, format: 'json', files: [file] });

  it('serves a package to another store over the same engines, with its manifest', async () => {
    const made = await make('u1');
    const other = new ExportStore(engines.meta, engines.keys, urlSecret, () => now);
    const read = await other.read(made.id);
    expect(read?.sha256).toBe(made.sha256);
    expect(sha256Hex(read!.bytes)).toBe(made.sha256);
    const zip = unzipSync(read!.bytes);
    const manifest = JSON.parse(new TextDecoder().decode(zip['manifest.json']));
    expect(manifest).toMatchObject({ exportId: made.id, subject: 'u1', format: 'json' });
    expect(manifest.files).toEqual([
      { name: 'data.bin', sizeBytes: file.bytes.length, sha256: sha256Hex(file.bytes) },
    ]);
    expect(Buffer.from(zip['data.bin']!).equals(file.bytes)).toBe(true);
    expect(made.downloadPath).toContain(`/api/v1/exports/${made.id}/download?expires=`);
  });

  it('keeps the zip sealed at rest: the stored bytes do not hold its plain text', async () => {
    const made = await make('u2');
    // Not blind: the zip itself holds the marker as it is.
    expect((await store.read(made.id))!.bytes.includes(marker)).toBe(true);
    const rows = await engines.meta.selectFrom('export_contents').selectAll().execute();
    expect(rows.map((r) => r.export_id)).toEqual([made.id]);
    const sealed = Buffer.from(rows[0]!.sealed);
    expect(sealed.length).toBe(made.sizeBytes + 12 + 16);
    expect(sealed.includes(marker)).toBe(false);
    expect(JSON.stringify(await engines.meta.selectFrom('exports').selectAll().execute())).not.toContain(
      marker,
    );
  });

  it('deletes a package whose link expired, its contents and its key', async () => {
    const made = await make('u3');
    now += downloadLinkLifetimeMs - 1;
    expect(await store.countExpired()).toBe(0);
    now += 1;
    expect(await store.countExpired()).toBe(1);
    expect(await store.deleteExpired()).toBe(1);
    expect(await store.read(made.id)).toBeUndefined();
    expect(await engines.meta.selectFrom('export_contents').selectAll().execute()).toEqual([]);
    expect(await engines.keys.existingDataKey(packageKeyName(made.id))).toBeUndefined();
    expect(await store.countExpired()).toBe(0);
  });

  it("deletes a subject's packages on erasure but the one kept, and renames the subject in their rows", async () => {
    const older = await make('u4');
    const kept = await make('u4');
    const someoneElse = await make('u5');
    expect(await store.deleteFor(['u4'], 'erased:x', kept.id)).toBe(1);
    expect(await store.read(older.id)).toBeUndefined();
    expect(await engines.keys.existingDataKey(packageKeyName(older.id))).toBeUndefined();
    expect((await store.read(kept.id))?.sha256).toBe(kept.sha256);
    expect((await store.read(someoneElse.id))?.sha256).toBe(someoneElse.sha256);
    const rows = await engines.meta.selectFrom('exports').select(['id', 'subject']).orderBy('id').execute();
    expect(rows.find((r) => r.id === older.id)?.subject).toBe('erased:x');
    expect((await engines.meta.selectFrom('export_contents').select('export_id').execute()).length).toBe(2);
  });

  it('moves a zip an earlier version left in the exports folder into the store, and deletes the file', async () => {
    const folder = path.join(dir, 'exports');
    fs.mkdirSync(folder);
    const zip = Buffer.concat([Buffer.from('PK'), randomBytes(64)]);
    fs.writeFileSync(path.join(folder, 'legacy.zip'), zip);
    const row = {
      request_id: 'req-legacy',
      subject: 'u6',
      format: 'json',
      size_bytes: zip.length,
      sha256: sha256Hex(zip),
      created_at: new Date(now).toISOString(),
      expires_at: new Date(now + downloadLinkLifetimeMs).toISOString(),
      deleted_at: null,
    };
    await engines.meta
      .insertInto('exports')
      .values([
        { ...row, id: 'legacy', file: 'legacy.zip' },
        { ...row, id: 'lost', file: 'lost.zip' },
      ])
      .execute();
    expect(await store.adoptFiles(folder)).toBe(1);
    expect((await store.read('legacy'))?.bytes.equals(zip)).toBe(true);
    expect(await store.read('lost')).toBeUndefined();
    expect(fs.readdirSync(folder)).toEqual([]);
    expect(await store.adoptFiles(folder)).toBe(0);
  });
}
