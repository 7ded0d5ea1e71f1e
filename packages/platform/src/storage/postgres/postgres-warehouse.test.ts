/**
 * What only the PostgreSQL warehouse does, against the PostgreSQL on the machine (`DEEPREF_POSTGRES_URL`), each
 * test in a schema of its own: day partitions made on demand, the upsert by event id, text PostgreSQL cannot
 * hold, several loaders at once, and its read-only locks. The shared behaviour is in `../warehouse-contract.test.ts`.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { rejection } from '../../testing/rejection.ts';
import { describeWithService } from '../../testing/services.ts';
import {
  type OpenedWarehouse,
  postgresReachability,
  postgresUrl,
  warehousesUnderTest,
} from '../../testing/warehouses.ts';
import { logRecords, storedEvent } from '../test-events.ts';
import type { Warehouse } from '../warehouse.ts';
import { leadingKeyword, openPostgresWarehouse } from './postgres-warehouse.ts';

const postgres = warehousesUnderTest().find((engine) => engine.name === 'postgres')!;

it('finds the first keyword past comments', () => {
  expect(leadingKeyword('  -- a\n /* b /* nested */ c */ select 1')).toBe('SELECT');
  expect(leadingKeyword('(SELECT 1)')).toBe('(');
  expect(leadingKeyword('/* only */ -- comments')).toBeUndefined();
});

describeWithService(postgresReachability, 'PostgresWarehouse', () => {
  let opened: OpenedWarehouse | undefined;
  let warehouse: Warehouse;

  beforeEach(async () => {
    opened = await postgres.open();
    warehouse = opened.warehouse;
  });

  afterEach(async () => {
    await opened?.cleanup();
  });

  async function partitions(): Promise<string[]> {
    const result = await warehouse.query(
      `SELECT child.relname FROM pg_inherits
         JOIN pg_class child ON child.oid = pg_inherits.inhrelid
         JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
         JOIN pg_namespace ns ON ns.oid = parent.relnamespace
       WHERE parent.relname = 'events' AND ns.nspname = current_schema() ORDER BY 1`,
    );
    return result.rows.map((row) => String(row[0]));
  }

  it('partitions events by UTC day, creating each day on its first load', async () => {
    expect(await partitions()).toEqual([]);
    await warehouse.load('warehouse', logRecords(1, 3)); // 2026-11-25
    expect(await partitions()).toEqual(['events_20261125']);
    await warehouse.load('warehouse', logRecords(4, 97)); // to 2026-11-28
    expect(await partitions()).toEqual([
      'events_20261125',
      'events_20261126',
      'events_20261127',
      'events_20261128',
    ]);
    // Each partition holds exactly its day's rows, and a query on a day reads that partition alone.
    const perPartition = await warehouse.query(
      'SELECT tableoid::regclass::text, min(event_date), max(event_date), count(*) FROM events GROUP BY 1 ORDER BY 1',
    );
    expect(perPartition.rows).toEqual([
      ['events_20261125', '2026-11-25', '2026-11-25', 3],
      ['events_20261126', '2026-11-26', '2026-11-26', 39],
      ['events_20261127', '2026-11-27', '2026-11-27', 39],
      ['events_20261128', '2026-11-28', '2026-11-28', 19],
    ]);
    const plan = await warehouse.query(
      `EXPLAIN SELECT count(*) FROM events
       WHERE timestamp >= '2026-11-27T00:00:00Z' AND timestamp < '2026-11-28T00:00:00Z'`,
    );
    const planText = plan.rows.map((row) => String(row[0])).join('\n');
    expect(planText).toContain('events_20261127');
    expect(planText).not.toContain('events_20261126');
  });

  it('lets two loaders reach a new day at once, each partition made once', async () => {
    const other = await openPostgresWarehouse({
      connectionString: postgresUrl,
      schema: await schemaOf(warehouse),
    });
    try {
      await Promise.all([
        warehouse.load('a', logRecords(1, 100)),
        other.load('b', logRecords(1, 100)),
        warehouse.load('c', logRecords(50, 50)),
      ]);
      expect(await partitions()).toHaveLength(4);
      expect((await warehouse.query('SELECT count(*), count(DISTINCT event_id) FROM events')).rows).toEqual([
        [100, 100],
      ]);
      expect(await other.loadedOffset('a')).toBe(100);
      expect(await other.loadedOffset('b')).toBe(100);
      expect(await other.loadedOffset('c')).toBe(99);
    } finally {
      await other.close();
    }
  });

  it('serializes two loaders of one consumer, so each offset is stored once', async () => {
    const other = await openPostgresWarehouse({
      connectionString: postgresUrl,
      schema: await schemaOf(warehouse),
    });
    try {
      await Promise.all([warehouse.load('w', logRecords(1, 60)), other.load('w', logRecords(1, 60))]);
      expect((await warehouse.query('SELECT count(*) FROM events')).rows).toEqual([[60]]);
      expect(await warehouse.loadedOffset('w')).toBe(60);
    } finally {
      await other.close();
    }
  });

  it("runs the platform's CREATE TABLE IF NOT EXISTS from several processes at once", async () => {
    const other = await openPostgresWarehouse({
      connectionString: postgresUrl,
      schema: await schemaOf(warehouse),
    });
    try {
      const create = 'CREATE TABLE IF NOT EXISTS stream_results (job text PRIMARY KEY, result text)';
      await Promise.all([1, 2, 3].flatMap(() => [warehouse.query(create), other.query(create)]));
      expect((await other.query('SELECT count(*) FROM stream_results')).rows).toEqual([[0]]);
    } finally {
      await other.close();
    }
  });

  it('stores an event once when it comes again at a later offset (upsert by event id)', async () => {
    await warehouse.load('warehouse', [{ offset: 1, event: storedEvent(1) }]);
    await warehouse.load('warehouse', [
      { offset: 2, event: storedEvent(1) },
      { offset: 3, event: storedEvent(3) },
    ]);
    const rows = await warehouse.query('SELECT log_offset, event_id FROM events ORDER BY log_offset');
    expect(rows.rows).toEqual([
      [1, '00000000-0000-4000-8000-000000000001'],
      [3, '00000000-0000-4000-8000-000000000003'],
    ]);
    expect(await warehouse.loadedOffset('warehouse')).toBe(3);
  });

  it('stores text holding NUL or a lone surrogate, which PostgreSQL refuses, with U+FFFD in their place', async () => {
    await warehouse.load('warehouse', [
      {
        offset: 1,
        event: storedEvent(1, {
          eventName: 'a\u0000b',
          properties: { nul: 'x\u0000y', lone: 'p\ud800q', slash: '\\u0000 stays', pair: '😀' },
        }),
      },
    ]);
    const row = await warehouse.query('SELECT event_name, properties FROM events');
    expect(row.rows).toEqual([
      ['a\ufffdb', { nul: 'x\ufffdy', lone: 'p\ufffdq', slash: '\\u0000 stays', pair: '😀' }],
    ]);
  });

  it('binds and reads back every instant PostgreSQL holds as its ISO 8601 text, BC years included', async () => {
    // From PostgreSQL's first day (4714 BC, ISO year -4713) to a JS Date's last; year 0 is 1 BC to PostgreSQL.
    const first = Date.parse('-004713-11-24T00:00:00.000Z');
    const last = 8.64e15;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.integer({ min: first, max: last }),
          fc.integer({ min: Date.parse('-000001-12-31T00:00:00Z'), max: Date.parse('0001-01-02T00:00:00Z') }),
          fc.integer({ min: Date.parse('9999-12-30T00:00:00Z'), max: Date.parse('+010000-01-02T00:00:00Z') }),
        ),
        async (ms) => {
          const time = new Date(ms);
          const result = await warehouse.query(
            'SELECT CAST($1 AS timestamptz), extract(epoch FROM CAST($1 AS timestamptz)) * 1000',
            [time],
          );
          expect(result.rows).toEqual([[time.toISOString(), ms]]);
        },
      ),
      { numRuns: 300, examples: [[Date.parse('0000-02-29T00:00:00Z')], [first], [last]] },
    );
  });

  it('converts PostgreSQL-only types: numerics, arrays and jsonb', async () => {
    const result = await warehouse.query(`
      SELECT sum(x) AS total, avg(x) AS mean, 123456789012345678901234::numeric AS huge,
             ARRAY[1, 2]::bigint[] AS list, ARRAY['2026-11-27 10:00:00+00']::timestamptz[] AS times,
             '{"a": [1, 2]}'::jsonb AS doc, 'NaN'::float8 AS nan
      FROM (VALUES (1::bigint), (2::bigint)) AS t(x)`);
    expect(result.rows).toEqual([
      [3, 1.5, '123456789012345678901234', [1, 2], ['2026-11-27T10:00:00.000Z'], { a: [1, 2] }, 'NaN'],
    ]);
  });

  it('refuses COPY and data-modifying WITH in operator SQL', async () => {
    await warehouse.load('warehouse', logRecords(1, 3));
    const copy = await rejection(warehouse.queryReadOnly("COPY events TO '/tmp/deepref-stolen.csv'"));
    expect(copy.code).toBe('DEEPREF_READ_ONLY_QUERY');
    expect(copy.message).toContain('found a COPY statement');
    const cte = await rejection(
      warehouse.queryReadOnly('WITH gone AS (DELETE FROM events RETURNING 1) SELECT count(*) FROM gone'),
    );
    expect(cte.code).toBe('DEEPREF_READ_ONLY_QUERY');
    expect((await warehouse.query('SELECT count(*) FROM events')).rows).toEqual([[3]]);
  });

  it('leaves no session state behind an operator query', async () => {
    await warehouse.load('warehouse', logRecords(1, 3));
    const settings = await warehouse.queryReadOnly(
      "SELECT set_config('search_path', 'public', false), set_config('statement_timeout', '0', false), pg_advisory_lock(4242)",
    );
    expect(settings.rows).toEqual([['public', '0', '']]);
    // Every connection of the pool, checked at once: still in the warehouse schema, no lock held by any.
    const after = await Promise.all(
      Array.from({ length: 10 }, () => warehouse.query("SELECT current_schema() LIKE 'deepref_test_%'")),
    );
    expect(after.map((r) => r.rows)).toEqual(Array.from({ length: 10 }, () => [[true]]));
    const locks = await warehouse.query(
      "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242",
    );
    expect(locks.rows).toEqual([[0]]);
  });

  it('stops an operator query at the statement timeout', async () => {
    const slow = await postgres.open();
    const limited = await openPostgresWarehouse({
      connectionString: postgresUrl,
      schema: await schemaOf(slow.warehouse),
      statementTimeoutMs: 50,
    });
    try {
      const error = await rejection(limited.queryReadOnly('SELECT pg_sleep(30)'));
      expect(error.code).toBe('DEEPREF_QUERY_FAILED');
      expect(error.message).toContain('ran past the limit of 50 ms');
    } finally {
      await limited.close();
      await slow.cleanup();
    }
  });

  it('refuses a schema name it would have to quote', async () => {
    await expect(
      openPostgresWarehouse({ connectionString: postgresUrl, schema: 'x"; DROP' }),
    ).rejects.toThrow(/plain lower-case identifier/);
  });
});

async function schemaOf(warehouse: Warehouse): Promise<string> {
  return String((await warehouse.query('SELECT current_schema()')).rows[0]![0]);
}
