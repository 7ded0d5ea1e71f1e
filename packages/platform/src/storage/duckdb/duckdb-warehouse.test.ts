/**
 * What only the DuckDB warehouse does: its appender inside the load transaction, a crash mid-load, DuckDB's own
 * statements and types, and its locks on files. The behaviour every warehouse shares is in `../warehouse-contract.test.ts`.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogRecord, RawLogRecord } from '../../bus/event-log.ts';
import { rejection } from '../../testing/rejection.ts';
import { logRecords } from '../test-events.ts';
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

describe('DuckdbWarehouse loadRaw', () => {
  const raw = (records: LogRecord[]): RawLogRecord[] =>
    records.map(({ offset, event }) => ({ offset, body: JSON.stringify(event) }));
  const allRows = async (target: DuckdbWarehouse) =>
    (await target.query('SELECT * FROM events ORDER BY log_offset')).rows;

  /** The rows `load` makes of `batches` and their offset, in a warehouse of their own. */
  async function loadedByRows(batches: LogRecord[][]): Promise<{ rows: unknown[][]; offset: number }> {
    const reference = await openDuckdbWarehouse(':memory:');
    try {
      for (const batch of batches) await reference.load('warehouse', batch);
      return { rows: await allRows(reference), offset: await reference.loadedOffset('warehouse') };
    } finally {
      await reference.close();
    }
  }

  it('stores the rows load stores, once per offset, however batches repeat', async () => {
    const batches = [logRecords(1, 30), logRecords(20, 30), logRecords(1, 10), logRecords(60, 5)];
    for (const batch of batches) await warehouse.loadRaw('warehouse', raw(batch));
    const rows = await allRows(warehouse);
    expect(rows).toHaveLength(54);
    expect({ rows, offset: await warehouse.loadedOffset('warehouse') }).toEqual(await loadedByRows(batches));
  });

  it('loads a batch the JSON path refuses as load does (a time in another offset)', async () => {
    const records = logRecords(1, 5);
    records[2]!.event.originalTimestamp = '2026-11-27T01:30:00.250+03:00';
    await warehouse.loadRaw('warehouse', raw(records));
    const expected = await loadedByRows([records]);
    expect(expected.rows[2]).toContain('2026-11-26T22:30:00.250Z');
    expect({ rows: await allRows(warehouse), offset: await warehouse.loadedOffset('warehouse') }).toEqual(
      expected,
    );
  });

  it('answers a query reading properties over an event whose properties held a lone surrogate', async () => {
    // Found by acked-events-load.e2e.test.ts: the escape was stored as it came, and DuckDB's JSON functions refuse
    // it, so every query reading a property over that event's rows failed.
    const records = logRecords(1, 3);
    records[1]!.event.properties = { n: 2, note: 'lone \ud800' };
    await warehouse.loadRaw('warehouse', raw(records));
    const result = await warehouse.query(
      "SELECT properties->>'$.n', properties->>'$.note' FROM events ORDER BY log_offset",
    );
    expect(result.rows).toEqual([
      ['1', null],
      ['2', 'lone \ufffd'],
      ['3', null],
    ]);
  });

  it('stores none of a batch it cannot read, nor its offset', async () => {
    const records = raw(logRecords(1, 5));
    records[3]!.body = '{"eventId":';
    await expect(warehouse.loadRaw('warehouse', records)).rejects.toThrow(SyntaxError);
    expect(await allRows(warehouse)).toEqual([]);
    expect(await warehouse.loadedOffset('warehouse')).toBe(0);
    await warehouse.loadRaw('warehouse', raw(logRecords(1, 5)));
    expect(await allRows(warehouse)).toHaveLength(5);
  });
});

describe('DuckdbWarehouse queryReadOnly', () => {
  beforeEach(async () => {
    await warehouse.load('warehouse', logRecords(1, 3));
  });

  it.each([
    ['FROM-first', 'FROM events SELECT count(*)', [[3]]],
    ['PRAGMA query', "SELECT count(*) FROM pragma_table_info('events')", [[24]]],
  ])('runs %s', async (_, sql, rows) => {
    expect((await warehouse.queryReadOnly(sql)).rows).toEqual(rows);
  });

  it.each([
    ['DESCRIBE', 'DESCRIBE events'],
    ['SHOW', 'SHOW TABLES'],
    ['SUMMARIZE', 'SUMMARIZE events'],
  ])('runs %s', async (_, sql) => {
    const result = await warehouse.queryReadOnly(sql);
    expect(result.rows.length).toBeGreaterThan(0);
  });

  it('refuses INSTALL, which DuckDB types as LOAD', async () => {
    const error = await rejection(warehouse.queryReadOnly('INSTALL httpfs'));
    expect(error.code).toBe('DEEPREF_READ_ONLY_QUERY');
    expect(error.message).toContain('found a LOAD statement');
  });

  it('reports the write under EXPLAIN ANALYZE as a failed query, since DuckDB types it as EXPLAIN', async () => {
    const error = await rejection(
      warehouse.queryReadOnly('EXPLAIN ANALYZE INSERT INTO events (log_offset) VALUES (99)'),
    );
    expect(error.code).toBe('DEEPREF_QUERY_FAILED');
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
});

describe('DuckdbWarehouse query results', () => {
  it('converts DuckDB-only types: JSON, lists and structs', async () => {
    const result = await warehouse.query(
      `SELECT '{"a": [1, 2]}'::JSON AS doc, [1, 2]::BIGINT[] AS list, {'k': 1::BIGINT} AS struct`,
    );
    expect(result.rows).toEqual([[{ a: [1, 2] }, [1, 2], { k: 1 }]]);
  });
});
