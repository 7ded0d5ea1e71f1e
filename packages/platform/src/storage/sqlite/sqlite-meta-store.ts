/** The embedded `MetaStore`: Kysely over a SQLite file in WAL mode, shared safely by the server and the CLI. */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { type MetaDatabase, type MetaStore, migrateMetaStore } from '../meta-store.ts';

export async function openSqliteMetaStore(file: string): Promise<MetaStore> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const database = new Database(file);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('busy_timeout = 5000');
  const db = new Kysely<MetaDatabase>({ dialect: new SqliteDialect({ database }) });
  await migrateMetaStore(db);
  return db;
}
