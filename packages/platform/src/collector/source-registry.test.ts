import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MetaStore } from '../storage/meta-store.ts';
import { openSqliteMetaStore } from '../storage/sqlite/sqlite-meta-store.ts';
import { CachedSourceRegistry, hashWriteKey, Sources } from './source-registry.ts';

describe('write keys', () => {
  let dir: string;
  let db: MetaStore;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-keys-'));
    db = await openSqliteMetaStore(path.join(dir, 'meta.db'));
  });
  afterEach(async () => {
    await db.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('authenticates a created key and keeps only its hash on disk', async () => {
    const sources = new Sources(db);
    const { source, writeKey } = await sources.create({
      name: 'web',
      allowedOrigins: ['https://app.example'],
    });
    expect(writeKey).toMatch(/^drk_[A-Za-z0-9_-]{32}$/);
    const registry = new CachedSourceRegistry(db, 0);
    expect(await registry.authenticate(writeKey)).toEqual(source);
    expect(await registry.authenticate(`${writeKey}x`)).toBeUndefined();
    await db.destroy();
    const bytes = fs.readFileSync(path.join(dir, 'meta.db')).toString('latin1');
    const wal = fs.existsSync(path.join(dir, 'meta.db-wal'))
      ? fs.readFileSync(path.join(dir, 'meta.db-wal')).toString('latin1')
      : '';
    expect(bytes + wal).not.toContain(writeKey);
    expect(bytes + wal).toContain(hashWriteKey(writeKey));
    db = await openSqliteMetaStore(path.join(dir, 'meta.db'));
  });

  it('refuses a revoked key once the cache expires', async () => {
    const sources = new Sources(db);
    const { writeKey } = await sources.create({ name: 'server' });
    const registry = new CachedSourceRegistry(db, 0);
    expect(await registry.authenticate(writeKey)).toBeDefined();
    expect(await sources.revoke('server')).toBe(1);
    expect(await registry.authenticate(writeKey)).toBeUndefined();
    expect((await sources.list())[0]?.revokedAt).toBeDefined();
  });
});
