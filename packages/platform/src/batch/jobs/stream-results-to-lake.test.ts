/**
 * The stream-results-to-lake job on each warehouse (DuckDB, PostgreSQL), for the days at the edges of the
 * storable years: a window of year 0000, which PostgreSQL spells as 0001 BC, reaches the lake under its own day.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, expect, it } from 'vitest';
import { FsLakeStore } from '../../storage/fs/fs-lake-store.ts';
import { WarehouseResultSink } from '../../stream/sinks/warehouse-result-sink.ts';
import type { WindowResult } from '../../stream/stream-job.ts';
import { describeEachWarehouse, useWarehouse } from '../../testing/warehouses.ts';
import { streamResultsToLakeJob } from './stream-results-to-lake.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

const window = (endpoint: string, end: string): WindowResult => ({
  job: 'api_metrics',
  key: endpoint,
  group: { endpoint },
  windowStart: Date.parse(end) - 60_000,
  windowEnd: Date.parse(end),
  values: { requests: 1 },
});

/** Each row's key and window end (as an ISO time, from the Parquet timestamp's milliseconds). */
async function parquetRows(file: string): Promise<unknown[][]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      `SELECT group_key, epoch_ms(window_end) FROM read_parquet('${file}') ORDER BY window_end_ms`,
    );
    return reader.getRowsJS().map(([key, ms]) => [key, new Date(Number(ms)).toISOString()]);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describeEachWarehouse('stream-results-to-lake job', (engine) => {
  const db = useWarehouse(engine);

  it('copies the windows of year 0000 to the lake under their day, and a midnight window with the day it ends', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-results-lake-'));
    dirs.push(dir);
    const lake = new FsLakeStore(path.join(dir, 'lake'));
    await new WarehouseResultSink(db.warehouse).write([
      window('/year-0', '0000-01-01T00:01:00.000Z'),
      window('/year-0-leap', '0000-02-29T12:00:00.000Z'),
      window('/2026', '2026-03-01T10:00:00.000Z'),
      // Ends at the next midnight: the day's last window, read with that day's rows and counted with them.
      window('/midnight', '2026-03-02T00:00:00.000Z'),
    ]);
    const job = streamResultsToLakeJob({
      warehouse: db.warehouse,
      lake,
      stagingDir: path.join(dir, 'staging'),
    });
    const report = await job.run({
      now: new Date('2026-11-27T12:00:00Z'),
      trigger: 'manual',
      signal: new AbortController().signal,
      progress: () => {},
    });
    expect(report).toEqual({ daysWritten: 3, rowsWritten: 4, daysUpToDate: 0 });
    const file = (day: string) => lake.localPath(`stream_results/window_date=${day}/results.parquet`);
    expect(await parquetRows(await file('0000-01-01'))).toEqual([['/year-0', '0000-01-01T00:01:00.000Z']]);
    expect(await parquetRows(await file('0000-02-29'))).toEqual([
      ['/year-0-leap', '0000-02-29T12:00:00.000Z'],
    ]);
    expect(await parquetRows(await file('2026-03-01'))).toEqual([
      ['/2026', '2026-03-01T10:00:00.000Z'],
      ['/midnight', '2026-03-02T00:00:00.000Z'],
    ]);
  });
});
