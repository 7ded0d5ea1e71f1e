/**
 * The embedded `KeyStore`: a master key in a local file (0600) wraps each subject's data key with AES-256-GCM,
 * and the wrapped keys live in a SQLite table. `secure_delete` and a truncating WAL checkpoint make a destroyed
 * key's bytes leave the database files, not only its index.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DeeprefError } from '../../../errors.ts';
import type { DataKey, KeyStore, MasterKeyRotation } from '../key-store.ts';

export interface LocalKeyStoreOptions {
  /** The master key file, e.g. `<data-dir>/secrets/master.key`; created (0600, folder 0700) when missing. */
  masterKeyFile: string;
  /** The SQLite file that holds the wrapped data keys, e.g. `<data-dir>/keys.db`. */
  databaseFile: string;
}

interface MasterKey {
  version: number;
  key: Buffer;
}

interface MetaRow {
  master_version: number;
  master_check: Buffer;
}

interface DataKeyRow {
  subject_id: string;
  key_id: string;
  master_version: number;
  wrapped: Buffer;
}

const masterKeyLine = /^deepref-master-key:v1:(\d+):([A-Za-z0-9_-]{43})$/;
const nonceBytes = 12;
const tagBytes = 16;

export async function openLocalKeyStore(options: LocalKeyStoreOptions): Promise<LocalKeyStore> {
  return new LocalKeyStore(options);
}

export class LocalKeyStore implements KeyStore {
  readonly #file: string;
  readonly #nextFile: string;
  readonly #databaseFile: string;
  readonly #db: Database.Database;
  #master: MasterKey;

  constructor(options: LocalKeyStoreOptions) {
    this.#file = path.resolve(options.masterKeyFile);
    this.#nextFile = `${this.#file}.next`;
    this.#databaseFile = path.resolve(options.databaseFile);
    fs.mkdirSync(path.dirname(this.#file), { recursive: true, mode: 0o700 });
    fs.mkdirSync(path.dirname(this.#databaseFile), { recursive: true });
    if (!fs.existsSync(this.#file) && !this.#hasMeta()) {
      createKeyFile(this.#file, { version: 1, key: randomBytes(32) });
    }
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
          const master = readKeyFile(this.#file);
          this.#db
            .prepare('INSERT INTO key_store_meta (id, master_version, master_check) VALUES (1, ?, ?)')
            .run(master.version, masterCheck(master));
          meta = this.#meta()!;
        }
        const master = this.#loadCommittedMaster(meta);
        // A `.next` file of another version is a rotation that never committed: its key wraps nothing.
        if (fs.existsSync(this.#nextFile) && peekVersion(this.#nextFile) !== master.version) {
          fs.rmSync(this.#nextFile, { force: true });
        }
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
        const keyId = randomBytes(8).toString('base64url');
        const raw = randomBytes(32);
        try {
          this.#db
            .prepare(
              'INSERT INTO data_keys (subject_id, key_id, master_version, wrapped, created_at) VALUES (?, ?, ?, ?, ?)',
            )
            .run(
              subjectId,
              keyId,
              master.version,
              wrap(master, subjectId, keyId, raw),
              new Date().toISOString(),
            );
          return { subjectId, keyId, key: createSecretKey(raw) };
        } finally {
          raw.fill(0);
        }
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
    const { current, next, rewrapped } = this.#db
      .transaction(() => {
        const current = this.#syncMaster();
        const next: MasterKey = { version: current.version + 1, key: randomBytes(32) };
        // The new key is on disk before any data key depends on it; the old one stays the master key file
        // until the re-wrap commits, so a crash at any point leaves a master key that opens the database.
        replaceKeyFile(this.#nextFile, next);
        try {
          const rows = this.#db.prepare('SELECT * FROM data_keys').all() as DataKeyRow[];
          const update = this.#db.prepare(
            'UPDATE data_keys SET wrapped = ?, master_version = ? WHERE subject_id = ?',
          );
          for (const row of rows) {
            const raw = unwrap(current, row, this.#mismatch.bind(this));
            update.run(wrap(next, row.subject_id, row.key_id, raw), next.version, row.subject_id);
            raw.fill(0);
          }
          this.#db
            .prepare('UPDATE key_store_meta SET master_version = ?, master_check = ? WHERE id = 1')
            .run(next.version, masterCheck(next));
          return { current, next, rewrapped: rows.length };
        } catch (error) {
          fs.rmSync(this.#nextFile, { force: true });
          throw error;
        }
      })
      .immediate();
    this.#promoteNextFile(next.version);
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

  #meta(): MetaRow | undefined {
    return this.#db.prepare('SELECT master_version, master_check FROM key_store_meta WHERE id = 1').get() as
      | MetaRow
      | undefined;
  }

  #row(subjectId: string): DataKeyRow | undefined {
    return this.#db.prepare('SELECT * FROM data_keys WHERE subject_id = ?').get(subjectId) as
      | DataKeyRow
      | undefined;
  }

  /** The master key the database currently uses; another process may have rotated it since we loaded ours. */
  #syncMaster(): MasterKey {
    const meta = this.#meta();
    if (!meta) throw this.#mismatch('the key_store_meta row is missing');
    if (meta.master_version === this.#master.version) return this.#master;
    const previous = this.#master;
    this.#master = this.#loadCommittedMaster(meta);
    previous.key.fill(0);
    return this.#master;
  }

  /** Reads the master key of the database's version: the key file, or a `.next` file whose rotation committed. */
  #loadCommittedMaster(meta: MetaRow): MasterKey {
    const current = readKeyFile(this.#file);
    if (current.version === meta.master_version) return this.#verified(current, meta);
    if (fs.existsSync(this.#nextFile)) {
      const next = readKeyFile(this.#nextFile);
      if (next.version === meta.master_version) {
        const verified = this.#verified(next, meta);
        this.#promoteNextFile(next.version);
        return verified;
      }
    }
    throw this.#mismatch(
      `the database uses master key version ${meta.master_version}, the file holds version ${current.version}`,
    );
  }

  #verified(master: MasterKey, meta: MetaRow): MasterKey {
    const check = masterCheck(master);
    if (check.length !== meta.master_check.length || !timingSafeEqual(check, meta.master_check)) {
      throw this.#mismatch(`master key version ${master.version} is not the key this database was made with`);
    }
    return master;
  }

  /** Completes a committed rotation: the new key replaces the old one in the key file. */
  #promoteNextFile(version: number): void {
    try {
      fs.renameSync(this.#nextFile, this.#file);
    } catch (error) {
      // Another process that noticed the commit first has promoted it already.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || readKeyFile(this.#file).version !== version) {
        throw error;
      }
    }
    fsyncFolder(path.dirname(this.#file));
  }

  #unwrap(row: DataKeyRow, master: MasterKey): DataKey {
    const raw = unwrap(master, row, this.#mismatch.bind(this));
    try {
      return { subjectId: row.subject_id, keyId: row.key_id, key: createSecretKey(raw) };
    } finally {
      raw.fill(0);
    }
  }

  #mismatch(detail: string): DeeprefError {
    return new DeeprefError('DEEPREF_MASTER_KEY_MISMATCH', {
      file: this.#file,
      database: this.#databaseFile,
      detail,
    });
  }
}

function checkSubjectId(subjectId: string): void {
  if (typeof subjectId !== 'string' || subjectId.length === 0) {
    throw new TypeError('A subject id must be a non-empty string.');
  }
}

/** Binds a wrapped key to its subject and key id, so a row copied onto another subject does not unwrap. */
function wrapAad(subjectId: string, keyId: string): Buffer {
  return Buffer.from(JSON.stringify(['deepref-data-key:v1', subjectId, keyId]));
}

function wrap(master: MasterKey, subjectId: string, keyId: string, raw: Buffer): Buffer {
  const nonce = randomBytes(nonceBytes);
  const cipher = createCipheriv('aes-256-gcm', master.key, nonce);
  cipher.setAAD(wrapAad(subjectId, keyId));
  const body = Buffer.concat([cipher.update(raw), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

function unwrap(master: MasterKey, row: DataKeyRow, mismatch: (detail: string) => DeeprefError): Buffer {
  if (row.master_version !== master.version) {
    throw mismatch(
      `a data key is wrapped under master key version ${row.master_version}, not ${master.version}`,
    );
  }
  const nonce = row.wrapped.subarray(0, nonceBytes);
  const tag = row.wrapped.subarray(row.wrapped.length - tagBytes);
  const body = row.wrapped.subarray(nonceBytes, row.wrapped.length - tagBytes);
  try {
    const decipher = createDecipheriv('aes-256-gcm', master.key, nonce);
    decipher.setAAD(wrapAad(row.subject_id, row.key_id));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch (error) {
    throw mismatch(`the wrapped data key ${row.key_id} does not authenticate (${(error as Error).message})`);
  }
}

function masterCheck(master: MasterKey): Buffer {
  return createHmac('sha256', master.key).update('deepref-master-key-check:v1').digest();
}

function formatKeyFile(master: MasterKey): string {
  return `deepref-master-key:v1:${master.version}:${master.key.toString('base64url')}\n`;
}

function readKeyFile(file: string): MasterKey {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new DeeprefError('DEEPREF_MASTER_KEY_DAMAGED', { file, detail: 'the file is missing' });
  }
  const mode = stat.mode & 0o777;
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new DeeprefError('DEEPREF_MASTER_KEY_INSECURE', { file, mode: `0${mode.toString(8)}` });
  }
  const match = masterKeyLine.exec(fs.readFileSync(file, 'utf8').trim());
  const version = Number(match?.[1]);
  const key = Buffer.from(match?.[2] ?? '', 'base64url');
  if (!match || !Number.isSafeInteger(version) || version < 1 || key.length !== 32) {
    throw new DeeprefError('DEEPREF_MASTER_KEY_DAMAGED', {
      file,
      detail: 'expected one line `deepref-master-key:v1:<version>:<32 bytes as base64url>`',
    });
  }
  return { version, key };
}

function peekVersion(file: string): number | undefined {
  try {
    return readKeyFile(file).version;
  } catch {
    return undefined;
  }
}

function writeTemporaryKeyFile(file: string, master: MasterKey): string {
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = fs.openSync(temporary, 'wx', 0o600);
  try {
    fs.writeSync(fd, formatKeyFile(master));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return temporary;
}

/** Creates the key file complete or not at all; when another process wins the race, its key is kept. */
function createKeyFile(file: string, master: MasterKey): void {
  const temporary = writeTemporaryKeyFile(file, master);
  try {
    fs.linkSync(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    fs.rmSync(temporary, { force: true });
  }
  fsyncFolder(path.dirname(file));
}

function replaceKeyFile(file: string, master: MasterKey): void {
  fs.renameSync(writeTemporaryKeyFile(file, master), file);
  fsyncFolder(path.dirname(file));
}

function fsyncFolder(folder: string): void {
  if (process.platform === 'win32') return;
  const fd = fs.openSync(folder, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
