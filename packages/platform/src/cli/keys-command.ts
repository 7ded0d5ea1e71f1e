/** `deepref keys`: sources and write keys, straight in the MetaStore (safe while the platform runs). */

import { Sources } from '../collector/source-registry.ts';
import { dataPaths } from '../config.ts';
import { openSqliteMetaStore } from '../storage/sqlite/sqlite-meta-store.ts';

async function withSources<T>(dataDir: string, work: (sources: Sources) => Promise<T>): Promise<T> {
  const db = await openSqliteMetaStore(dataPaths(dataDir).meta);
  try {
    return await work(new Sources(db));
  } finally {
    await db.destroy();
  }
}

export async function createKey(options: {
  name: string;
  origin?: string[];
  dataDir: string;
}): Promise<void> {
  const { source, writeKey } = await withSources(options.dataDir, (sources) =>
    sources.create({ name: options.name, allowedOrigins: options.origin ?? [] }),
  );
  console.log(writeKey);
  console.error(
    `Created source "${source.name}" (${source.id}). Keep the key above: it is shown only now.` +
      (source.allowedOrigins.length
        ? ` Browser origins: ${source.allowedOrigins.join(', ')}.`
        : ' Server-side only; add --origin for browsers.'),
  );
}

export async function listKeys(options: { dataDir: string }): Promise<void> {
  const list = await withSources(options.dataDir, (sources) => sources.list());
  if (list.length === 0) {
    console.log('No sources yet. Create one with: deepref keys create --name web');
    return;
  }
  console.table(
    list.map((s) => ({
      name: s.name,
      id: s.id,
      key: `${s.keyPrefix}…`,
      origins: s.allowedOrigins.join(' ') || '(server only)',
      created: s.createdAt,
      status: s.revokedAt ? `revoked ${s.revokedAt}` : 'active',
    })),
  );
}

export async function revokeKey(source: string, options: { dataDir: string }): Promise<void> {
  const count = await withSources(options.dataDir, (sources) => sources.revoke(source));
  if (count === 0) {
    console.error(`deepref: no active source matches "${source}". See \`deepref keys list\`.`);
    process.exitCode = 1;
    return;
  }
  console.log(
    `Revoked ${count} source${count === 1 ? '' : 's'}; the platform refuses the key within a second.`,
  );
}
