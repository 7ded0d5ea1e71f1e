/**
 * `deepref backup --to DIR`: a consistent copy of the data folder, each store copied by its own engine's online
 * backup, so it can run while the platform ingests: SQLite's backup API for the event log and the MetaStore (a
 * snapshot of one transaction), a CHECKPOINT and a copy for the DuckDB warehouse, and the lake's Parquet files
 * (immutable once published). A manifest lists every file with its SHA-256.
 *
 * It copies only the stores it names, and never `secrets/` or `keys/`: the key store holds the wrapped per-subject
 * data keys, and a backup that carried them would bring an erased subject back on restore (its encrypted values
 * would decrypt again). The operator backs up the key store separately, on its own schedule, and an erasure destroys
 * the key there; every backup of the data then holds only values that no longer decrypt. Export packages are in the
 * MetaStore copy, sealed under keys of their own in the key store, so they too stop decrypting once expired or
 * erased. Run-time files are left out.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { dataPaths } from '../config.ts';
import { DeeprefError } from '../errors.ts';

export interface BackupFile {
  /** Relative to the backup folder, with `/` separators. */
  path: string;
  sizeBytes: number;
  sha256: string;
}

export interface BackupManifest {
  createdAt: string;
  dataDir: string;
  files: BackupFile[];
  /** What was left out, and why. */
  excluded: Record<string, string>;
}

export const backupExclusions: Record<string, string> = {
  'secrets/':
    'secrets and the master key: restoring them with the data would undo crypto-shredding; back up separately',
  'keys/':
    'wrapped per-subject data keys: an erased subject must not come back from a backup; back up separately',
  'exports/': 'export packages of an earlier version, moved into the MetaStore (sealed) on the next start',
  'staging/': 'files being written',
  'run/': 'run-time state of a running process',
  'control.sock': 'the running process control socket',
};

async function sha256File(file: string): Promise<string> {
  return createHash('sha256')
    .update(await fs.readFile(file))
    .digest('hex');
}

async function isEmptyOrMissing(dir: string): Promise<boolean> {
  try {
    return (await fs.readdir(dir)).length === 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

/** SQLite's online backup: a consistent snapshot even while another connection writes. */
async function backupSqlite(source: string, target: string): Promise<void> {
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    await db.backup(target);
  } finally {
    db.close();
  }
}

export interface BackupOptions {
  dataDir: string;
  to: string;
  /** Copies the warehouse to the given file with its engine's own backup (see `DuckdbWarehouse.backupTo`). */
  backupWarehouse: (target: string) => Promise<void>;
  now?: () => number;
}

export async function backupDataDir(options: BackupOptions): Promise<BackupManifest> {
  const dataDir = path.resolve(options.dataDir);
  const to = path.resolve(options.to);
  if (to === dataDir || to.startsWith(`${dataDir}${path.sep}`)) {
    throw new DeeprefError('DEEPREF_BAD_REQUEST', {
      detail: `The backup folder ${to} is inside the data folder; choose a folder outside ${dataDir}.`,
    });
  }
  if (!(await isEmptyOrMissing(to))) throw new DeeprefError('DEEPREF_BACKUP_TARGET_NOT_EMPTY', { dir: to });
  const paths = dataPaths(dataDir);
  const target = (file: string) => path.join(to, path.relative(dataDir, file));
  await fs.mkdir(to, { recursive: true, mode: 0o700 });

  for (const file of [paths.eventLog, paths.meta]) {
    if (!(await exists(file))) continue;
    await fs.mkdir(path.dirname(target(file)), { recursive: true });
    await backupSqlite(file, target(file));
  }
  if (await exists(paths.warehouse)) await options.backupWarehouse(target(paths.warehouse));

  const lakeFiles = await fs.readdir(paths.lake, { recursive: true }).catch(() => [] as string[]);
  for (const entry of lakeFiles) {
    const source = path.join(paths.lake, entry);
    if (path.basename(entry).startsWith('.incoming-')) continue;
    const stat = await fs.stat(source).catch(() => undefined); // a compaction may delete it meanwhile
    if (!stat?.isFile()) continue;
    await fs.mkdir(path.dirname(target(source)), { recursive: true });
    // A lake file is never changed once published (an erasure replaces it by rename), so a copy is consistent.
    await fs.copyFile(source, target(source)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }
  const checkpoint = path.join(dataDir, 'stream', 'checkpoint.json');
  if (await exists(checkpoint)) {
    await fs.mkdir(path.dirname(target(checkpoint)), { recursive: true });
    await fs.copyFile(checkpoint, target(checkpoint));
  }

  const files: BackupFile[] = [];
  for (const entry of (await fs.readdir(to, { recursive: true })).sort()) {
    const file = path.join(to, entry);
    const stat = await fs.stat(file);
    if (!stat.isFile()) continue;
    files.push({
      path: entry.split(path.sep).join('/'),
      sizeBytes: stat.size,
      sha256: await sha256File(file),
    });
  }
  const manifest: BackupManifest = {
    createdAt: new Date((options.now ?? Date.now)()).toISOString(),
    dataDir,
    files,
    excluded: backupExclusions,
  };
  await fs.writeFile(path.join(to, 'backup-manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, {
    mode: 0o600,
  });
  return manifest;
}

export interface BackupRouteDeps {
  dataDir: string;
  isAdmin: (request: FastifyRequest) => boolean;
  backupWarehouse: (target: string) => Promise<void>;
}

const BackupBody = Type.Object({ to: Type.String({ minLength: 1, maxLength: 4096 }) });

/** `POST /api/v1/backup {to}` on the control socket: the running platform backs itself up (`deepref backup`). */
export async function backupRoutes(app: FastifyInstance, deps: BackupRouteDeps): Promise<void> {
  app.post('/api/v1/backup', { schema: { body: BackupBody } }, async (request) => {
    if (!deps.isAdmin(request)) {
      throw new DeeprefError('DEEPREF_FORBIDDEN', {
        detail: 'Backups are made on the control socket only; use `deepref backup` on the server.',
      });
    }
    const { to } = request.body as { to: string };
    return backupDataDir({ dataDir: deps.dataDir, to, backupWarehouse: deps.backupWarehouse });
  });
}
