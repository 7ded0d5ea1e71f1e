/**
 * Moves the data keys of the data directory's local key store (`keys/keys.db`) into the PostgreSQL one, for a
 * process that kept its keys locally and now shares them (`adapters.keys` following `adapters.meta: postgres`).
 * Without this, every value it encrypted before would stop decrypting. The keys move wrapped, as they are, which
 * needs both stores to record the same master key: true where this process's master key file made the shared store
 * (or the file was shared before either store held keys). Then the local files are deleted, so that a key destroyed
 * in the shared store has no second copy here; a crash between the commit and the delete only moves them again.
 */
import fs from 'node:fs';
import Database from 'better-sqlite3';
import type { WrappedDataKey } from '../data-key-wrapping.ts';
import type { PostgresKeyStore } from './postgres-key-store.ts';

/** How many keys moved (0 for a local store without keys); undefined when there is no local store. */
export async function adoptLocalKeys(
  store: PostgresKeyStore,
  databaseFile: string,
): Promise<number | undefined> {
  if (!fs.existsSync(databaseFile)) return undefined;
  // Opened for writing so that SQLite reads its WAL too; closing it checkpoints.
  const db = new Database(databaseFile, { fileMustExist: true });
  let moved = 0;
  try {
    const hasKeys = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'data_keys'").get() !== undefined;
    const rows = hasKeys
      ? (db
          .prepare('SELECT subject_id, key_id, master_version, wrapped FROM data_keys')
          .all() as WrappedDataKey[])
      : [];
    if (rows.length > 0) {
      const meta = db
        .prepare('SELECT master_version, master_check FROM key_store_meta WHERE id = 1')
        .get() as {
        master_version: number;
        master_check: Buffer;
      };
      moved = await store.adopt(
        databaseFile,
        { version: meta.master_version, check: meta.master_check },
        rows,
      );
    }
  } finally {
    db.close();
  }
  for (const suffix of ['', '-wal', '-shm', '-journal']) fs.rmSync(databaseFile + suffix, { force: true });
  return moved;
}
