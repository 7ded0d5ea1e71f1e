/**
 * The `MetaStore` port (Azure SQL in the reference): small transactional state — sources and write keys now;
 * consent, keys, catalog, lineage, audit, users and jobs as those areas arrive. It is a Kysely instance over
 * the tables below, so every adapter (sqlite/, postgres/) runs the same queries and the same migrations.
 */
import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';

export interface SourcesTable {
  id: string;
  name: string;
  key_hash: string;
  /** The first characters of the key, enough for a person to tell keys apart; never enough to use one. */
  key_prefix: string;
  /** JSON array of allowed browser origins. */
  allowed_origins: string;
  created_at: string;
  revoked_at: string | null;
}

/** Differential-privacy ε budgets per dataset (privacy/anonymize/). */
export interface PrivacyBudgetsTable {
  dataset: string;
  budget: number;
  spent: number;
  updated_at: string;
}

export interface MetaDatabase {
  sources: SourcesTable;
  privacy_budgets: PrivacyBudgetsTable;
}

export type MetaStore = Kysely<MetaDatabase>;

/** Migrations in order; a new one is appended, never edited once released. */
const migrations: Record<string, Migration> = {
  '0001_sources': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('sources')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('key_hash', 'text', (c) => c.notNull().unique())
        .addColumn('key_prefix', 'text', (c) => c.notNull())
        .addColumn('allowed_origins', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .execute();
    },
  },
  '0005_privacy_budgets': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('privacy_budgets')
        .addColumn('dataset', 'text', (c) => c.primaryKey())
        .addColumn('budget', 'double precision', (c) => c.notNull())
        .addColumn('spent', 'double precision', (c) => c.notNull().defaultTo(0))
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Brings the schema up to date; safe to call from several processes (the migrator takes a lock). */
export async function migrateMetaStore(db: MetaStore): Promise<void> {
  const { error } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) throw error;
}
