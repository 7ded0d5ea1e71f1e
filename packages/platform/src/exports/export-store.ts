/**
 * Export packages: a subject's files zipped with a `manifest.json` (each file's SHA-256), kept in
 * `<data-dir>/exports/<id>.zip` (0600) with a MetaStore row naming its subject, size, checksum and expiry. An
 * erasure deletes its subject's packages; an expired one is deleted when the next export is made.
 */
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { zipSync } from 'fflate';
import type { MetaStore } from '../storage/meta-store.ts';
import type { ExportFile, ExportFormat } from './export-formats.ts';
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
    /** `<data-dir>/exports` */
    readonly folder: string,
    private readonly urlSecret: Buffer,
    private readonly now: () => number = Date.now,
  ) {}

  /** Zips and stores the files, records the package, and signs its download link. */
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
    await fs.mkdir(this.folder, { recursive: true, mode: 0o700 });
    const file = `${id}.zip`;
    await fs.writeFile(path.join(this.folder, file), zip, { mode: 0o600, flag: 'wx' });
    await this.meta
      .insertInto('exports')
      .values({
        id,
        request_id: input.requestId,
        subject: input.subject,
        format: input.format,
        file,
        size_bytes: zip.length,
        sha256,
        created_at: new Date(created).toISOString(),
        expires_at: new Date(expiresAt).toISOString(),
        deleted_at: null,
      })
      .execute();
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

  /** The stored zip of a live package, with its checksum; undefined when unknown or deleted. */
  async read(id: string): Promise<{ bytes: Buffer; sha256: string } | undefined> {
    const row = await this.meta
      .selectFrom('exports')
      .select(['file', 'sha256'])
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (!row) return undefined;
    try {
      return { bytes: await fs.readFile(path.join(this.folder, row.file)), sha256: row.sha256 };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** Live packages of any of `subjects`. */
  async listFor(subjects: readonly string[]): Promise<{ id: string; file: string }[]> {
    if (subjects.length === 0) return [];
    return this.meta
      .selectFrom('exports')
      .select(['id', 'file'])
      .where('subject', 'in', [...subjects])
      .where('deleted_at', 'is', null)
      .execute();
  }

  /**
   * Deletes the packages of any of `subjects` but `except` (files, and the subject's name in their rows, which
   * `replacement` takes); returns how many files went.
   */
  async deleteFor(subjects: readonly string[], replacement: string, except?: string): Promise<number> {
    const live = (await this.listFor(subjects)).filter((e) => e.id !== except);
    for (const { file } of live) await fs.rm(path.join(this.folder, file), { force: true });
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

  /** How many packages have an expired link and still a file (what `deleteExpired` would remove). */
  async countExpired(): Promise<number> {
    const row = await this.meta
      .selectFrom('exports')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('expires_at', '<=', new Date(this.now()).toISOString())
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Deletes the files of packages whose link has expired. */
  async deleteExpired(): Promise<number> {
    const now = new Date(this.now()).toISOString();
    const expired = await this.meta
      .selectFrom('exports')
      .select(['id', 'file'])
      .where('expires_at', '<=', now)
      .where('deleted_at', 'is', null)
      .execute();
    for (const { id, file } of expired) {
      await fs.rm(path.join(this.folder, file), { force: true });
      await this.meta.updateTable('exports').set({ deleted_at: now }).where('id', '=', id).execute();
    }
    return expired.length;
  }
}
