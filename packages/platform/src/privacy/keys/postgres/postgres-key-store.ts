/**
 * The scale-out `KeyStore`: the wrapped data keys in a PostgreSQL schema of their own, so that every ingest
 * process and the process that erases share one key per subject, and an erasure destroys it for all of them.
 *
 * The master key stays in the same file as for the local store (`<data-dir>/secrets/master.key`, 0600), not in
 * PostgreSQL: a dump, a replica or a base backup of the database then holds only wrapped keys that open nothing
 * without the file. The platform has no secret mechanism other than files under `secrets/` (secrets.ts), so the
 * processes that share a key store share that file (the same `secrets/` folder, or a copy of it on each machine).
 * The first process to open an empty store records the file's version and HMAC check; a process whose file is
 * another key is refused (`DEEPREF_MASTER_KEY_MISMATCH`), and so is one without the file once the store holds keys.
 */
import pg from 'pg';
import { DeeprefError } from '../../../errors.ts';
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
  type MasterKeyRecord,
  masterCheck,
  masterKeyRecord,
  newMasterKey,
} from '../master-key-file.ts';

export interface PostgresKeyStoreOptions {
  /** e.g. postgres://user@host:5432/db */
  connectionString: string;
  /** The schema holding the key tables (default `deepref_keys`); created when missing. */
  schema?: string;
  /** The master key file, e.g. `<data-dir>/secrets/master.key`; created when missing and the store is empty. */
  masterKeyFile: string;
  /** Connections in the pool (default 4: a lookup is one short query). */
  maxConnections?: number;
}

/** A plain lower-case identifier: it goes into the connection's startup options unquoted. */
const schemaPattern = /^[a-z_][a-z0-9_]{0,62}$/;

export async function openPostgresKeyStore(options: PostgresKeyStoreOptions): Promise<PostgresKeyStore> {
  const schema = options.schema ?? 'deepref_keys';
  if (!schemaPattern.test(schema)) {
    throw new Error(
      `The key store schema "${schema}" is not a plain lower-case identifier (letters, digits, _; at most 63)`,
    );
  }
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 4,
    options: `-c search_path=${schema}`,
  });
  // An idle connection that the server drops is replaced on next use; without a listener it would crash the process.
  pool.on('error', () => undefined);
  const masterFile = new MasterKeyFile(options.masterKeyFile, `PostgreSQL schema ${schema}`);
  try {
    const master = await inTransaction(pool, async (client) => {
      // One opener at a time creates the tables and records the master key; the others find the work done.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lockName(schema)]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await client.query(`
        CREATE TABLE IF NOT EXISTS key_store_meta (
          id integer PRIMARY KEY CHECK (id = 1),
          master_version integer NOT NULL,
          master_check bytea NOT NULL
        );
        CREATE TABLE IF NOT EXISTS data_keys (
          subject_id text PRIMARY KEY,
          key_id text NOT NULL UNIQUE,
          master_version integer NOT NULL,
          wrapped bytea NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now()
        );
      `);
      let meta = await readMeta(client);
      if (!meta) {
        if (!masterFile.exists()) masterFile.create();
        const first = masterFile.read();
        await client.query(
          'INSERT INTO key_store_meta (id, master_version, master_check) VALUES (1, $1, $2)',
          [first.version, masterCheck(first)],
        );
        meta = { master_version: first.version, master_check: masterCheck(first) };
      }
      const committed = masterFile.loadCommitted(masterKeyRecord(meta));
      masterFile.discardUncommitted(committed.version);
      return committed;
    });
    return new PostgresKeyStore(pool, lockName(schema), masterFile, master);
  } catch (error) {
    await pool.end();
    throw error;
  }
}

export class PostgresKeyStore implements KeyStore {
  readonly #pool: pg.Pool;
  /** The advisory lock that inserts share and a rotation (or an opener) takes alone. */
  readonly #lock: string;
  readonly #masterFile: MasterKeyFile;
  #master: MasterKey;
  #closed = false;

  constructor(pool: pg.Pool, lock: string, masterFile: MasterKeyFile, master: MasterKey) {
    this.#pool = pool;
    this.#lock = lock;
    this.#masterFile = masterFile;
    this.#master = master;
  }

  /**
   * Concurrent callers in any process get the same key: each inserts its candidate with ON CONFLICT DO NOTHING
   * and then everyone reads the row that won. The insert holds the store's advisory lock shared (in memory: no
   * row is written for it), so a rotation, which takes it alone, never misses a key wrapped under the old version.
   */
  async dataKeyFor(subjectId: string): Promise<DataKey> {
    checkSubjectId(subjectId);
    for (;;) {
      const existing = await this.existingDataKey(subjectId);
      if (existing) return existing;
      const created = await inTransaction(this.#pool, async (client) => {
        await client.query('SELECT pg_advisory_xact_lock_shared(hashtext($1))', [this.#lock]);
        const meta = await readMeta(client);
        const master = this.#syncMaster(meta);
        const { row, dataKey } = newWrappedDataKey(master, subjectId);
        const inserted = await client.query(
          `INSERT INTO data_keys (subject_id, key_id, master_version, wrapped) VALUES ($1, $2, $3, $4)
           ON CONFLICT (subject_id) DO NOTHING`,
          [row.subject_id, row.key_id, row.master_version, row.wrapped],
        );
        return inserted.rowCount === 1 ? dataKey : undefined;
      });
      // Undefined: another caller's key won the race (read it on the next turn), unless it was destroyed since.
      if (created) return created;
    }
  }

  async existingDataKey(subjectId: string): Promise<DataKey | undefined> {
    checkSubjectId(subjectId);
    for (;;) {
      const { rows } = await this.#pool.query<WrappedDataKey & { current_version: number }>(
        `SELECT d.subject_id, d.key_id, d.master_version, d.wrapped, m.master_version AS current_version
           FROM key_store_meta m LEFT JOIN data_keys d ON d.subject_id = $1
          WHERE m.id = 1`,
        [subjectId],
      );
      const row = rows[0];
      if (!row) throw this.#masterFile.mismatch('the key_store_meta row is missing');
      if (row.subject_id === null) return undefined;
      if (row.master_version === this.#master.version || row.current_version === this.#master.version) {
        // Either ours, or a row that does not match the store's own record: unwrapping says which.
        return this.#unwrap(row);
      }
      // Another process rotated the master key since we loaded ours: load the new one and read again.
      this.#syncMaster(await readMeta(this.#pool));
    }
  }

  /**
   * Deletes the row, then rewrites the table (VACUUM FULL): a DELETE only marks the row version dead, and its
   * bytes would stay in the table's pages until overwritten. VACUUM FULL writes the live rows and the indexes to
   * new files and removes the old ones; meanwhile it holds the table's ACCESS EXCLUSIVE lock, so every process's
   * key lookups wait for it (the table is small: about 150 bytes per subject). What PostgreSQL keeps beyond the
   * table is the write-ahead log (and its archives) and base backups: they hold the wrapped key only, which
   * nothing opens once the master key is rotated (docs/privacy.md, "PostgreSQL and JetStream").
   */
  async destroy(subjectId: string): Promise<void> {
    checkSubjectId(subjectId);
    await this.#pool.query('DELETE FROM data_keys WHERE subject_id = $1', [subjectId]);
    await this.#pool.query('VACUUM (FULL) data_keys');
  }

  /**
   * One transaction re-wraps every row and records the new version, holding the store's advisory lock alone so
   * that no key is inserted under the old version meanwhile. The new key file is on disk before; it replaces
   * the old one only after the commit (a crash in between is finished on the next open, as for the local store).
   * Other machines keep their old copy of the file: they need the new one before they can read keys again.
   */
  async rotateMasterKey(): Promise<MasterKeyRotation> {
    const mismatch = this.#masterFile.mismatch.bind(this.#masterFile);
    const { current, next, rewrapped } = await inTransaction(this.#pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [this.#lock]);
      const meta = await readMeta(client);
      const current = this.#syncMaster(meta);
      const next = newMasterKey(current.version + 1);
      this.#masterFile.writeNext(next);
      try {
        const { rows } = await client.query<WrappedDataKey>(
          'SELECT subject_id, key_id, master_version, wrapped FROM data_keys',
        );
        const rewrapped = rows.map((row) => rewrapDataKey(current, next, row, mismatch));
        await client.query(
          `UPDATE data_keys d SET wrapped = r.wrapped, master_version = $3
             FROM unnest($1::text[], $2::bytea[]) AS r(subject_id, wrapped)
            WHERE d.subject_id = r.subject_id`,
          [rewrapped.map((row) => row.subject_id), rewrapped.map((row) => row.wrapped), next.version],
        );
        await client.query('UPDATE key_store_meta SET master_version = $1, master_check = $2 WHERE id = 1', [
          next.version,
          masterCheck(next),
        ]);
        return { current, next, rewrapped: rows.length };
      } catch (error) {
        // Failed before COMMIT was sent, so nothing is wrapped under the new key. A failed COMMIT is not caught
        // here: it may have committed, and the next open (or sync) keeps or discards `.next` by the store's record.
        this.#masterFile.removeNext();
        throw error;
      }
    });
    this.#masterFile.promoteNext(next.version);
    this.#master = next;
    current.key.fill(0);
    // The rows as wrapped under the old key leave the table's files too, like a destroyed key's.
    await this.#pool.query('VACUUM (FULL) data_keys');
    return { masterKeyVersion: next.version, rewrapped };
  }

  /**
   * Takes in data keys wrapped elsewhere under the same master key (`master` is their store's record of it, `source`
   * names it), as they are: a subject already here must have the same key id, else nothing is taken. Returns how
   * many were new.
   */
  async adopt(source: string, master: MasterKeyRecord, rows: readonly WrappedDataKey[]): Promise<number> {
    return inTransaction(this.#pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [this.#lock]);
      const meta = await readMeta(client);
      if (!meta || meta.master_version !== master.version || !meta.master_check.equals(master.check)) {
        throw new DeeprefError('DEEPREF_LOCAL_KEYS_NOT_MOVED', {
          file: source,
          store: this.#masterFile.store,
          detail: 'they are wrapped under another master key, or another version of it',
        });
      }
      const { rows: taken } = await client.query<{ subject_id: string }>(
        `INSERT INTO data_keys (subject_id, key_id, master_version, wrapped)
         SELECT * FROM unnest($1::text[], $2::text[], $3::integer[], $4::bytea[])
         ON CONFLICT (subject_id) DO NOTHING RETURNING subject_id`,
        [
          rows.map((row) => row.subject_id),
          rows.map((row) => row.key_id),
          rows.map((row) => row.master_version),
          rows.map((row) => row.wrapped),
        ],
      );
      const { rows: clashes } = await client.query<{ subject_id: string }>(
        `SELECT d.subject_id FROM data_keys d
           JOIN unnest($1::text[], $2::text[]) AS l(subject_id, key_id) ON l.subject_id = d.subject_id
          WHERE d.key_id <> l.key_id LIMIT 1`,
        [rows.map((row) => row.subject_id), rows.map((row) => row.key_id)],
      );
      if (clashes.length > 0) {
        throw new DeeprefError('DEEPREF_LOCAL_KEYS_NOT_MOVED', {
          file: source,
          store: this.#masterFile.store,
          detail: `subject ${clashes[0]!.subject_id} already has another data key there`,
        });
      }
      return taken.length;
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
    this.#master.key.fill(0);
  }

  /** The master key of the store's record, loaded from the file when another process has rotated it. */
  #syncMaster(meta: MasterKeyMetaRow | undefined): MasterKey {
    this.#master = this.#masterFile.synced(this.#master, meta);
    return this.#master;
  }

  #unwrap(row: WrappedDataKey): DataKey {
    return unwrapDataKey(this.#master, row, this.#masterFile.mismatch.bind(this.#masterFile));
  }
}

async function readMeta(client: pg.Pool | pg.PoolClient): Promise<MasterKeyMetaRow | undefined> {
  const { rows } = await client.query<MasterKeyMetaRow>(
    'SELECT master_version, master_check FROM key_store_meta WHERE id = 1',
  );
  return rows[0];
}

/** Advisory locks are per database: the schema's name keeps two key stores' locks apart. */
function lockName(schema: string): string {
  return `deepref.keys.${schema}`;
}

/** Runs `work` in a transaction on one connection: committed when it resolves (unless it committed), else rolled back. */
async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
