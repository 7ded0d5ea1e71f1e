/**
 * Stream window results reach the lake: each finished day as Parquet that DuckDB reads back equal to the
 * warehouse's rows, written again only when the day's rows change.
 */
import { randomUUID } from 'node:crypto';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../../testing/test-platform.ts';

let tp: TestPlatform;
beforeAll(async () => {
  tp = await startTestPlatform();
});
afterAll(async () => {
  await tp.close();
});

const DAY = 86_400_000;
const day = Math.floor((Date.now() - 2 * DAY) / DAY) * DAY;
const dayText = new Date(day).toISOString().slice(0, 10);

function pageView(minute: number, sessionId: string) {
  return {
    eventId: randomUUID(),
    eventName: 'page_view',
    timestamp: new Date(day + 9 * 3_600_000 + minute * 60_000).toISOString(),
    sentAt: new Date().toISOString(),
    userId: 'u-lake',
    sessionId,
    properties: { page_url: 'https://app.example/' },
  };
}

async function lakeRows(): Promise<unknown[][]> {
  const file = await tp.platform.lake.localPath(`stream_results/window_date=${dayText}/results.parquet`);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      `SELECT job, group_key, window_end_ms, CAST(result AS VARCHAR) FROM read_parquet('${file}') ORDER BY job, window_end_ms, group_key`,
    );
    return reader.getRowsJS().map((row) => row.map((v) => (typeof v === 'bigint' ? Number(v) : v)));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function warehouseRows(): Promise<unknown[][]> {
  const result = await tp.platform.warehouse.query(
    `SELECT job, group_key, window_end_ms, result FROM stream_results
     WHERE CAST(window_end AS DATE) = CAST($1 AS DATE) AND window_end > CAST($1 AS TIMESTAMP)
     ORDER BY job, window_end_ms, group_key`,
    [dayText],
  );
  return result.rows;
}

describe('stream-results-to-lake job', () => {
  it("copies a finished day's window results to Parquet, and again only when they change", async () => {
    const session = `s-${randomUUID()}`;
    expect(
      (await tp.post('/api/telemetry/events', [pageView(1, session), pageView(2, session)])).status,
    ).toBe(200);
    await tp.platform.drain();

    const first = await tp.platform.scheduler.run('stream-results-to-lake');
    expect(first.status).toBe('succeeded');
    expect(first.report?.daysWritten).toBe(1);
    const expected = await warehouseRows();
    expect(expected.length).toBeGreaterThan(0);
    expect(await lakeRows()).toEqual(expected);

    const second = await tp.platform.scheduler.run('stream-results-to-lake');
    expect(second.report).toMatchObject({ daysWritten: 0, daysUpToDate: 1 });

    // A late import for the same day changes its rows: the day is written again.
    expect((await tp.post('/api/telemetry/events', [pageView(3, session)])).status).toBe(200);
    await tp.platform.drain();
    const third = await tp.platform.scheduler.run('stream-results-to-lake');
    expect(third.report?.daysWritten).toBe(1);
    const changed = await lakeRows();
    expect(changed).toEqual(await warehouseRows());
    expect(changed).not.toEqual(expected);

    const runs = await tp.platform.scheduler.runs({ job: 'stream-results-to-lake' });
    expect(runs.map((run) => run.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  });
});
