/**
 * Test support for erasure proofs: what a data folder (live, or a backup copy) holds, seen two ways. `fileBytes`
 * reads every file as raw bytes (a byte scan); `engineRecords` reads every store through its own engine (SQLite
 * tables, DuckDB tables, Parquet through DuckDB, zips unzipped), because compressed pages and blocks hide their
 * text from a byte scan. Each record keeps where it came from. `jetStreamStoreFiles` finds a stream's files in
 * a local NATS server's store folder, for a byte scan of the scale-out event log.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import Database from 'better-sqlite3';
import { unzipSync } from 'fflate';

export interface ScannedRecord {
  /** `<file> <table>` */
  where: string;
  text: string;
}

function allFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .map((entry) => path.join(dir, entry))
    .filter((file) => fs.statSync(file, { throwIfNoEntry: false })?.isFile());
}

/** Every file under `dir` with its bytes (the control socket is skipped: it is not a file). */
export function fileBytes(dir: string): { file: string; bytes: Buffer }[] {
  return allFiles(dir)
    .filter((file) => !file.endsWith('.sock'))
    .map((file) => ({ file, bytes: fs.readFileSync(file) }));
}

/** A local NATS server's JetStream store folder (`DEEPREF_NATS_STORE_DIR`, default the Debian package's). */
export const natsStoreDir = process.env.DEEPREF_NATS_STORE_DIR || '/var/lib/nats-server/jetstream';

/**
 * The files of every stream whose name starts with `stream` (its dead letters and buckets too) in the local NATS
 * store folder; undefined when the folder is not on this machine.
 */
export function jetStreamStoreFiles(stream: string): string[] | undefined {
  if (!fs.existsSync(natsStoreDir)) return undefined;
  return (fs.readdirSync(natsStoreDir, { recursive: true }) as string[])
    .map((entry) => path.join(natsStoreDir, entry))
    .filter((dir) => path.basename(dir).replace(/^KV_/, '').startsWith(stream))
    .filter((dir) => fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory())
    .flatMap(allFiles);
}

function isSqlite(file: string): boolean {
  const head = Buffer.alloc(16);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, 16, 0);
  } finally {
    fs.closeSync(fd);
  }
  return head.toString('latin1') === 'SQLite format 3\u0000';
}

function sqliteRecords(file: string): ScannedRecord[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
      .pluck()
      .all() as string[];
    return tables.flatMap((table) =>
      db
        .prepare(`SELECT * FROM "${table.replaceAll('"', '""')}"`)
        .all()
        .map((row) => ({ where: `${file} ${table}`, text: JSON.stringify(row, bufferAsText) })),
    );
  } finally {
    db.close();
  }
}

function bufferAsText(_key: string, value: unknown): unknown {
  return value && typeof value === 'object' && (value as { type?: string }).type === 'Buffer'
    ? Buffer.from((value as { data: number[] }).data).toString('latin1')
    : value;
}

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

async function duckdbRecords(duckdbFiles: string[], parquetFiles: string[]): Promise<ScannedRecord[]> {
  const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false' });
  const connection = await instance.connect();
  const records: ScannedRecord[] = [];
  try {
    for (const [i, file] of duckdbFiles.entries()) {
      await connection.run(`ATTACH ${sqlString(file)} AS db${i} (READ_ONLY)`);
      const tables = (
        await connection.runAndReadAll(
          `SELECT table_name FROM duckdb_tables() WHERE database_name = 'db${i}'`,
        )
      ).getRows();
      for (const [table] of tables) {
        const rows = (await connection.runAndReadAll(`SELECT * FROM db${i}."${table}"`)).getRowObjectsJson();
        for (const row of rows) records.push({ where: `${file} ${table}`, text: JSON.stringify(row) });
      }
      await connection.run(`DETACH db${i}`);
    }
    for (const file of parquetFiles) {
      const rows = (
        await connection.runAndReadAll(
          `SELECT * FROM read_parquet(${sqlString(file)}, hive_partitioning = false)`,
        )
      ).getRowObjectsJson();
      for (const row of rows) records.push({ where: file, text: JSON.stringify(row) });
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return records;
}

/**
 * Every record of every store under `dir`, read through its engine; zips are opened and their files read too.
 * `exclude` leaves files out (a DuckDB file a running platform holds locked: read it through the platform).
 */
export async function engineRecords(dir: string, exclude: readonly string[] = []): Promise<ScannedRecord[]> {
  const files = allFiles(dir).filter((file) => !file.endsWith('.sock') && !exclude.includes(file));
  const records: ScannedRecord[] = [];
  const duckdb: string[] = [];
  const parquet: string[] = [];
  const unzipped = fs.mkdtempSync(path.join(path.dirname(dir), 'scan-'));
  try {
    for (const file of files) {
      if (file.endsWith('.duckdb')) duckdb.push(file);
      else if (file.endsWith('.parquet')) parquet.push(file);
      else if (file.endsWith('.zip')) {
        for (const [name, bytes] of Object.entries(unzipSync(new Uint8Array(fs.readFileSync(file))))) {
          if (name.endsWith('.parquet')) {
            const copy = path.join(unzipped, `${path.basename(file)}-${name}`);
            fs.writeFileSync(copy, bytes);
            parquet.push(copy);
          } else records.push({ where: `${file}!${name}`, text: Buffer.from(bytes).toString('utf8') });
        }
      } else if (/\.db$/.test(file) && isSqlite(file)) records.push(...sqliteRecords(file));
      else if (file.endsWith('.json')) records.push({ where: file, text: fs.readFileSync(file, 'utf8') });
    }
    records.push(...(await duckdbRecords(duckdb, parquet)));
  } finally {
    fs.rmSync(unzipped, { recursive: true, force: true });
  }
  return records;
}
