/**
 * Export packages: a subject's files zipped with a `manifest.json` (each file's SHA-256), kept in the MetaStore
 * (`export_contents`, beside the `exports` row naming its subject, size, checksum and expiry), so that every process
 * of a deployment serves the download link: SQLite for one process, PostgreSQL for a split deployment. A port with a
 * local-file adapter beside it would give the embedded case two ways of keeping the same thing; the MetaStore is
 * already where each deployment keeps shared state, and a package is at most a few megabytes, kept 7 days.
 *
 * The zip holds the subject's decrypted data, so it is sealed (package-sealing.ts) under a data key of its own in
 * the KeyStore, not under the subject's key: an erasure with an export first keeps that export after the subject's
 * key is destroyed. Deleting a package (expiry, erasure of its subject) destroys its key first, which reaches the
 * copies that deleting the row does not: a backup of the MetaStore (backups never hold the keys), and on PostgreSQL
 * the dead row versions until VACUUM (the erasure then runs VACUUM (FULL) on the table, dsr-platform.ts).
 */
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { zipSync } from 'fflate';
import type { KeyStore } from '../privacy/keys/key-store.ts';
import type { MetaStore } from '../storage/meta-store.ts';
import type { ExportFile, ExportFormat } from './export-formats.ts';
import { openPackage, packageKeyName, sealPackage } from './package-sealing.ts';
import { downloadLinkLifetimeMs, downloadPath, signDownload } from './signed-url.ts';

export interface ExportPackage {
  id: string;
  requestId: string;
  format: ExportFormat;
  sizeBytes: number;
  /** SHA-256 of the zip, hex. */
  sha256: string;
  createdAt: string;
  expiresAt: string;
  /** Path and query of the signed download link (prefix the platform's URL). */
  downloadPath: string;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The zip of `files` and a `manifest.json` that lists each with its size and SHA-256. */
export function zipExport(files: readonly ExportFile[], about: Record<string, unknown>): Uint8Array {
  const manifest = {
    ...about,
    files: files.map((f) => ({ name: f.name, sizeBytes: f.bytes.length, sha256: sha256Hex(f.bytes) })),
  };
  const entries: Record<string, Uint8Array> = {
    'manifest.json': new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`),
  };
  for (const file of files) entries[file.name] = file.bytes;
  return zipSync(entries, { level: 6 });
}

export class ExportStore {
  constructor(
    private readonly meta: MetaStore,
    /** Holds each package's data key (package-sealing.ts). */
    private readonly keys: KeyStore,
    private readonly urlSecret: Buffer,
    private readonly now: () => number = Date.now,
  ) {}

  /** Zips, seals and stores the files, records the package, and signs its download link. */
  async create(input: {
    requestId: string;
    subject: string;
    format: ExportFormat;
    files: readonly ExportFile[];
  }): Promise<ExportPackage> {
    await this.deleteExpired();
    const id = randomUUID();
    const created = this.now();
    const expiresAt = created + downloadLinkLifetimeMs;
    const zip = zipExport(input.files, {
      exportId: id,
      subject: input.subject,
      format: input.format,
      createdAt: new Date(created).toISOString(),
    });
    const sha256 = sha256Hex(zip);
    const key = await this.keys.dataKeyFor(packageKeyName(id));
    const sealed = sealPackage(key, id, zip);
    await this.meta.transaction().execute(async (tx) => {
      await tx
        .insertInto('exports')
        .values({
          id,
          request_id: input.requestId,
          subject: input.subject,
          format: input.format,
          file: '',
          size_bytes: zip.length,
          sha256,
          created_at: new Date(created).toISOString(),
          expires_at: new Date(expiresAt).toISOString(),
          deleted_at: null,
        })
        .execute();
      await tx.insertInto('export_contents').values({ export_id: id, key_id: key.keyId, sealed }).execute();
    });
    return {
      id,
      requestId: input.requestId,
      format: input.format,
      sizeBytes: zip.length,
      sha256,
      createdAt: new Date(created).toISOString(),
      expiresAt: new Date(expiresAt).toISOString(),
      downloadPath: downloadPath(signDownload(this.urlSecret, id, expiresAt)),
    };
  }

  /** The zip of a live package, with its checksum; undefined when unknown or deleted. */
  async read(id: string): Promise<{ bytes: Buffer; sha256: string } | undefined> {
    const row = await this.meta
      .selectFrom('exports')
      .innerJoin('export_contents', 'export_contents.export_id', 'exports.id')
      .select(['exports.sha256', 'export_contents.key_id', 'export_contents.sealed'])
      .where('exports.id', '=', id)
      .where('exports.deleted_at', 'is', null)
      .executeTakeFirst();
    if (!row) return undefined;
    const key = await this.keys.existingDataKey(packageKeyName(id));
    // Its key was destroyed by a deletion that has not yet removed the row.
    if (!key || key.keyId !== row.key_id) return undefined;
    return { bytes: openPackage(key, id, row.sealed), sha256: row.sha256 };
  }

  /** Live packages of any of `subjects`. */
  async listFor(subjects: readonly string[]): Promise<{ id: string }[]> {
    if (subjects.length === 0) return [];
    return this.meta
      .selectFrom('exports')
      .select(['id'])
      .where('subject', 'in', [...subjects])
      .where('deleted_at', 'is', null)
      .execute();
  }

  /**
   * Deletes the packages of any of `subjects` but `except` (keys, contents, and the subject's name in their rows,
   * which `replacement` takes); returns how many live packages went.
   */
  async deleteFor(subjects: readonly string[], replacement: string, except?: string): Promise<number> {
    const live = (await this.listFor(subjects)).filter((e) => e.id !== except);
    await this.#destroy(live.map((e) => e.id));
    if (subjects.length) {
      await this.meta
        .updateTable('exports')
        .set({ deleted_at: new Date(this.now()).toISOString(), subject: replacement })
        .where('subject', 'in', [...subjects])
        .where('id', '!=', except ?? '')
        .execute();
    }
    return live.length;
  }

  /** How many packages have an expired link and are not yet deleted (what `deleteExpired` would remove). */
  async countExpired(): Promise<number> {
    const row = await this.meta
      .selectFrom('exports')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('expires_at', '<=', new Date(this.now()).toISOString())
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Deletes the packages whose link has expired. */
  async deleteExpired(): Promise<number> {
    const now = new Date(this.now()).toISOString();
    const expired = await this.meta
      .selectFrom('exports')
      .select(['id'])
      .where('expires_at', '<=', now)
      .where('deleted_at', 'is', null)
      .execute();
    const ids = expired.map((e) => e.id);
    await this.#destroy(ids);
    if (ids.length) {
      await this.meta.updateTable('exports').set({ deleted_at: now }).where('id', 'in', ids).execute();
    }
    return ids.length;
  }

  /**
   * Moves the zips of packages made before packages were kept in the MetaStore from `folder` (`<data-dir>/exports`)
   * into it, sealed, and deletes the files; a package whose file is gone stays recorded and is refused as gone.
   */
  async adoptFiles(folder: string): Promise<number> {
    const rows = await this.meta
      .selectFrom('exports')
      .select(['id', 'file'])
      .where('file', '!=', '')
      .where('deleted_at', 'is', null)
      .execute();
    let adopted = 0;
    for (const { id, file } of rows) {
      const zip = await fs.readFile(path.join(folder, file)).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
      await this.meta.transaction().execute(async (tx) => {
        if (zip) {
          const key = await this.keys.dataKeyFor(packageKeyName(id));
          const sealed = sealPackage(key, id, zip);
          await tx
            .insertInto('export_contents')
            .values({ export_id: id, key_id: key.keyId, sealed })
            .execute();
          adopted++;
        }
        await tx.updateTable('exports').set({ file: '' }).where('id', '=', id).execute();
      });
      await fs.rm(path.join(folder, file), { force: true });
    }
    return adopted;
  }

  /** Destroys the packages' keys, then their contents: a copy of the contents left anywhere no longer opens. */
  async #destroy(ids: readonly string[]): Promise<void> {
    for (const id of ids) await this.keys.destroy(packageKeyName(id));
    if (ids.length)
      await this.meta
        .deleteFrom('export_contents')
        .where('export_id', 'in', [...ids])
        .execute();
  }
}
