/**
 * The PostgreSQL MetaStore against the PostgreSQL on the machine (`DEEPREF_POSTGRES_URL`), each test in a schema
 * of its own: the shared migrations, several openers at once, and rows round-tripping through Kysely.
 */
import { afterEach, expect, it } from 'vitest';
import { describeWithService } from '../../testing/services.ts';
import {
  postgresAdmin,
  postgresReachability,
  postgresUrl,
  testSchemaName,
} from '../../testing/warehouses.ts';
import type { MetaStore } from '../meta-store.ts';
import { openPostgresMetaStore } from './postgres-meta-store.ts';

let schema: string;
const stores: MetaStore[] = [];

async function open(): Promise<MetaStore> {
  const store = await openPostgresMetaStore({ connectionString: postgresUrl, schema });
  stores.push(store);
  return store;
}

describeWithService(postgresReachability, 'PostgreSQL MetaStore', () => {
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.destroy()));
    await postgresAdmin((client) => client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
  });

  it('runs every migration once, even with several processes opening the store at once', async () => {
    schema = testSchemaName();
    await Promise.all([open(), open(), open()]);
    const tables = await postgresAdmin((client) =>
      client.query<{ table_name: string }>(
        'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
        [schema],
      ),
    );
    const names = tables.rows.map((row) => row.table_name);
    expect(names).toContain('sources');
    expect(names).toContain('privacy_budgets');
    expect(names).toContain('kysely_migration');
    const migrations = await postgresAdmin((client) =>
      client.query<{ name: string; n: string }>(
        `SELECT name, count(*) AS n FROM ${schema}.kysely_migration GROUP BY name ORDER BY name`,
      ),
    );
    expect(migrations.rows.length).toBeGreaterThanOrEqual(2);
    expect(migrations.rows.every((row) => row.n === '1')).toBe(true);
    // Nothing landed in another schema.
    const elsewhere = await postgresAdmin((client) =>
      client.query(
        "SELECT 1 FROM information_schema.tables WHERE table_name = 'sources' AND table_schema = 'public'",
      ),
    );
    expect(elsewhere.rows).toEqual([]);
  });

  it('stores a source and reads it back, across a reopen', async () => {
    schema = testSchemaName();
    const store = await open();
    await store
      .insertInto('sources')
      .values({
        id: 'src-1',
        name: 'Website',
        key_hash: 'hash-1',
        key_prefix: 'dk_live_ab',
        allowed_origins: '["https://example.com"]',
        created_at: '2026-11-27T08:00:00.000Z',
        revoked_at: null,
      })
      .execute();
    await store
      .updateTable('sources')
      .set({ revoked_at: '2026-11-28T08:00:00.000Z' })
      .where('id', '=', 'src-1')
      .execute();

    const again = await open();
    expect(await again.selectFrom('sources').selectAll().execute()).toEqual([
      {
        id: 'src-1',
        name: 'Website',
        key_hash: 'hash-1',
        key_prefix: 'dk_live_ab',
        allowed_origins: '["https://example.com"]',
        created_at: '2026-11-27T08:00:00.000Z',
        revoked_at: '2026-11-28T08:00:00.000Z',
      },
    ]);
    const duplicate = store
      .insertInto('sources')
      .values({
        id: 'src-2',
        name: 'Other',
        key_hash: 'hash-1',
        key_prefix: 'dk_live_cd',
        allowed_origins: '[]',
        created_at: '2026-11-27T08:00:00.000Z',
        revoked_at: null,
      })
      .execute();
    await expect(duplicate).rejects.toThrow(/unique/);
  });

  it('numbers rows of a self-numbered table itself, as SQLite does', async () => {
    schema = testSchemaName();
    const store = await open();
    const ids: number[] = [];
    for (const subject of ['s1', 's2']) {
      const row = await store
        .insertInto('consent_records')
        .values({
          subject_id: subject,
          purpose: 'analytics',
          granted: 1,
          policy_version: 'v1',
          method: 'sdk',
          source_id: null,
          recorded_at: '2026-11-27T08:00:00.000Z',
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      ids.push(row.id);
    }
    expect(ids).toEqual([1, 2]);
  });
});
