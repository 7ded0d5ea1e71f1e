/**
 * The embedded `KeyStore`: a master key in a local file (0600) wraps each subject's data key with AES-256-GCM,
 * and the wrapped keys live in a SQLite table. `secure_delete` and a truncating WAL checkpoint make a destroyed
 * key's bytes leave the database files, not only its index.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import {
  checkSubjectId,
  newWrappedDataKey,
  rewrapDataKey,
  unwrapDataKey,
  type WrappedDataKey,
} from '../data-key-wrapping.ts';
import type { DataKey, KeyStore, MasterKeyRotation } from '../key-store.ts';
import {
  type MasterKey,
  MasterKeyFile,
  type MasterKeyMetaRow,
  masterCheck,
  masterKeyRecord,
  newMasterKey,
} from '../master-key-file.ts';

export interface LocalKeyStoreOptions {
  /** The master key file, e.g. `<data-dir>/secrets/master.key`; created (0600, folder 0700) when missing. */
  masterKeyFile: string;
  /** The SQLite file that holds the wrapped data keys, e.g. `<data-dir>/keys.db`. */
  databaseFile: string;
}

export async function openLocalKeyStore(options: LocalKeyStoreOptions): Promise<LocalKeyStore> {
  return new LocalKeyStore(options);
}

export class LocalKeyStore implements KeyStore {
  readonly #masterFile: MasterKeyFile;
  readonly #databaseFile: string;
  readonly #db: Database.Database;
  #master: MasterKey;

  constructor(options: LocalKeyStoreOptions) {
    this.#databaseFile = path.resolve(options.databaseFile);
    this.#masterFile = new MasterKeyFile(options.masterKeyFile, this.#databaseFile);
    fs.mkdirSync(path.dirname(this.#databaseFile), { recursive: true });
    if (!this.#masterFile.exists() && !this.#hasMeta()) this.#masterFile.create();
    this.#db = new Database(this.#databaseFile);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.pragma('busy_timeout = 5000');
    // Deleted content is overwritten with zeros, so a destroyed wrapped key does not linger in free space.
    this.#db.pragma('secure_delete = ON');
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS key_store_meta (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        master_version INTEGER NOT NULL,
        master_check BLOB NOT NULL
      );
      CREATE TABLE IF NOT EXISTS data_keys (
        subject_id TEXT PRIMARY KEY,
        key_id TEXT NOT NULL UNIQUE,
        master_version INTEGER NOT NULL,
        wrapped BLOB NOT NULL,
        created_at TEXT NOT NULL
      );
    `);
    try {
      this.#master = this.#openMaster();
    } catch (error) {
      this.#db.close();
      throw error;
    }
  }

  #openMaster(): MasterKey {
    return this.#db
      .transaction(() => {
        let meta = this.#meta();
        if (!meta) {
          const master = this.#masterFile.read();
          this.#db
            .prepare('INSERT INTO key_store_meta (id, master_version, master_check) VALUES (1, ?, ?)')
            .run(master.version, masterCheck(master));
          meta = this.#meta()!;
        }
        const master = this.#masterFile.loadCommitted(masterKeyRecord(meta));
        this.#masterFile.discardUncommitted(master.version);
        return master;
      })
      .immediate();
  }

  async dataKeyFor(subjectId: string): Promise<DataKey> {
    checkSubjectId(subjectId);
    return this.#db
      .transaction(() => {
        const master = this.#syncMaster();
        const existing = this.#row(subjectId);
        if (existing) return this.#unwrap(existing, master);
        const { row, dataKey } = newWrappedDataKey(master, subjectId);
        this.#db
          .prepare(
            'INSERT INTO data_keys (subject_id, key_id, master_version, wrapped, created_at) VALUES (?, ?, ?, ?, ?)',
          )
          .run(row.subject_id, row.key_id, row.master_version, row.wrapped, new Date().toISOString());
        return dataKey;
      })
      .immediate();
  }

  async existingDataKey(subjectId: string): Promise<DataKey | undefined> {
    checkSubjectId(subjectId);
    return this.#db.transaction(() => {
      const master = this.#syncMaster();
      const row = this.#row(subjectId);
      return row ? this.#unwrap(row, master) : undefined;
    })();
  }

  async destroy(subjectId: string): Promise<void> {
    checkSubjectId(subjectId);
    this.#db.prepare('DELETE FROM data_keys WHERE subject_id = ?').run(subjectId);
    // The WAL still holds the page as it was before the delete; copying it back and truncating removes it.
    this.#db.pragma('wal_checkpoint(TRUNCATE)');
  }

  async rotateMasterKey(): Promise<MasterKeyRotation> {
    const mismatch = this.#masterFile.mismatch.bind(this.#masterFile);
    const { current, next, rewrapped } = this.#db
      .transaction(() => {
        const current = this.#syncMaster();
        const next = newMasterKey(current.version + 1);
        // The new key is on disk before any data key depends on it; the old one stays the master key file
        // until the re-wrap commits, so a crash at any point leaves a master key that opens the database.
        this.#masterFile.writeNext(next);
        try {
          const rows = this.#db.prepare('SELECT * FROM data_keys').all() as WrappedDataKey[];
          const update = this.#db.prepare(
            'UPDATE data_keys SET wrapped = ?, master_version = ? WHERE subject_id = ?',
          );
          for (const row of rows) {
            const rewrapped = rewrapDataKey(current, next, row, mismatch);
            update.run(rewrapped.wrapped, rewrapped.master_version, row.subject_id);
          }
          this.#db
            .prepare('UPDATE key_store_meta SET master_version = ?, master_check = ? WHERE id = 1')
            .run(next.version, masterCheck(next));
          return { current, next, rewrapped: rows.length };
        } catch (error) {
          this.#masterFile.removeNext();
          throw error;
        }
      })
      .immediate();
    this.#masterFile.promoteNext(next.version);
    this.#master = next;
    current.key.fill(0);
    this.#db.pragma('wal_checkpoint(TRUNCATE)');
    return { masterKeyVersion: next.version, rewrapped };
  }

  async close(): Promise<void> {
    if (!this.#db.open) return;
    this.#db.pragma('wal_checkpoint(TRUNCATE)');
    this.#db.close();
    this.#master.key.fill(0);
  }

  #hasMeta(): boolean {
    if (!fs.existsSync(this.#databaseFile)) return false;
    const db = new Database(this.#databaseFile, { readonly: true });
    try {
      const table = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'key_store_meta'").get();
      return table !== undefined && db.prepare('SELECT 1 FROM key_store_meta').get() !== undefined;
    } finally {
      db.close();
    }
  }

  #meta(): MasterKeyMetaRow | undefined {
    return this.#db.prepare('SELECT master_version, master_check FROM key_store_meta WHERE id = 1').get() as
      | MasterKeyMetaRow
      | undefined;
  }

  #row(subjectId: string): WrappedDataKey | undefined {
    return this.#db.prepare('SELECT * FROM data_keys WHERE subject_id = ?').get(subjectId) as
      | WrappedDataKey
      | undefined;
  }

  /** The master key the database currently uses; another process may have rotated it since we loaded ours. */
  #syncMaster(): MasterKey {
    const meta = this.#meta();
    this.#master = this.#masterFile.synced(this.#master, meta);
    return this.#master;
  }

  #unwrap(row: WrappedDataKey, master: MasterKey): DataKey {
    return unwrapDataKey(master, row, this.#masterFile.mismatch.bind(this.#masterFile));
  }
}
