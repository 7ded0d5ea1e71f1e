import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogRecord } from '../../bus/event-log.ts';
import { DeeprefError } from '../../errors.ts';
import { logRecords, storedEvent } from '../test-events.ts';
import { type DuckdbWarehouse, openDuckdbWarehouse } from './duckdb-warehouse.ts';

let dir: string;
let warehouse: DuckdbWarehouse;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-warehouse-'));
  warehouse = await openDuckdbWarehouse(path.join(dir, 'warehouse', 'warehouse.duckdb'));
});

afterEach(async () => {
  await warehouse.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function offsets(): Promise<number[]> {
  const result = await warehouse.query('SELECT log_offset FROM events ORDER BY log_offset');
  return result.rows.map((row) => row[0] as number);
}

async function rejection(promise: Promise<unknown>): Promise<DeeprefError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof DeeprefError)) throw new Error(`expected a DeeprefError, got ${String(error)}`);
  return error;
}

describe('DuckdbWarehouse load', () => {
  it('stores each event as one typed row', async () => {
    await warehouse.load('warehouse', [
      {
        offset: 7,
        event: storedEvent(2, { traits: { plan: 'pro' }, timestamp: '2026-11-27T01:30:00+03:00' }),
      },
    ]);

    const types = await warehouse.query(
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'events' ORDER BY ordinal_position",
    );
    expect(types.rows).toEqual([
      ['log_offset', 'BIGINT'],
      ['event_id', 'VARCHAR'],
      ['type', 'VARCHAR'],
      ['event_name', 'VARCHAR'],
      ['timestamp', 'TIMESTAMP WITH TIME ZONE'],
      ['original_timestamp', 'TIMESTAMP WITH TIME ZONE'],
      ['sent_at', 'TIMESTAMP WITH TIME ZONE'],
      ['received_at', 'TIMESTAMP WITH TIME ZONE'],
      ['event_date', 'DATE'],
      ['session_id', 'VARCHAR'],
      ['user_id', 'VARCHAR'],
      ['anonymous_id', 'VARCHAR'],
      ['group_id', 'VARCHAR'],
      ['previous_id', 'VARCHAR'],
      ['source_id', 'VARCHAR'],
      ['properties', 'JSON'],
      ['traits', 'JSON'],
      ['context', 'JSON'],
      ['browser', 'VARCHAR'],
      ['browser_version', 'VARCHAR'],
      ['os', 'VARCHAR'],
      ['os_version', 'VARCHAR'],
      ['device_type', 'VARCHAR'],
      ['ip', 'VARCHAR'],
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
        async (count, sizes, replays) => {
          const records = logRecords(1, count);
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
          expect(await warehouse.loadedOffset(consumer)).toBe(count);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('stores none of a batch whose transaction fails after its rows were appended', async () => {
    await warehouse.load('warehouse', logRecords(1, 5));
    // A null consumer breaks the offset table's key: that INSERT runs after the appender flushed the rows.
    const failed = warehouse.load(null as unknown as string, logRecords(6, 5));
    await expect(failed).rejects.toThrow(/NOT NULL|null/i);

    expect(await offsets()).toEqual([1, 2, 3, 4, 5]);
    await warehouse.load('warehouse', logRecords(6, 5));
    expect(await offsets()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('keeps rows and offsets across a reopen, and migrates only once', async () => {
    await warehouse.load('warehouse', logRecords(1, 10));
    await warehouse.close();
    warehouse = await openDuckdbWarehouse(path.join(dir, 'warehouse', 'warehouse.duckdb'));

    expect(await warehouse.loadedOffset('warehouse')).toBe(10);
    expect((await warehouse.query('SELECT count(*) FROM events')).rows).toEqual([[10]]);
    expect((await warehouse.query('SELECT version FROM _schema_version')).rows).toEqual([[1]]);
  });
});

describe('DuckdbWarehouse across a crash', () => {
  it('holds exactly the loads that finished when its process was killed mid-load', async () => {
    const file = path.join(dir, 'crash.duckdb');
    // A process that loads batches of 1,000 for as long as it lives, saying so after each one.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { openDuckdbWarehouse } = await import(${JSON.stringify(new URL('./duckdb-warehouse.ts', import.meta.url).pathname)});
         const { logRecords } = await import(${JSON.stringify(new URL('../test-events.ts', import.meta.url).pathname)});
         const warehouse = await openDuckdbWarehouse(${JSON.stringify(file)});
         for (let from = 1; ; from += 1000) {
           await warehouse.load('warehouse', logRecords(from, 1000));
           process.stdout.write('loaded\\n');
         }`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let loads = 0;
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        loads += chunk.toString().split('\n').length - 1;
        if (loads >= 3) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the loading process exited on its own (${code})`)));
    });
    // Wherever the kill lands (appending, flushing, committing), the file holds whole batches with their offset.
    child.kill('SIGKILL');
    await once(child, 'exit');

    const reopened = await openDuckdbWarehouse(file);
    try {
      const loaded = await reopened.loadedOffset('warehouse');
      expect(loaded % 1000).toBe(0);
      expect(loaded).toBeGreaterThanOrEqual(3000);
      const totals = await reopened.query(
        'SELECT count(*), count(DISTINCT log_offset), sum(log_offset) FROM events',
      );
      expect(totals.rows).toEqual([[loaded, loaded, (loaded * (loaded + 1)) / 2]]);

      await reopened.load('warehouse', logRecords(1, loaded + 500));
      const after = await reopened.query('SELECT count(*), count(DISTINCT log_offset) FROM events');
      expect(after.rows).toEqual([[loaded + 500, loaded + 500]]);
    } finally {
      await reopened.close();
    }
  });
});

describe('DuckDB appender', () => {
  it('joins the connection transaction, so ROLLBACK discards appended rows', async () => {
    const instance = await DuckDBInstance.create(path.join(dir, 'appender.duckdb'));
    const connection = await instance.connect();
    try {
      await connection.run('CREATE TABLE t (i BIGINT, s VARCHAR)');
      await connection.run('BEGIN TRANSACTION');
      const appender = await connection.createAppender('t');
      appender.appendBigInt(1n);
      appender.appendVarchar('one');
      appender.endRow();
      appender.flushSync();
      appender.closeSync();
      const inside = await connection.runAndReadAll('SELECT count(*) FROM t');
      expect(inside.getRows()).toEqual([[1n]]);
      await connection.run('ROLLBACK');

      const after = await connection.runAndReadAll('SELECT count(*) FROM t');
      expect(after.getRows()).toEqual([[0n]]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
});

describe('DuckdbWarehouse queryReadOnly', () => {
  beforeEach(async () => {
    await warehouse.load('warehouse', logRecords(1, 3));
  });

  it.each([
    ['SELECT', 'SELECT count(*) AS n FROM events', [[3]]],
    ['WITH', 'WITH e AS (SELECT log_offset FROM events) SELECT max(log_offset) FROM e', [[3]]],
    ['FROM-first', 'FROM events SELECT count(*)', [[3]]],
    ['PRAGMA query', "SELECT count(*) FROM pragma_table_info('events')", [[24]]],
  ])('runs %s', async (_, sql, rows) => {
    expect((await warehouse.queryReadOnly(sql)).rows).toEqual(rows);
  });

  it.each([
    ['DESCRIBE', 'DESCRIBE events'],
    ['SHOW', 'SHOW TABLES'],
    ['EXPLAIN', 'EXPLAIN SELECT * FROM events'],
    ['SUMMARIZE', 'SUMMARIZE events'],
  ])('runs %s', async (_, sql) => {
    const result = await warehouse.queryReadOnly(sql);
    expect(result.rows.length).toBeGreaterThan(0);
  });

  it.each([
    ['INSERT', 'INSERT INTO events (log_offset) VALUES (99)', 'INSERT'],
    ['UPDATE', "UPDATE events SET event_name = 'x'", 'UPDATE'],
    ['DELETE', 'DELETE FROM events', 'DELETE'],
    ['DROP', 'DROP TABLE events', 'DROP'],
    ['CREATE', 'CREATE TABLE x AS SELECT 1', 'CREATE'],
    ['ATTACH', "ATTACH '/tmp/deepref-other.duckdb' AS other", 'ATTACH'],
    ['SET', 'SET threads = 1', 'SET'],
    ['CALL', 'CALL pragma_version()', 'CALL'],
    ['PRAGMA statement', 'PRAGMA enable_profiling', 'PRAGMA'],
    ['INSTALL', 'INSTALL httpfs', 'LOAD'],
  ])('refuses %s', async (_, sql, type) => {
    const error = await rejection(warehouse.queryReadOnly(sql));
    expect(error.code).toBe('DEEPREF_READ_ONLY_QUERY');
    expect(error.message).toContain(`found a ${type} statement`);
    expect((await warehouse.query('SELECT count(*) FROM events')).rows).toEqual([[3]]);
  });

  it('refuses several statements, even all read-only', async () => {
    const error = await rejection(warehouse.queryReadOnly('SELECT 1; SELECT 2'));
    expect(error.code).toBe('DEEPREF_READ_ONLY_QUERY');
    expect(error.message).toContain('found 2 statements');
    const hidden = await rejection(warehouse.queryReadOnly('SELECT 1; DROP TABLE events'));
    expect(hidden.code).toBe('DEEPREF_READ_ONLY_QUERY');
  });

  it('runs EXPLAIN ANALYZE of a write in a read-only transaction, so the write fails', async () => {
    const error = await rejection(
      warehouse.queryReadOnly('EXPLAIN ANALYZE INSERT INTO events (log_offset) VALUES (99)'),
    );
    expect(error.code).toBe('DEEPREF_QUERY_FAILED');
    expect(error.message).toContain('read-only');
    expect((await warehouse.query('SELECT count(*) FROM events')).rows).toEqual([[3]]);
  });

  it('refuses COPY: with file access off, DuckDB refuses it while preparing', async () => {
    const target = path.join(dir, 'stolen.csv');
    const error = await rejection(warehouse.queryReadOnly(`COPY events TO '${target}'`));
    expect(error.code).toBe('DEEPREF_QUERY_FAILED');
    expect(error.message).toContain('disabled by configuration');
    expect(fs.existsSync(target)).toBe(false);
  });

  it('cannot read or write files outside the warehouse', async () => {
    const read = await rejection(warehouse.queryReadOnly("SELECT * FROM read_text('/etc/hostname')"));
    expect(read.code).toBe('DEEPREF_QUERY_FAILED');
    expect(read.message).toContain('disabled by configuration');
    const target = path.join(dir, 'stolen.parquet');
    const write = await rejection(
      warehouse.queryReadOnly(`EXPLAIN ANALYZE COPY events TO '${target}' (FORMAT parquet)`),
    );
    expect(write.code).toBe('DEEPREF_QUERY_FAILED');
    expect(fs.existsSync(target)).toBe(false);
  });

  it('reports SQL errors as DEEPREF_QUERY_FAILED', async () => {
    const syntax = await rejection(warehouse.queryReadOnly('SELEC 1'));
    expect(syntax.code).toBe('DEEPREF_QUERY_FAILED');
    expect(syntax.message).toContain('syntax error');
    const missing = await rejection(warehouse.queryReadOnly('SELECT * FROM nowhere'));
    expect(missing.code).toBe('DEEPREF_QUERY_FAILED');
    const empty = await rejection(warehouse.queryReadOnly('  -- nothing'));
    expect(empty.code).toBe('DEEPREF_QUERY_FAILED');
  });

  it('cuts results at the row limit and says so', async () => {
    const small = await openDuckdbWarehouse(path.join(dir, 'small.duckdb'), { maxResultRows: 10 });
    try {
      const result = await small.queryReadOnly('SELECT * FROM range(25)');
      expect(result.rows).toEqual(Array.from({ length: 10 }, (_, i) => [i]));
      expect(result.truncated).toBe(true);
      expect((await small.queryReadOnly('SELECT * FROM range(10)')).truncated).toBeUndefined();
    } finally {
      await small.close();
    }
  });
});

describe('DuckdbWarehouse query results', () => {
  it('converts values to JSON-friendly JS', async () => {
    const result = await warehouse.query(`
      SELECT 42::BIGINT AS small, 9007199254740993::BIGINT AS big, 12.5::DECIMAL(10, 2) AS price,
             TIMESTAMPTZ '2026-11-27 10:00:00.123456+00' AS at, TIMESTAMP '2026-11-27 10:00:00' AS naive,
             DATE '2026-11-27' AS day, '{"a": [1, 2]}'::JSON AS doc, [1, 2]::BIGINT[] AS list,
             {'k': 1::BIGINT} AS struct, 'infinity'::TIMESTAMPTZ AS forever, NULL AS nothing, true AS yes`);
    expect(result.columns).toEqual([
      'small',
      'big',
      'price',
      'at',
      'naive',
      'day',
      'doc',
      'list',
      'struct',
      'forever',
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
        { a: [1, 2] },
        [1, 2],
        { k: 1 },
        'infinity',
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
    expect(result.rows).toEqual([[5]]);
  });

  it('computes day boundaries in UTC', async () => {
    const result = await warehouse.query("SELECT (TIMESTAMPTZ '2026-11-27 01:30:00+03:00')::DATE");
    expect(result.rows).toEqual([['2026-11-26']]);
  });
});
