/**
 * Window results to the lake (§1.4, §3.2 "results to … the lake"): each finished UTC day of `stream_results`
 * becomes `stream_results/window_date=YYYY-MM-DD/results.parquet`. A day is written again whenever its rows in the
 * warehouse change (a backfill recomputed it, a late row arrived): a manifest in the lake keeps each day's
 * fingerprint (rows, last window end, bytes of results). Writing a day replaces its file atomically, so a run
 * that stops half way leaves every file whole, and the next run finishes the rest.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { LakeStore } from '../../storage/lake-store.ts';
import type { Warehouse } from '../../storage/warehouse.ts';
import { streamResultsTableSql } from '../../stream/sinks/warehouse-result-sink.ts';
import type { ScheduledJob } from '../scheduler.ts';

export const resultsPrefix = 'stream_results/';
const manifestKey = `${resultsPrefix}_manifest.json`;
const DAY_MS = 86_400_000;

export interface StreamResultsToLakeOptions {
  warehouse: Pick<Warehouse, 'query'>;
  lake: LakeStore;
  /** A folder on the lake's file system for files being written. */
  stagingDir: string;
  /** Cron, UTC; default 00:20 every day. */
  schedule?: string;
}

type Manifest = Record<string, string>;

export function streamResultsToLakeJob(options: StreamResultsToLakeOptions): ScheduledJob {
  const { warehouse, lake, stagingDir } = options;
  return {
    name: 'stream-results-to-lake',
    description: 'Copies each finished day of stream window results to Parquet in the lake',
    schedule: options.schedule ?? '20 0 * * *',
    async run({ now, progress, signal }) {
      await warehouse.query(streamResultsTableSql);
      const today = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
      // A day holds the windows ending after its midnight and up to the next one, as each day's rows are read
      // below. Days by the window end's milliseconds, not its text: each engine spells year 0000 its own way
      // (PostgreSQL as 0001 BC), and neither as a day `Date.parse` reads.
      const days = await warehouse.query(
        `SELECT floor((window_end_ms - 1) / ${DAY_MS}.0) AS day, count(*) AS n, max(window_end_ms) AS last,
                sum(length(result)) AS bytes
         FROM stream_results WHERE window_end_ms <= $1 GROUP BY 1 ORDER BY 1`,
        [today],
      );
      const manifest = await readManifest(lake);
      let written = 0;
      let rows = 0;
      await fs.mkdir(stagingDir, { recursive: true });
      const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false' });
      const connection = await instance.connect();
      try {
        for (const [dayNumber, n, last, bytes] of days.rows as [number, number, number, number][]) {
          if (signal.aborted) break;
          const start = Number(dayNumber) * DAY_MS;
          const day = new Date(start).toISOString().slice(0, 10);
          const fingerprint = `${n}:${last}:${bytes}`;
          if (manifest[day] === fingerprint) continue;
          const result = await warehouse.query(
            `SELECT job, group_key, window_start, window_end, window_end_ms, group_values, result
             FROM stream_results
             WHERE window_end_ms > $1 AND window_end_ms <= $2
             ORDER BY job, window_end_ms, group_key`,
            [start, start + DAY_MS],
          );
          const base = path.join(stagingDir, `results-${day}`);
          const json = `${base}.ndjson`;
          const parquet = `${base}.parquet`;
          const columns = result.columns;
          await fs.writeFile(
            json,
            result.rows
              .map((row) => JSON.stringify(Object.fromEntries(columns.map((c, i) => [c, row[i]]))))
              .join('\n'),
          );
          await connection.run(
            `COPY (SELECT job, group_key, CAST(window_start AS TIMESTAMP) AS window_start,
                          CAST(window_end AS TIMESTAMP) AS window_end, CAST(window_end_ms AS BIGINT) AS window_end_ms,
                          CAST(group_values AS JSON) AS group_values, CAST(result AS JSON) AS result
                   FROM read_json(${literal(json)}, format = 'newline_delimited', columns = {
                     job: 'VARCHAR', group_key: 'VARCHAR', window_start: 'VARCHAR', window_end: 'VARCHAR',
                     window_end_ms: 'BIGINT', group_values: 'VARCHAR', result: 'VARCHAR'}))
             TO ${literal(parquet)} (FORMAT parquet, COMPRESSION zstd)`,
          );
          await lake.putFile(`${resultsPrefix}window_date=${day}/results.parquet`, parquet);
          await fs.rm(json, { force: true });
          manifest[day] = fingerprint;
          await writeManifest(lake, stagingDir, manifest);
          written += 1;
          rows += result.rows.length;
          progress(`stream results of ${day}: ${result.rows.length} rows to the lake`);
        }
      } finally {
        connection.closeSync();
        instance.closeSync();
      }
      return { daysWritten: written, rowsWritten: rows, daysUpToDate: days.rows.length - written };
    },
  };
}

async function readManifest(lake: LakeStore): Promise<Manifest> {
  if (!(await lake.list(manifestKey)).some((object) => object.key === manifestKey)) return {};
  return JSON.parse(await fs.readFile(await lake.localPath(manifestKey), 'utf8')) as Manifest;
}

async function writeManifest(lake: LakeStore, stagingDir: string, manifest: Manifest): Promise<void> {
  const file = path.join(stagingDir, 'results-manifest.json');
  await fs.writeFile(file, JSON.stringify(manifest));
  await lake.putFile(manifestKey, file);
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
