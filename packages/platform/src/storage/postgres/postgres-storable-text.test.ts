/**
 * The MetaStore's NUL handling on the PostgreSQL on the machine: with the plugin, text with a NUL is written, found
 * and listed as U+FFFD, in values, `in` lists and raw SQL alike; without it PostgreSQL refuses the statement.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithService } from '../../testing/services.ts';
import {
  postgresAdmin,
  postgresReachability,
  postgresUrl,
  testSchemaName,
} from '../../testing/warehouses.ts';
import type { MetaStore } from '../meta-store.ts';
import { openPostgresMetaStore } from './postgres-meta-store.ts';
import { PostgresStorableTextPlugin } from './postgres-storable-text.ts';

describeWithService(postgresReachability, 'PostgreSQL MetaStore text with a NUL', () => {
  const schema = testSchemaName();
  let plain: MetaStore;
  let meta: MetaStore;
  beforeAll(async () => {
    plain = await openPostgresMetaStore({ connectionString: postgresUrl, schema });
    meta = plain.withPlugin(new PostgresStorableTextPlugin());
  });
  afterAll(async () => {
    await plain?.destroy();
    await postgresAdmin((client) => client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
  });

  it('is refused by PostgreSQL without the plugin', async () => {
    await expect(
      plain.selectFrom('consent_policies').selectAll().where('version', '=', 'v\u0000').execute(),
    ).rejects.toThrow(/invalid byte sequence/);
  });

  it('writes, finds and lists NUL as U+FFFD', async () => {
    await meta
      .insertInto('consent_policies')
      .values({ version: 'v\u00001', text: 'a\u0000b', published_at: '2026-11-27T00:00:00.000Z' })
      .execute();
    const found = await meta
      .selectFrom('consent_policies')
      .select(['version', 'text'])
      .where('version', '=', 'v\u00001')
      .execute();
    expect(found).toEqual([{ version: 'v\ufffd1', text: 'a\ufffdb' }]);
    const listed = await meta
      .selectFrom('consent_policies')
      .select('version')
      .where('version', 'in', ['x\u0000', 'v\u00001'])
      .execute();
    expect(listed).toEqual([{ version: 'v\ufffd1' }]);
    const raw = await sql<{ text: string }>`SELECT ${'c\u0000d'}::text AS text`.execute(meta);
    expect(raw.rows).toEqual([{ text: 'c\ufffdd' }]);
  });
});
