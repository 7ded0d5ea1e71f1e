/**
 * The master key file every `KeyStore` adapter wraps data keys under: one line
 * `deepref-master-key:v1:<version>:<32 bytes base64url>`, mode 0600 in a 0700 folder. A store records the version
 * and an HMAC check of the key beside its wrapped keys (never the key), and this module finds the file's key that
 * matches that record, including a rotation that committed in the store before its new key replaced the file.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DeeprefError } from '../../errors.ts';

export interface MasterKey {
  version: number;
  key: Buffer;
}

/** What a store keeps of its master key: the version and `masterCheck` of it. */
export interface MasterKeyRecord {
  version: number;
  check: Buffer;
}

/** A key store's `key_store_meta` row: the master key version its data keys are wrapped under, and its check. */
export interface MasterKeyMetaRow {
  master_version: number;
  master_check: Buffer;
}

export function masterKeyRecord(meta: MasterKeyMetaRow): MasterKeyRecord {
  return { version: meta.master_version, check: meta.master_check };
}

const masterKeyLine = /^deepref-master-key:v1:(\d+):([A-Za-z0-9_-]{43})$/;

/** A fresh random master key of the given version. */
export function newMasterKey(version: number): MasterKey {
  return { version, key: randomBytes(32) };
}

/** Identifies a master key without revealing it, so a store can tell a wrong key file at start. */
export function masterCheck(master: MasterKey): Buffer {
  return createHmac('sha256', master.key).update('deepref-master-key-check:v1').digest();
}

export class MasterKeyFile {
  readonly file: string;
  /** A rotation's new key, written before the store re-wraps under it; it replaces `file` once that commits. */
  readonly nextFile: string;
  /** Where the wrapped keys live (a file, a PostgreSQL schema), for error messages. */
  readonly store: string;

  constructor(file: string, store: string) {
    this.file = path.resolve(file);
    this.nextFile = `${this.file}.next`;
    this.store = store;
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
  }

  exists(): boolean {
    return fs.existsSync(this.file);
  }

  /** Creates the file with a new version-1 key, complete or not at all; when another process wins, its key stays. */
  create(): void {
    const temporary = writeTemporaryKeyFile(this.file, newMasterKey(1));
    try {
      fs.linkSync(temporary, this.file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      fs.rmSync(temporary, { force: true });
    }
    fsyncFolder(path.dirname(this.file));
  }

  read(): MasterKey {
    return readKeyFile(this.file);
  }

  /** The master key of the store's record: the key file, or a `.next` file whose rotation committed (promoted). */
  /**
   * The master key a store's meta row names: `current` while it still does, else the committed key loaded from the
   * file (another process rotated it), with `current`'s bytes cleared.
   */
  synced(current: MasterKey, meta: MasterKeyMetaRow | undefined): MasterKey {
    if (!meta) throw this.mismatch('the key_store_meta row is missing');
    if (meta.master_version === current.version) return current;
    const committed = this.loadCommitted(masterKeyRecord(meta));
    current.key.fill(0);
    return committed;
  }

  loadCommitted(record: MasterKeyRecord): MasterKey {
    const current = readKeyFile(this.file);
    if (current.version === record.version) return this.#verified(current, record);
    if (fs.existsSync(this.nextFile)) {
      const next = readKeyFile(this.nextFile);
      if (next.version === record.version) {
        const verified = this.#verified(next, record);
        this.promoteNext(next.version);
        return verified;
      }
    }
    throw this.mismatch(
      `the store uses master key version ${record.version}, the file holds version ${current.version}`,
    );
  }

  /** Removes a `.next` file of a version other than `version`: a rotation that never committed wraps nothing. */
  discardUncommitted(version: number): void {
    if (fs.existsSync(this.nextFile) && peekVersion(this.nextFile) !== version) {
      fs.rmSync(this.nextFile, { force: true });
    }
  }

  /** Puts a rotation's new key on disk (fsynced) before any data key depends on it. */
  writeNext(next: MasterKey): void {
    fs.renameSync(writeTemporaryKeyFile(this.nextFile, next), this.nextFile);
    fsyncFolder(path.dirname(this.nextFile));
  }

  /** Drops the new key of a rotation that failed before it committed. */
  removeNext(): void {
    fs.rmSync(this.nextFile, { force: true });
  }

  /** Completes a committed rotation: the new key replaces the old one in the key file. */
  promoteNext(version: number): void {
    try {
      fs.renameSync(this.nextFile, this.file);
    } catch (error) {
      // Another process that noticed the commit first has promoted it already.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || readKeyFile(this.file).version !== version) {
        throw error;
      }
    }
    fsyncFolder(path.dirname(this.file));
  }

  mismatch(detail: string): DeeprefError {
    return new DeeprefError('DEEPREF_MASTER_KEY_MISMATCH', {
      file: this.file,
      database: this.store,
      detail,
    });
  }

  #verified(master: MasterKey, record: MasterKeyRecord): MasterKey {
    const check = masterCheck(master);
    if (check.length !== record.check.length || !timingSafeEqual(check, record.check)) {
      throw this.mismatch(`master key version ${master.version} is not the key this store was made with`);
    }
    return master;
  }
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

function fsyncFolder(folder: string): void {
  if (process.platform === 'win32') return;
  const fd = fs.openSync(folder, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
