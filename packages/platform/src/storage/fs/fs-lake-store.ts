/**
 * The lake on a local folder (the embedded default): an object is a file under the root, its key the relative
 * path with `/` separators. A put is durable and atomic: the file is synced, renamed into place (readers see all
 * of it or none) and the folder entry synced, so an offset committed after `putFile` never names a lost file.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { LakeObject, LakeStore } from '../lake-store.ts';

const temporaryMarker = '.incoming-';

async function syncPath(target: string): Promise<void> {
  const handle = await fs.open(target, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

export class FsLakeStore implements LakeStore {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** The file for `key`; refuses keys that would leave the root. */
  #file(key: string): string {
    const parts = key.split('/');
    if (key === '' || key.startsWith('/') || parts.some((part) => part === '..' || part === '.')) {
      throw new Error(
        `Invalid lake key ${JSON.stringify(key)}: use a relative path without . or .. segments`,
      );
    }
    return path.join(this.root, ...parts);
  }

  async putFile(key: string, localPath: string): Promise<void> {
    const target = this.#file(key);
    const folder = path.dirname(target);
    await fs.mkdir(folder, { recursive: true });
    await syncPath(localPath);
    try {
      await fs.rename(localPath, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      // Another file system: copy next to the target first, so that the rename that publishes it stays atomic.
      const incoming = path.join(folder, `${temporaryMarker}${randomUUID()}`);
      try {
        await fs.copyFile(localPath, incoming);
        await syncPath(incoming);
        await fs.rename(incoming, target);
      } catch (copyError) {
        await fs.rm(incoming, { force: true });
        throw copyError;
      }
      await fs.rm(localPath, { force: true });
    }
    await syncPath(folder);
  }

  async localPath(key: string): Promise<string> {
    return this.#file(key);
  }

  async list(prefix: string): Promise<LakeObject[]> {
    // A prefix is a string prefix of keys, as in object stores; walk from the deepest folder it names.
    const folderKey = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const start = folderKey === '' ? this.root : this.#file(folderKey);
    let entries: string[];
    try {
      entries = await fs.readdir(start, { recursive: true });
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
    const objects: LakeObject[] = [];
    for (const entry of entries) {
      const key = (folderKey === '' ? entry : `${folderKey}/${entry}`).split(path.sep).join('/');
      if (!key.startsWith(prefix) || path.basename(key).startsWith(temporaryMarker)) continue;
      try {
        const stat = await fs.stat(path.join(start, entry));
        if (stat.isFile()) objects.push({ key, size: stat.size });
      } catch (error) {
        if (!isNotFound(error)) throw error; // deleted while listing
      }
    }
    return objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    await fs.rm(this.#file(key), { force: true });
  }

  glob(prefix: string): string {
    const folder = prefix.replace(/\/+$/, '');
    return `${folder === '' ? this.root : this.#file(folder)}/**/*.parquet`;
  }
}
