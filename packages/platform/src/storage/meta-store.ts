/**
 * The `MetaStore` port (Azure SQL in the reference): small transactional state — sources and write keys now;
 * consent, keys, catalog, lineage, audit, users and jobs as those areas arrive. It is a Kysely instance over
 * the tables below, so every adapter (sqlite/, postgres/) runs the same queries and the same migrations.
 */
import {
  type ColumnDefinitionBuilder,
  type Generated,
  type Kysely,
  type Migration,
  type MigrationProvider,
  Migrator,
  PostgresAdapter,
} from 'kysely';

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

/** People who may sign in (api/auth/). */
export interface UsersTable {
  id: string;
  username: string;
  /** `scrypt$N$r$p$salt$hash` (base64url salt and hash): never the password itself. */
  password_hash: string;
  created_at: string;
  password_changed_at: string;
}

/** Signed-in sessions, keyed by the SHA-256 of the cookie's token (the token itself is never stored). */
export interface SessionsTable {
  token_hash: string;
  user_id: string;
  created_at: string;
  last_seen_at: string;
  /** The absolute end of the session, whatever its activity. */
  expires_at: string;
}

/** Read-only API keys for programs, stored as SHA-256 hashes. */
export interface ApiKeysTable {
  id: string;
  name: string;
  key_hash: string;
  key_prefix: string;
  /** The user who made it, or `operator` (the control socket). */
  created_by: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** The append-only history of consent decisions, one row per purpose (privacy/consent/). */
export interface ConsentRecordsTable {
  id: Generated<number>;
  subject_id: string;
  purpose: string;
  /** 1 granted, 0 withdrawn. */
  granted: number;
  policy_version: string;
  method: string;
  /** The source whose write key recorded it (method `sdk`). */
  source_id: string | null;
  recorded_at: string;
}

/** Anonymous ids tied to the user they identified as; consent under either applies to both. */
export interface ConsentLinksTable {
  anonymous_id: string;
  user_id: string;
  linked_at: string;
}

/** The consent policy texts, by version; every consent record names the version it was given under. */
export interface ConsentPoliciesTable {
  version: string;
  text: string;
  published_at: string;
}

/** Data subject requests (privacy/dsr/): access/portability exports and erasures, with their state and outcome. */
export interface DsrRequestsTable {
  id: string;
  kind: 'export' | 'erasure';
  /** The subject's user id; after a completed erasure, its keyed pseudonym (`erased:…`). */
  subject: string;
  state: string;
  /** Export format (json, csv, xml, parquet); for an erasure, the format of the export made first, if any. */
  format: string | null;
  /** How the subject's identity was verified (set on `identity_verified`). */
  verification: string | null;
  /** JSON: the export's id, size and checksum, or the erasure's proof report. */
  result: string | null;
  error: string | null;
  created_at: string;
  updated_at: string;
}

/** Every state change of a data subject request, appended and never updated (privacy/dsr/). */
export interface DsrAuditTable {
  id: Generated<number>;
  request_id: string;
  from_state: string | null;
  to_state: string;
  actor: string;
  detail: string | null;
  at: string;
}

/** Export packages (exports/): each one's subject, checksum and link expiry; the sealed zip is in `export_contents`. */
export interface ExportsTable {
  id: string;
  request_id: string;
  subject: string;
  format: string;
  /**
   * The zip's path relative to `<data-dir>/exports/`, for a package made before packages moved into
   * `export_contents` (until `ExportStore.adoptFiles` moves it there); empty since.
   */
  file: string;
  size_bytes: number;
  sha256: string;
  created_at: string;
  expires_at: string;
  /** Set when the zip was deleted (expiry or erasure of its subject). */
  deleted_at: string | null;
}

/**
 * The sealed zip of each live export package (exports/package-sealing.ts), apart from `exports` so that listing
 * packages never reads their bytes. Its row is deleted with the package (expiry, erasure of its subject).
 */
export interface ExportContentsTable {
  export_id: string;
  /** The id of the package's data key in the KeyStore, which `sealed` is encrypted under. */
  key_id: string;
  /** `nonce ‖ ciphertext ‖ tag` (AES-256-GCM). */
  sealed: Buffer;
}

/** One run of a scheduled job (batch/scheduler.ts). */
export interface JobRunsTable {
  id: string;
  job: string;
  trigger: 'schedule' | 'manual';
  started_at: string;
  finished_at: string | null;
  /** `queued`: waiting for another process to take it (the lake's part of retention, lake-retention-runner.ts). */
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  /** JSON: what the run did (its report), or the error's message. */
  report: string | null;
}

export interface MetaDatabase {
  job_runs: JobRunsTable;
  sources: SourcesTable;
  privacy_budgets: PrivacyBudgetsTable;
  consent_records: ConsentRecordsTable;
  consent_links: ConsentLinksTable;
  consent_policies: ConsentPoliciesTable;
  users: UsersTable;
  sessions: SessionsTable;
  api_keys: ApiKeysTable;
  dsr_requests: DsrRequestsTable;
  dsr_audit: DsrAuditTable;
  exports: ExportsTable;
  export_contents: ExportContentsTable;
}

export type MetaStore = Kysely<MetaDatabase>;

/**
 * An integer primary key the database numbers itself, in each engine's spelling: AUTOINCREMENT in SQLite, an
 * identity column in PostgreSQL (Kysely's `autoIncrement()` writes MySQL's `auto_increment` there).
 */
function numberedKey(db: Kysely<unknown>): (column: ColumnDefinitionBuilder) => ColumnDefinitionBuilder {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  return (column) =>
    postgres ? column.primaryKey().generatedByDefaultAsIdentity() : column.primaryKey().autoIncrement();
}

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
  '0002_auth': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('username', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('password_changed_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('sessions')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_seen_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sessions_user_id').on('sessions').column('user_id').execute();
      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('key_hash', 'text', (c) => c.notNull().unique())
        .addColumn('key_prefix', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'text')
        .addColumn('revoked_at', 'text')
        .execute();
    },
  },
  '0003_consent': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('consent_records')
        .addColumn('id', 'integer', numberedKey(db))
        .addColumn('subject_id', 'text', (c) => c.notNull())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('granted', 'integer', (c) => c.notNull())
        .addColumn('policy_version', 'text', (c) => c.notNull())
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('source_id', 'text')
        .addColumn('recorded_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('consent_records_subject')
        .on('consent_records')
        .columns(['subject_id', 'id'])
        .execute();
      await db.schema
        .createTable('consent_links')
        .addColumn('anonymous_id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('linked_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('consent_links_user').on('consent_links').column('user_id').execute();
      await db.schema
        .createTable('consent_policies')
        .addColumn('version', 'text', (c) => c.primaryKey())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('published_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0004_dsr': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('dsr_requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('format', 'text')
        .addColumn('verification', 'text')
        .addColumn('result', 'text')
        .addColumn('error', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('dsr_requests_subject').on('dsr_requests').column('subject').execute();
      await db.schema
        .createTable('dsr_audit')
        .addColumn('id', 'integer', numberedKey(db))
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('from_state', 'text')
        .addColumn('to_state', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('detail', 'text')
        .addColumn('at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('dsr_audit_request')
        .on('dsr_audit')
        .columns(['request_id', 'id'])
        .execute();
      await db.schema
        .createTable('exports')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('file', 'text', (c) => c.notNull())
        .addColumn('size_bytes', 'integer', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('deleted_at', 'text')
        .execute();
      await db.schema.createIndex('exports_subject').on('exports').column('subject').execute();
    },
  },
  '0006_job_runs': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('job_runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('job', 'text', (c) => c.notNull())
        .addColumn('trigger', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('finished_at', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('report', 'text')
        .execute();
      await db.schema.createIndex('job_runs_by_job').on('job_runs').columns(['job', 'started_at']).execute();
    },
  },
  '0007_export_contents': {
    async up(db: Kysely<unknown>) {
      const bytes = db.getExecutor().adapter instanceof PostgresAdapter ? 'bytea' : 'blob';
      await db.schema
        .createTable('export_contents')
        .addColumn('export_id', 'text', (c) => c.primaryKey())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('sealed', bytes, (c) => c.notNull())
        .execute();
    },
  },
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/**
 * Brings the schema up to date; safe to call from several processes (the migrator takes a lock). Areas number
 * their migrations as they are planned, not as they land, so a store may have run a later number before an
 * earlier one appears: unordered migrations are allowed (each creates its own tables only).
 */
export async function migrateMetaStore(db: MetaStore, options: { schema?: string } = {}): Promise<void> {
  const { error } = await new Migrator({
    db,
    provider,
    allowUnorderedMigrations: true,
    // PostgreSQL: Kysely then looks for its migration tables in this schema alone, not in any of the database.
    migrationTableSchema: options.schema,
  }).migrateToLatest();
  if (error) throw error;
}
