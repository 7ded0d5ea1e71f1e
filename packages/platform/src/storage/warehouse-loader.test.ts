import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteEventLog, type SqliteEventLog } from '../bus/sqlite/sqlite-event-log.ts';
import { createMetrics } from '../ops/metrics.ts';
import { type DuckdbWarehouse, openDuckdbWarehouse } from './duckdb/duckdb-warehouse.ts';
import { storedEvent } from './test-events.ts';
import { createWarehouseLoader, startWarehouseLoader } from './warehouse-loader.ts';

let dir: string;
let log: SqliteEventLog;
let warehouse: DuckdbWarehouse;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-loader-'));
  log = openSqliteEventLog(path.join(dir, 'events.db'), { dedupWindowDays: 7, maxPendingEvents: 100_000 });
  warehouse = await openDuckdbWarehouse(path.join(dir, 'warehouse.duckdb'));
});

afterEach(async () => {
  await log.close();
  await warehouse.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function append(from: number, to: number): Promise<void> {
  const events = Array.from({ length: to - from + 1 }, (_, i) => storedEvent(from + i));
  await log.append({ events, deadLetters: [] });
}

async function loaded(): Promise<unknown[][]> {
  return (await warehouse.query('SELECT count(*), count(DISTINCT log_offset), sum(log_offset) FROM events'))
    .rows;
}

describe('warehouse loader', () => {
  it('loads the whole log and reports its position and lag', async () => {
    await append(1, 250);
    const metrics = createMetrics();
    await createWarehouseLoader({ log, warehouse, metrics, batchSize: 100 }).drain();

    expect(await loaded()).toEqual([[250, 250, 31_375]]);
    expect(await warehouse.loadedOffset('warehouse')).toBe(250);
    expect(await log.committedOffset('warehouse')).toBe(250);
    const gauges = await metrics.registry.getMetricsAsJSON();
    const value = (name: string) => gauges.find((m) => m.name === name)?.values[0]?.value;
    expect(value('deepref_consumer_offset')).toBe(250);
    expect(value('deepref_consumer_lag_events')).toBe(0);
  });

  it('resumes from the warehouse offset, not the log one, after a crash between the two commits', async () => {
    await append(1, 120);
    // The first 100 reached the warehouse; the process died before the log heard of it.
    await warehouse.load('warehouse', await log.read(0, 100));
    expect(await log.committedOffset('warehouse')).toBe(0);

    await createWarehouseLoader({ log, warehouse, batchSize: 30 }).drain();

    expect(await loaded()).toEqual([[120, 120, 7_260]]);
    expect(await log.committedOffset('warehouse')).toBe(120);
  });

  it('loads what arrives while it runs, and drains on a graceful stop', async () => {
    const loader = startWarehouseLoader({ log, warehouse, batchSize: 50, idleMs: 5 });
    await append(1, 80);
    await append(81, 130);
    await loader.stop({ drain: true });

    expect(await loaded()).toEqual([[130, 130, 8_515]]);
  });
});
