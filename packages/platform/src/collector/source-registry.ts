/**
 * Write keys kept in the MetaStore. The server and the `deepref keys` CLI share the store, so a key created or
 * revoked while the platform runs takes effect within `cacheMs` (default one second).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { MetaStore, SourcesTable } from '../storage/meta-store.ts';
import type { Source, SourceRegistry } from './sources.ts';

const KEY_PREFIX = 'drk_';

export function hashWriteKey(writeKey: string): string {
  return createHash('sha256').update(writeKey).digest('hex');
}

function toSource(row: SourcesTable): Source {
  return {
    id: row.id,
    name: row.name,
    allowedOrigins: JSON.parse(row.allowed_origins) as string[],
    createdAt: row.created_at,
    ...(row.revoked_at ? { revokedAt: row.revoked_at } : {}),
  };
}

export interface SourceListing extends Source {
  keyPrefix: string;
}

/** Creates, lists and revokes sources; used by the CLI and the admin API. */
export class Sources {
  constructor(private readonly db: MetaStore) {}

  /** Creates a source and returns its write key, which is shown this once and stored only as a hash. */
  async create(input: {
    name: string;
    allowedOrigins?: string[];
  }): Promise<{ source: Source; writeKey: string }> {
    const name = input.name.trim();
    if (!name) throw new Error('A source needs a name.');
    const writeKey = KEY_PREFIX + randomBytes(24).toString('base64url');
    const row: SourcesTable = {
      id: randomUUID(),
      name,
      key_hash: hashWriteKey(writeKey),
      key_prefix: writeKey.slice(0, KEY_PREFIX.length + 6),
      allowed_origins: JSON.stringify(input.allowedOrigins ?? []),
      created_at: new Date().toISOString(),
      revoked_at: null,
    };
    await this.db.insertInto('sources').values(row).execute();
    return { source: toSource(row), writeKey };
  }

  async list(): Promise<SourceListing[]> {
    const rows = await this.db.selectFrom('sources').selectAll().orderBy('created_at').execute();
    return rows.map((row) => ({ ...toSource(row), keyPrefix: row.key_prefix }));
  }

  /** Revokes by source id, name or key prefix; returns how many sources were revoked. */
  async revoke(idOrName: string): Promise<number> {
    const result = await this.db
      .updateTable('sources')
      .set({ revoked_at: new Date().toISOString() })
      .where('revoked_at', 'is', null)
      .where((eb) =>
        eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName), eb('key_prefix', '=', idOrName)]),
      )
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }
}

/** Authenticates write keys against the MetaStore with a short cache, so the hot path rarely touches the store. */
export class CachedSourceRegistry implements SourceRegistry {
  private readonly cache = new Map<string, { source: Source | undefined; until: number }>();

  constructor(
    private readonly db: MetaStore,
    private readonly cacheMs = 1000,
    private readonly maxEntries = 10_000,
  ) {}

  async authenticate(writeKey: string): Promise<Source | undefined> {
    const hash = hashWriteKey(writeKey);
    const now = Date.now();
    const hit = this.cache.get(hash);
    if (hit && hit.until > now) return hit.source;
    const row = await this.db
      .selectFrom('sources')
      .selectAll()
      .where('key_hash', '=', hash)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    const source = row ? toSource(row) : undefined;
    // Unknown keys are cached too, so a flood of bad keys cannot hammer the store; the map stays bounded.
    if (this.cache.size >= this.maxEntries) this.cache.clear();
    this.cache.set(hash, { source, until: now + this.cacheMs });
    return source;
  }
}
