/**
 * The scale-out `MetaStore`: Kysely over a pg pool, in a schema of its own, with the same migrations as SQLite
 * (`migrateMetaStore`), run on open. Several processes may open it at once: Kysely's migrator takes a PostgreSQL
 * advisory lock, so one of them migrates and the others find the work done.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { type MetaDatabase, type MetaStore, migrateMetaStore } from '../meta-store.ts';

export interface PostgresMetaStoreOptions {
  /** e.g. postgres://user@host:5432/db */
  connectionString: string;
  /** The schema holding the metadata tables (default `deepref_meta`); created when missing. */
  schema?: string;
  /** Connections in the pool (default 10). */
  maxConnections?: number;
}

/** A plain lower-case identifier: it goes into the connection's startup options unquoted. */
const schemaPattern = /^[a-z_][a-z0-9_]{0,62}$/;

export async function openPostgresMetaStore(options: PostgresMetaStoreOptions): Promise<MetaStore> {
  const schema = options.schema ?? 'deepref_meta';
  if (!schemaPattern.test(schema)) {
    throw new Error(
      `The metadata schema "${schema}" is not a plain lower-case identifier (letters, digits, _; at most 63)`,
    );
  }
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 10,
    // Unqualified table names (every query of the platform) resolve in the store's schema.
    options: `-c search_path=${schema}`,
  });
  // An idle connection that the server drops is replaced on next use; without a listener it would crash the process.
  pool.on('error', () => undefined);
  const db = new Kysely<MetaDatabase>({ dialect: new PostgresDialect({ pool }) });
  try {
    await db.schema
      .createSchema(schema)
      .ifNotExists()
      .execute()
      .catch(async (error: unknown) => {
        // Two processes creating the schema at once: one of them gets a unique violation although it now exists.
        const schemas = await db.introspection.getSchemas();
        if (!schemas.some((s) => s.name === schema)) throw error;
      });
    await migrateMetaStore(db, { schema });
    return db;
  } catch (error) {
    await db.destroy();
    throw error;
  }
}
