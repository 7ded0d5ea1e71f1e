/**
 * Retention in the Parquet lake. Event files live in daily partitions; once a whole day is past a class's cutoff,
 * that class's rows leave the day's files: a file left with rows of other classes is rewritten without them
 * (put atomically over itself), a file left empty is deleted. Result days (`stream_results/window_date=…`) go
 * whole. Counting reads go through DuckDB, like every other read of the lake.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import {
  type EventDataClass,
  eventClassPredicate,
  eventDataClasses,
} from '../privacy/retention/retention-policy.ts';
import type { LakeStore } from './lake-store.ts';
import type { LakeFile } from './lake-writer.ts';

const DAY_MS = 86_400_000;

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** The UTC day a partition folder such as `event_date=2026-11-27` stands for, as ms; undefined if it is not one. */
function partitionDay(partition: string, column: string): number | undefined {
  const match = new RegExp(`^${column}=(\\d{4}-\\d{2}-\\d{2})$`).exec(partition);
  return match ? Date.parse(`${match[1]}T00:00:00Z`) : undefined;
}

export async function expireLakeEvents(
  connection: DuckDBConnection,
  lake: LakeStore,
  stagingDir: string,
  files: readonly LakeFile[],
  cutoffs: Record<EventDataClass, Date>,
  dryRun: boolean,
): Promise<Record<EventDataClass, number>> {
  const removed = Object.fromEntries(eventDataClasses.map((c) => [c, 0])) as Record<EventDataClass, number>;
  for (const file of files) {
    const day = partitionDay(file.partition, 'event_date');
    if (day === undefined) continue;
    const expired = eventDataClasses.filter((c) => day + DAY_MS <= cutoffs[c].getTime());
    if (expired.length === 0) continue;
    const source = sqlString(await lake.localPath(file.key));
    const counts = await connection.runAndReadAll(
      `SELECT ${expired.map((c) => `count(*) FILTER (WHERE ${eventClassPredicate(c)})`).join(', ')}, count(*)
       FROM read_parquet(${source}, hive_partitioning = false)`,
    );
    const values = (counts.getRows()[0] ?? []).map(Number);
    const total = values.at(-1) ?? 0;
    let matching = 0;
    expired.forEach((c, i) => {
      removed[c] += values[i] ?? 0;
      matching += values[i] ?? 0;
    });
    if (dryRun || matching === 0) continue;
    if (matching === total) {
      await lake.delete(file.key);
      continue;
    }
    const output = path.join(stagingDir, `expire-${path.basename(file.key)}`);
    try {
      await connection.run(
        `COPY (SELECT * FROM read_parquet(${source}, hive_partitioning = false)
               WHERE NOT (${expired.map(eventClassPredicate).join(' OR ')}))
         TO ${sqlString(output)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      await lake.putFile(file.key, output);
    } finally {
      await fs.rm(output, { force: true });
    }
  }
  return removed;
}

/** Deletes result days (`<prefix>window_date=D/…`) wholly before `before`; returns how many days. */
export async function expireLakeResultDays(
  lake: LakeStore,
  prefix: string,
  before: Date,
  dryRun: boolean,
): Promise<number> {
  const days = new Map<string, string[]>();
  for (const object of await lake.list(prefix)) {
    const partition = object.key.slice(prefix.length).split('/')[0] ?? '';
    const day = partitionDay(partition, 'window_date');
    if (day === undefined || day + DAY_MS > before.getTime()) continue;
    days.set(partition, [...(days.get(partition) ?? []), object.key]);
  }
  if (!dryRun) for (const keys of days.values()) for (const key of keys) await lake.delete(key);
  return days.size;
}
