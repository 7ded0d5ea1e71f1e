/**
 * A subject's rows in the Parquet lake, found and erased for privacy requests. Parquet files are immutable, so an
 * erasure rewrites each file that holds any of the subject's rows without them (same key, put atomically over
 * the old file, whose blocks the file system then frees) and deletes a file left with no rows. Reads go through
 * DuckDB, never a byte scan: compressed pages hide their text from one.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { LakeStore } from './lake-store.ts';
import type { LakeFile } from './lake-writer.ts';

export interface LakeSubjectRows {
  /** The subject's rows as JSON objects, with the key of the file each came from. */
  rows: (Record<string, unknown> & { lake_file: string })[];
  /** Files that hold at least one of the subject's rows. */
  files: string[];
}

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

function subjectFilter(ids: readonly string[]): string {
  const list = ids.map(sqlString).join(', ');
  // coalesce: a NULL id must count as "not the subject", or `NOT filter` would drop its row too.
  return `(coalesce(user_id IN (${list}), false) OR coalesce(anonymous_id IN (${list}), false))`;
}

export async function findSubjectInLake(
  connection: DuckDBConnection,
  lake: LakeStore,
  files: readonly LakeFile[],
  ids: readonly string[],
): Promise<LakeSubjectRows> {
  const result: LakeSubjectRows = { rows: [], files: [] };
  if (ids.length === 0) return result;
  for (const file of files) {
    const source = sqlString(await lake.localPath(file.key));
    const reader = await connection.runAndReadAll(
      `SELECT * FROM read_parquet(${source}, hive_partitioning = false) WHERE ${subjectFilter(ids)} ORDER BY log_offset`,
    );
    const rows = reader.getRowObjectsJson();
    if (rows.length === 0) continue;
    result.files.push(file.key);
    for (const row of rows) result.rows.push({ ...row, lake_file: file.key });
  }
  return result;
}

/** Rewrites the files holding the subject's rows without them; returns the rows removed and the files touched. */
export async function eraseSubjectFromLake(
  connection: DuckDBConnection,
  lake: LakeStore,
  stagingDir: string,
  files: readonly LakeFile[],
  ids: readonly string[],
): Promise<{ rows: number; rewritten: string[]; deleted: string[] }> {
  const outcome = { rows: 0, rewritten: [] as string[], deleted: [] as string[] };
  if (ids.length === 0) return outcome;
  for (const file of files) {
    const source = sqlString(await lake.localPath(file.key));
    const counts = await connection.runAndReadAll(
      `SELECT count(*) FILTER (WHERE ${subjectFilter(ids)}), count(*) FROM read_parquet(${source}, hive_partitioning = false)`,
    );
    const [matching, total] = (counts.getRows()[0] ?? [0, 0]).map(Number) as [number, number];
    if (matching === 0) continue;
    outcome.rows += matching;
    if (matching === total) {
      await lake.delete(file.key);
      outcome.deleted.push(file.key);
      continue;
    }
    const output = path.join(stagingDir, `erase-${path.basename(file.key)}`);
    try {
      await connection.run(
        `COPY (SELECT * FROM read_parquet(${source}, hive_partitioning = false) WHERE NOT ${subjectFilter(ids)})
         TO ${sqlString(output)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      await lake.putFile(file.key, output);
    } finally {
      await fs.rm(output, { force: true });
    }
    outcome.rewritten.push(file.key);
  }
  return outcome;
}
