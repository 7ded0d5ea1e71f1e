/**
 * Window results into the warehouse table `stream_results`, one row per job, key and window end: written again
 * (after a restart) it replaces itself, so the table holds each window once. Portable SQL (DuckDB, PostgreSQL).
 */
import type { Warehouse } from '../../storage/warehouse.ts';
import type { WindowResult } from '../stream-job.ts';
import type { StreamSink } from '../stream-processor.ts';

export const streamResultsTableSql = `CREATE TABLE IF NOT EXISTS stream_results (
  job VARCHAR NOT NULL,
  group_key VARCHAR NOT NULL,
  window_end_ms BIGINT NOT NULL,
  window_start TIMESTAMP NOT NULL,
  window_end TIMESTAMP NOT NULL,
  group_values VARCHAR NOT NULL,
  result VARCHAR NOT NULL,
  PRIMARY KEY (job, group_key, window_end_ms)
)`;

const rowsPerStatement = 200;

/** A surrogate not in a pair (with the `u` flag, a pair is one code point, not of this category). */
const loneSurrogate = /\p{Cs}/u;

/**
 * A window's group key as the `group_key` column holds it: the key itself, or its JSON text (in quotes, escaped)
 * when it has a NUL or a lone surrogate, which PostgreSQL refuses and every UTF-8 engine turns into U+FFFD (so two
 * groups would share a row), or when it starts with a quote (so that no key is another's JSON text). Distinct keys
 * stay distinct; `group_values` keeps the group's values exactly either way.
 */
export function storedGroupKey(key: string): string {
  return key.startsWith('"') || key.includes('\u0000') || loneSurrogate.test(key) ? JSON.stringify(key) : key;
}

/** The group key a `group_key` value stands for: `storedGroupKey` undone. */
export function groupKeyOf(stored: string): string {
  return stored.startsWith('"') ? (JSON.parse(stored) as string) : stored;
}

export class WarehouseResultSink implements StreamSink {
  #ready: Promise<unknown> | undefined;

  constructor(private readonly warehouse: Pick<Warehouse, 'query'>) {}

  ensureTable(): Promise<unknown> {
    this.#ready ??= this.warehouse.query(streamResultsTableSql);
    return this.#ready;
  }

  async write(rows: readonly WindowResult[]): Promise<void> {
    await this.ensureTable();
    // Times are bound as dates, which each warehouse spells as it reads them (PostgreSQL reads year 0000 only as
    // 0001 BC), as event rows are. One statement may not name the same key twice; the last row for a key is the one to keep.
    const unique = new Map<string, WindowResult>();
    for (const row of rows) unique.set(`${row.job}\u0000${row.key}\u0000${row.windowEnd}`, row);
    const list = [...unique.values()];
    for (let i = 0; i < list.length; i += rowsPerStatement) {
      const chunk = list.slice(i, i + rowsPerStatement);
      const params: unknown[] = [];
      const tuples = chunk.map((row) => {
        params.push(
          row.job,
          storedGroupKey(row.key),
          row.windowEnd,
          new Date(row.windowStart),
          new Date(row.windowEnd),
          JSON.stringify(row.group),
          JSON.stringify(row.values),
        );
        const n = params.length;
        return `($${n - 6}, $${n - 5}, $${n - 4}, CAST($${n - 3} AS TIMESTAMP), CAST($${n - 2} AS TIMESTAMP), $${n - 1}, $${n})`;
      });
      await this.warehouse.query(
        `INSERT INTO stream_results (job, group_key, window_end_ms, window_start, window_end, group_values, result)
         VALUES ${tuples.join(', ')}
         ON CONFLICT (job, group_key, window_end_ms) DO UPDATE SET
           window_start = EXCLUDED.window_start, group_values = EXCLUDED.group_values, result = EXCLUDED.result`,
        params,
      );
    }
  }
}
