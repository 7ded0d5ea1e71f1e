/**
 * The `Warehouse` contract, run against every adapter (DuckDB always, PostgreSQL when reachable): idempotent
 * loads with their offsets, typed rows, JSON-friendly results and the refusals of `queryReadOnly`. What only one
 * engine does is tested beside its adapter (`duckdb/`, `postgres/`).
 */
import fc from 'fast-check';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { LogRecord } from '../bus/event-log.ts';
import { rejection } from '../testing/rejection.ts';
import { describeEachWarehouse, type OpenedWarehouse } from '../testing/warehouses.ts';
import { logRecords, storedEvent } from './test-events.ts';
import type { Warehouse } from './warehouse.ts';

/** Each engine's spelling of the event columns' types, as information_schema reports them. */
const columnTypes = {
  duckdb: {
    BIGINT: 'BIGINT',
    VARCHAR: 'VARCHAR',
    TIMESTAMPTZ: 'TIMESTAMP WITH TIME ZONE',
    DATE: 'DATE',
    JSON: 'JSON',
  },
  postgres: {
    BIGINT: 'bigint',
    VARCHAR: 'text',
    TIMESTAMPTZ: 'timestamp with time zone',
    DATE: 'date',
    JSON: 'jsonb',
  },
} as const;

describeEachWarehouse('Warehouse contract', (engine) => {
  let opened: OpenedWarehouse | undefined;
  let warehouse: Warehouse;

  beforeEach(async () => {
    opened = await engine.open();
    warehouse = opened.warehouse;
  });

  afterEach(async () => {
    await opened?.cleanup();
  });

  async function offsets(): Promise<number[]> {
    const result = await warehouse.query('SELECT log_offset FROM events ORDER BY log_offset');
    return result.rows.map((row) => row[0] as number);
  }

  async function count(): Promise<unknown[][]> {
    return (await warehouse.query('SELECT count(*) FROM events')).rows;
  }

  it('stores each event as one typed row', async () => {
    await warehouse.load('warehouse', [
      {
        offset: 7,
        event: storedEvent(2, { traits: { plan: 'pro' }, timestamp: '2026-11-27T01:30:00+03:00' }),
      },
    ]);

    const types = await warehouse.query(
      `SELECT column_name, data_type FROM information_schema.columns
       WHERE table_name = 'events' AND table_schema = current_schema() ORDER BY ordinal_position`,
    );
    const t = columnTypes[engine.name];
    expect(types.rows).toEqual([
      ['log_offset', t.BIGINT],
      ['event_id', t.VARCHAR],
      ['type', t.VARCHAR],
      ['event_name', t.VARCHAR],
      ['timestamp', t.TIMESTAMPTZ],
      ['original_timestamp', t.TIMESTAMPTZ],
      ['sent_at', t.TIMESTAMPTZ],
      ['received_at', t.TIMESTAMPTZ],
      ['event_date', t.DATE],
      ['session_id', t.VARCHAR],
      ['user_id', t.VARCHAR],
      ['anonymous_id', t.VARCHAR],
      ['group_id', t.VARCHAR],
      ['previous_id', t.VARCHAR],
      ['source_id', t.VARCHAR],
      ['properties', t.JSON],
      ['traits', t.JSON],
      ['context', t.JSON],
      ['browser', t.VARCHAR],
      ['browser_version', t.VARCHAR],
      ['os', t.VARCHAR],
      ['os_version', t.VARCHAR],
      ['device_type', t.VARCHAR],
      ['ip', t.VARCHAR],
    ]);

    const row = await warehouse.query('SELECT * FROM events');
    expect(row.columns[0]).toBe('log_offset');
    expect(row.rows).toEqual([
      [
        7,
        '00000000-0000-4000-8000-000000000002',
        'track',
        'page_view',
        '2026-11-26T22:30:00.000Z',
        '2026-11-25T23:14:00.000Z',
        '2026-11-25T23:14:00.000Z',
        '2026-11-25T23:14:00.000Z',
        '2026-11-26',
        'session-2',
        'user-2',
        'anon-2',
        null,
        null,
        'source-1',
        { n: 2, path: '/page/2' },
        { plan: 'pro' },
        { locale: 'en-US', page: { url: 'https://example.com/page/2' } },
        'Firefox',
        '133.0',
        'Linux',
        null,
        'desktop',
        '203.0.113.0',
      ],
    ]);
    expect(await warehouse.loadedOffset('warehouse')).toBe(7);
  });

  it('stores a reloaded batch once', async () => {
    const batch = logRecords(1, 50);
    await warehouse.load('warehouse', batch);
    await warehouse.load('warehouse', batch);
    await warehouse.load('warehouse', logRecords(40, 20));

    expect(await offsets()).toEqual(Array.from({ length: 59 }, (_, i) => i + 1));
    expect(await warehouse.loadedOffset('warehouse')).toBe(59);
    expect(await warehouse.loadedOffset('someone-else')).toBe(0);
  });

  it('loads every offset exactly once, however batches are split, repeated or replayed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 60 }),
        fc.array(fc.integer({ min: 1, max: 15 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        async (total, sizes, replays) => {
          const records = logRecords(1, total);
          const batches: LogRecord[][] = [];
          for (let at = 0, i = 0; at < records.length; i++) {
            const size = sizes[i % sizes.length]!;
            batches.push(records.slice(at, at + size));
            at += size;
          }
          // Each replay picks an earlier batch to load again after the current one; a crash between a load and
          // the log's offset commit looks exactly like that.
          const sequence: LogRecord[][] = [];
          batches.forEach((batch, i) => {
            sequence.push(batch);
            const replay = replays[i];
            if (replay !== undefined) sequence.push(batches[replay % (i + 1)]!);
          });

          const consumer = `property-${Math.random().toString(36).slice(2)}`;
          await warehouse.query('DELETE FROM events');
          for (const batch of sequence) await warehouse.load(consumer, batch);

          expect(await offsets()).toEqual(records.map((r) => r.offset));
          expect(await warehouse.loadedOffset(consumer)).toBe(total);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('stores none of a batch whose load fails, and the whole batch when loaded again', async () => {
    await warehouse.load('warehouse', logRecords(1, 5));
    // A null consumer breaks the offset table's key (in DuckDB after the appender flushed the batch's rows).
    const failed = warehouse.load(null as unknown as string, logRecords(6, 5));
    await expect(failed).rejects.toThrow(/NOT NULL|null/i);

    expect(await offsets()).toEqual([1, 2, 3, 4, 5]);
    await warehouse.load('warehouse', logRecords(6, 5));
    expect(await offsets()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('gives each event the UTC date of its time, across days', async () => {
    // Event n is 37n minutes after 2026-11-25 22:00 UTC. The next days start 120, 1560 and 3000 minutes in:
    // first n with 37n ≥ 120 is 4, with 37n ≥ 1560 is 43 (1591), with 37n ≥ 3000 is 82 (3034).
    await warehouse.load('warehouse', logRecords(1, 100));
    const days = await warehouse.query(
      'SELECT event_date, count(*), min(log_offset), max(log_offset) FROM events GROUP BY event_date ORDER BY event_date',
    );
    expect(days.rows).toEqual([
      ['2026-11-25', 3, 1, 3],
      ['2026-11-26', 39, 4, 42],
      ['2026-11-27', 39, 43, 81],
      ['2026-11-28', 19, 82, 100],
    ]);
  });

  it('stores times at the ends of years 0000 to 9999 as the same instants, 29 February of year 0 included', async () => {
    // The collector accepts any four-digit year. PostgreSQL has no year 0 (its 1 BC), and its partition of
    // 9999-12-31 ends in year 10000: each refused such a row, and the loader retried it for ever.
    const times = [
      '0000-01-01T00:00:00.000Z',
      '0000-02-29T12:34:56.789Z',
      '0000-12-31T23:59:59.999Z',
      '0001-01-01T00:00:00.000Z',
      '9999-12-31T23:59:59.999Z',
    ];
    await warehouse.load(
      'warehouse',
      times.map((time, i) => ({
        offset: i + 1,
        event: storedEvent(i + 1, { timestamp: time, originalTimestamp: time, sentAt: time }),
      })),
    );

    const stored = await warehouse.query(
      `SELECT "timestamp", original_timestamp, sent_at, event_date, date_part('epoch', "timestamp")
       FROM events ORDER BY log_offset`,
    );
    // The epoch seconds pin the instant itself, not only its spelling: -62167219200 is 0000-01-01 in ISO 8601.
    expect(stored.rows).toEqual(
      times.map((time) => [time, time, time, time.slice(0, 10), Date.parse(time) / 1000]),
    );
    expect(Date.parse(times[0]!) / 1000).toBe(-62_167_219_200);
    const beforeMarch = await warehouse.query('SELECT count(*) FROM events WHERE "timestamp" < $1', [
      new Date('0000-03-01T00:00:00Z'),
    ]);
    expect(beforeMarch.rows).toEqual([[2]]);
    expect(await warehouse.loadedOffset('warehouse')).toBe(times.length);
  });

  it('gives back text that starts with U+FEFF whole, loaded as events or as JSON text', async () => {
    // Found by acked-events-load.e2e.test.ts: DuckDB held the character, and its client dropped it on every read
    // (a default TextDecoder takes it for a byte order mark), so an event's name came back changed.
    const mark = '\ufeff';
    const event = (n: number) =>
      storedEvent(n, {
        eventName: `${mark}name`,
        userId: `${mark}user`,
        properties: { [`${mark}key`]: `${mark}value` },
      });
    await warehouse.load('warehouse', [{ offset: 1, event: event(1) }]);
    await warehouse.loadRaw?.('warehouse', [{ offset: 2, body: JSON.stringify(event(2)) }]);

    const stored = await warehouse.query(
      'SELECT event_name, user_id, properties, CAST($1 AS VARCHAR) FROM events ORDER BY log_offset',
      [`${mark}bound`],
    );
    const row = [`${mark}name`, `${mark}user`, { [`${mark}key`]: `${mark}value` }, `${mark}bound`];
    expect(stored.rows).toEqual(warehouse.loadRaw ? [row, row] : [row]);
  });

  it('keeps rows and offsets across a reopen, and migrates only once', async () => {
    await warehouse.load('warehouse', logRecords(1, 10));
    warehouse = await opened!.reopen();

    expect(await warehouse.loadedOffset('warehouse')).toBe(10);
    expect(await count()).toEqual([[10]]);
    expect((await warehouse.query('SELECT version FROM _schema_version')).rows).toEqual([[1]]);
    await warehouse.load('warehouse', logRecords(11, 5));
    expect(await count()).toEqual([[15]]);
  });

  it('converts values to JSON-friendly JS', async () => {
    const result = await warehouse.query(`
      SELECT CAST(42 AS BIGINT) AS small, CAST(9007199254740993 AS BIGINT) AS big,
             CAST(12.5 AS DECIMAL(10, 2)) AS price,
             CAST('2026-11-27 10:00:00.123456+00' AS TIMESTAMPTZ) AS at,
             CAST('2026-11-27 10:00:00' AS TIMESTAMP) AS naive, CAST('2026-11-27' AS DATE) AS day,
             CAST('infinity' AS TIMESTAMPTZ) AS forever, CAST(0.25 AS DOUBLE PRECISION) AS ratio,
             NULL AS nothing, true AS yes`);
    expect(result.columns).toEqual([
      'small',
      'big',
      'price',
      'at',
      'naive',
      'day',
      'forever',
      'ratio',
      'nothing',
      'yes',
    ]);
    expect(result.rows).toEqual([
      [
        42,
        '9007199254740993',
        12.5,
        '2026-11-27T10:00:00.123456Z',
        '2026-11-27T10:00:00.000Z',
        '2026-11-27',
        'infinity',
        0.25,
        null,
        true,
      ],
    ]);
  });

  it('binds parameters', async () => {
    await warehouse.load('warehouse', logRecords(1, 10));
    const result = await warehouse.query(
      'SELECT count(*) FROM events WHERE log_offset > $1 AND event_name = $2 AND timestamp > $3',
      [2, 'page_view', new Date(Date.UTC(2026, 0, 1))],
    );
    // Offsets 3 to 10 whose number is not a multiple of 3: 4 5 7 8 10.
    expect(result.rows).toEqual([[5]]);
  });

  it('computes day boundaries in UTC', async () => {
    const result = await warehouse.query(
      "SELECT CAST(CAST('2026-11-27 01:30:00+03:00' AS TIMESTAMPTZ) AS DATE), date_trunc('day', CAST('2026-11-27 01:30:00+03:00' AS TIMESTAMPTZ))",
    );
    expect(result.rows).toEqual([['2026-11-26', '2026-11-26T00:00:00.000Z']]);
  });

  describeQueryReadOnly();

  function describeQueryReadOnly(): void {
    it.each([
      ['SELECT', 'SELECT count(*) AS n FROM events', [[3]]],
      ['WITH', 'WITH e AS (SELECT log_offset FROM events) SELECT max(log_offset) FROM e', [[3]]],
      ['a query after comments', '-- the total\n/* all of it */ SELECT count(*) FROM events', [[3]]],
    ])('queryReadOnly runs %s', async (_, sql, rows) => {
      await warehouse.load('warehouse', logRecords(1, 3));
      expect((await warehouse.queryReadOnly(sql)).rows).toEqual(rows);
    });

    it('queryReadOnly runs EXPLAIN', async () => {
      const result = await warehouse.queryReadOnly('EXPLAIN SELECT * FROM events');
      expect(result.rows.length).toBeGreaterThan(0);
    });

    it.each([
      ['INSERT', 'INSERT INTO events (log_offset) VALUES (99)', 'INSERT'],
      ['UPDATE', "UPDATE events SET event_name = 'x'", 'UPDATE'],
      ['DELETE', 'DELETE FROM events', 'DELETE'],
      ['DROP', 'DROP TABLE events', 'DROP'],
      ['CREATE', 'CREATE TABLE x AS SELECT 1', 'CREATE'],
      ['SET', 'SET threads = 1', 'SET'],
      ['CALL', 'CALL pragma_version()', 'CALL'],
      ['PRAGMA statement', 'PRAGMA enable_profiling', 'PRAGMA'],
      ['ATTACH', "ATTACH '/tmp/deepref-other.duckdb' AS other", 'ATTACH'],
    ])('queryReadOnly refuses %s', async (_, sql, type) => {
      await warehouse.load('warehouse', logRecords(1, 3));
      const error = await rejection(warehouse.queryReadOnly(sql));
      expect(error.code).toBe('DEEPREF_READ_ONLY_QUERY');
      expect(error.message).toContain(`found a ${type} statement`);
      expect(await count()).toEqual([[3]]);
    });

    it('queryReadOnly refuses several statements, even all read-only', async () => {
      const error = await rejection(warehouse.queryReadOnly('SELECT 1; SELECT 2'));
      expect(error.code).toBe('DEEPREF_READ_ONLY_QUERY');
      expect(error.message).toContain('statements; send one statement at a time');
      const hidden = await rejection(warehouse.queryReadOnly('SELECT 1; DROP TABLE events'));
      expect(hidden.code).toBe('DEEPREF_READ_ONLY_QUERY');
      expect(await count()).toEqual([[0]]);
    });

    it('queryReadOnly runs EXPLAIN ANALYZE of a write in a read-only transaction, so the write fails', async () => {
      await warehouse.load('warehouse', logRecords(1, 3));
      const error = await rejection(
        warehouse.queryReadOnly('EXPLAIN ANALYZE INSERT INTO events (log_offset) VALUES (99)'),
      );
      expect(error.message).toContain('read-only');
      expect(await count()).toEqual([[3]]);
    });

    it('queryReadOnly reports SQL errors as DEEPREF_QUERY_FAILED', async () => {
      const syntax = await rejection(warehouse.queryReadOnly('SELEC 1'));
      expect(syntax.code).toBe('DEEPREF_QUERY_FAILED');
      expect(syntax.message).toContain('syntax error');
      const missing = await rejection(warehouse.queryReadOnly('SELECT * FROM nowhere'));
      expect(missing.code).toBe('DEEPREF_QUERY_FAILED');
      const empty = await rejection(warehouse.queryReadOnly('  -- nothing'));
      expect(empty.code).toBe('DEEPREF_QUERY_FAILED');
    });

    it('queryReadOnly cuts results at the row limit and says so', async () => {
      const small = await engine.open({ maxResultRows: 10 });
      try {
        await small.warehouse.load('warehouse', logRecords(1, 25));
        const result = await small.warehouse.queryReadOnly(
          'SELECT log_offset FROM events ORDER BY log_offset',
        );
        expect(result.rows).toEqual(Array.from({ length: 10 }, (_, i) => [i + 1]));
        expect(result.truncated).toBe(true);
        const exact = await small.warehouse.queryReadOnly(
          'SELECT log_offset FROM events WHERE log_offset <= 10',
        );
        expect(exact.rows).toHaveLength(10);
        expect(exact.truncated).toBeUndefined();
      } finally {
        await small.cleanup();
      }
    });
  }
});
