/**
 * What the end-to-end suites look at besides the HTTP answers: the /metrics counters, liveness, the events and
 * dead letters through the `EventLog` port, and whether the warehouse and the lake hold what the log holds.
 * Everything goes through ports or HTTP, so the same checks serve every adapter set.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { StoredEvent } from '@deepref/schema';
import { DuckDBInstance } from '@duckdb/node-api';
import { expect } from 'vitest';
import { type DeadLetter, readRawRecords } from '../bus/event-log.ts';
import type { TestPlatform } from './test-platform.ts';

/** One scrape of /metrics: `value('deepref_events_rejected_total', { reason: 'size_violation' })`, 0 when absent. */
export interface MetricsScrape {
  value(name: string, labels?: Record<string, string>): number;
}

export async function scrapeMetrics(tp: TestPlatform): Promise<MetricsScrape> {
  const response = await fetch(`${tp.url}/metrics`);
  expect(response.status).toBe(200);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return {
    value(name, labels = {}) {
      const pairs = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
      return samples.get(pairs.length ? `${name}{${pairs.join(',')}}` : name) ?? 0;
    },
  };
}

/** The change of each named counter between two scrapes. */
export function counterDeltas(
  before: MetricsScrape,
  after: MetricsScrape,
  counters: Record<string, [name: string, labels?: Record<string, string>]>,
): Record<string, number> {
  const deltas: Record<string, number> = {};
  for (const [key, [name, labels]] of Object.entries(counters)) {
    deltas[key] = after.value(name, labels) - before.value(name, labels);
  }
  return deltas;
}

/** Asserts the server still answers its liveness check. */
export async function expectHealthy(tp: TestPlatform): Promise<void> {
  const response = await fetch(`${tp.url}/health`);
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ status: 'ok' });
}

/** Polls `condition` until it holds; fails after `timeoutMs` with `what`. For effects with a stated delay (caches). */
export async function waitFor(
  what: string,
  condition: () => Promise<boolean>,
  { timeoutMs = 10_000, intervalMs = 50 } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Every event in the log by its id, in offset order. Parsing every record is itself a check that none is corrupt. */
export async function storedEvents(tp: TestPlatform): Promise<Map<string, StoredEvent>> {
  const events = new Map<string, StoredEvent>();
  let after = 0;
  for (;;) {
    // The stored JSON text, parsed here: what is on disk, not the objects the log may still hold in memory.
    const records = await readRawRecords(tp.platform.log, after, 10_000);
    if (records.length === 0) return events;
    for (const { offset, body } of records) {
      const event = JSON.parse(body) as StoredEvent;
      expect(offset).toBeGreaterThan(after);
      expect(events.has(event.eventId), `event ${event.eventId} is in the log twice`).toBe(false);
      events.set(event.eventId, event);
      after = offset;
    }
  }
}

/** The dead letters written after the one with id `afterId` (0: all). */
export function deadLettersAfter(tp: TestPlatform, afterId: number): Promise<DeadLetter[]> {
  return tp.platform.log.deadLetters.list({ afterId });
}

/** The id of the newest dead letter, to list only what a test adds after it. */
export async function lastDeadLetterId(tp: TestPlatform): Promise<number> {
  const all = await tp.platform.log.deadLetters.list();
  return all.at(-1)?.id ?? 0;
}

export interface StoreCounts {
  log: number;
  warehouse: number;
  warehouseDistinct: number;
  lake: number;
  lakeDistinct: number;
}

/**
 * Drains the consumers, then counts the events in the log, the warehouse and the lake; the lake is read by a
 * DuckDB of the test's own, as any Parquet engine would read it.
 */
export async function countStores(tp: TestPlatform): Promise<StoreCounts> {
  await tp.platform.drain();
  const log = (await storedEvents(tp)).size;
  const warehouse = await tp.platform.warehouse.query(
    'SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM events',
  );
  const [warehouseCount, warehouseDistinct] = warehouse.rows[0] as [number, number];
  const lakeFiles = await tp.platform.lake.list('events/');
  const lake = lakeFiles.length
    ? await countLake(tp.platform.lake.glob('events'))
    : { count: 0, distinct: 0 };
  return {
    log,
    warehouse: Number(warehouseCount),
    warehouseDistinct: Number(warehouseDistinct),
    lake: lake.count,
    lakeDistinct: lake.distinct,
  };
}

/** Asserts that the warehouse and the lake hold exactly the log's events, once each; returns the count. */
export async function expectStoresAgree(tp: TestPlatform): Promise<number> {
  const counts = await countStores(tp);
  expect(counts).toEqual({
    log: counts.log,
    warehouse: counts.log,
    warehouseDistinct: counts.log,
    lake: counts.log,
    lakeDistinct: counts.log,
  });
  return counts.log;
}

async function countLake(glob: string): Promise<{ count: number; distinct: number }> {
  const [count, distinct] = await readLake(glob, 'SELECT count(*), count(DISTINCT event_id) FROM lake');
  return { count: Number(count), distinct: Number(distinct) };
}

/** Runs `sql` (reading the view `lake`) on a DuckDB of the test's own; returns the first row. */
async function readLake(glob: string, sql: string): Promise<unknown[]> {
  return (await lakeRows(glob, sql))[0]!;
}

/** Runs `sql` (reading the view `lake`, the Parquet files under `glob`) on a DuckDB of the test's own. */
export async function lakeRows(glob: string, sql: string): Promise<unknown[][]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(
      `CREATE VIEW lake AS SELECT * FROM read_parquet('${glob.replaceAll("'", "''")}', hive_partitioning = 1)`,
    );
    return (await connection.runAndReadAll(sql)).getRows();
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/**
 * Rows of the warehouse and the lake in which `text` appears in any column. Grepping the files is not enough
 * there: DuckDB compresses strings (FSST) and Parquet pages, so a value can be stored without its bytes showing.
 */
export async function rowsMentioning(
  tp: TestPlatform,
  text: string,
): Promise<{ warehouse: number; lake: number }> {
  await tp.platform.drain();
  const warehouse = await tp.platform.warehouse.query(
    'SELECT count(*) FROM events AS e WHERE strpos(CAST(e AS TEXT), $1) > 0',
    [text],
  );
  const [lake] = await readLake(
    tp.platform.lake.glob('events'),
    `SELECT count(*) FROM lake AS e WHERE contains(CAST(e AS VARCHAR), '${text.replaceAll("'", "''")}')`,
  );
  return { warehouse: Number(warehouse.rows[0]![0]), lake: Number(lake) };
}

/**
 * Every string value inside a value, at any depth: what a refusal's message must never quote. Keys are left out,
 * since a message names the failing path.
 */
export function stringValuesIn(value: unknown, into: string[] = []): string[] {
  if (typeof value === 'string') into.push(value);
  else if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) stringValuesIn(child, into);
  }
  return into;
}

/** Every regular file under `dir`, recursively. */
export function filesUnder(dir: string): string[] {
  const files: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) files.push(path.join(entry.parentPath, entry.name));
  }
  return files.sort();
}

/** The files under `dir` whose bytes contain `needle` (as UTF-8, and as UTF-16LE for engines that store it so). */
export function filesContaining(dir: string, needle: string): string[] {
  const patterns = [Buffer.from(needle, 'utf8'), Buffer.from(needle, 'utf16le')];
  return filesUnder(dir).filter((file) => {
    const bytes = fs.readFileSync(file);
    return patterns.some((pattern) => bytes.includes(pattern));
  });
}
