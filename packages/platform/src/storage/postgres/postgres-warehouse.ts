/**
 * The warehouse on PostgreSQL (the scale-out adapter; Synapse in the reference), in a schema of its own. Events go
 * into a table range-partitioned by UTC day, each day's partition created on first need; a load inserts its rows
 * (skipping event ids already stored) and stores the consumer's offset in one transaction, so a replay stores
 * nothing twice. Operator SQL runs under three locks: only a SELECT-shaped statement (run through a cursor, which
 * PostgreSQL accepts for nothing else) or EXPLAIN/SHOW, one statement per call, in a READ ONLY transaction with a
 * statement timeout; the session is reset afterwards, so nothing an operator sets outlives the call. An erasure
 * deletes in one transaction, then rewrites (VACUUM FULL) each table it changed, so that the old row versions leave
 * the table files (docs/privacy.md, "PostgreSQL and JetStream").
 */
import pg from 'pg';
import type { LogRecord } from '../../bus/event-log.ts';
import { DeeprefError } from '../../errors.ts';
import type { QueryResult, SqlStatement, Warehouse } from '../warehouse.ts';
import {
  createPartitions,
  eventDays,
  eventsIndexSql,
  eventsTableSql,
  existingPartitionDays,
  insertEventRows,
  postgresEventRows,
  postgresTimeText,
  quoteIdentifier,
} from './postgres-event-rows.ts';
import { jsonFriendlyTypes, queryResult } from './postgres-results.ts';

export interface PostgresWarehouseOptions {
  /** e.g. postgres://user@host:5432/db */
  connectionString: string;
  /** The schema holding the warehouse's tables (default `deepref_warehouse`); created when missing. */
  schema?: string;
  /** Most rows `queryReadOnly` returns; the rest are cut and the result says `truncated`. */
  maxResultRows?: number;
  /** How long one `queryReadOnly` statement may run (default 30 s). */
  statementTimeoutMs?: number;
  /** Connections in the pool (default 10). */
  maxConnections?: number;
}

interface Migration {
  version: number;
  statements: string[];
}

/** Applied in order; a new one is appended, never edited once released. */
const migrations: Migration[] = [
  {
    version: 1,
    statements: [
      eventsTableSql,
      eventsIndexSql,
      'CREATE TABLE IF NOT EXISTS _consumer_offsets (consumer text PRIMARY KEY, log_offset bigint NOT NULL)',
    ],
  },
];

/** A plain lower-case identifier: it goes into the connection's startup options unquoted. */
const schemaPattern = /^[a-z_][a-z0-9_]{0,62}$/;

/** Statements an operator may run that PostgreSQL does not accept inside a cursor; both only read. */
const directStatements = new Set(['EXPLAIN', 'SHOW']);
/**
 * Commands that are not queries, refused by name for a clear message. Anything else goes through a cursor, which
 * PostgreSQL accepts for a query alone, so a command missing here is refused all the same (as a syntax error).
 */
const commands = new Set(
  (
    'ABORT ALTER ANALYZE ATTACH BEGIN CALL CHECKPOINT CLOSE CLUSTER COMMENT COMMIT COPY CREATE DEALLOCATE DECLARE ' +
    'DELETE DETACH DISCARD DO DROP END EXECUTE EXPORT FETCH GRANT IMPORT INSERT INSTALL LISTEN LOAD LOCK MERGE ' +
    'MOVE NOTIFY PRAGMA PREPARE REASSIGN REFRESH REINDEX RELEASE RESET REVOKE ROLLBACK SAVEPOINT SECURITY SET ' +
    'START TRUNCATE UNLISTEN UPDATE USE VACUUM'
  ).split(' '),
);

/** SQLSTATEs: a write refused by a read-only transaction; several statements in one prepared statement. */
const readOnlySqlTransaction = '25006';
const syntaxError = '42601';
const queryCanceled = '57014';

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]?.replace(/\.$/, '') ?? message;
}

function sqlState(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

function queryFailed(error: unknown): DeeprefError {
  if (error instanceof DeeprefError) return error;
  return new DeeprefError('DEEPREF_QUERY_FAILED', { detail: firstLine(error) }, { cause: error });
}

/**
 * The first keyword of `sql`, upper-cased, past white space and comments (`--` and nested block comments), or
 * `(` for a parenthesized query; undefined when there is nothing but those.
 */
export function leadingKeyword(sql: string): string | undefined {
  let at = 0;
  while (at < sql.length) {
    if (/\s/.test(sql[at]!)) at += 1;
    else if (sql.startsWith('--', at)) {
      const end = sql.indexOf('\n', at);
      at = end < 0 ? sql.length : end + 1;
    } else if (sql.startsWith('/*', at)) {
      let depth = 1;
      at += 2;
      while (at < sql.length && depth > 0) {
        if (sql.startsWith('/*', at)) {
          depth += 1;
          at += 2;
        } else if (sql.startsWith('*/', at)) {
          depth -= 1;
          at += 2;
        } else at += 1;
      }
    } else break;
  }
  if (at >= sql.length) return undefined;
  if (sql[at] === '(') return '(';
  return /^[A-Za-z_]+/.exec(sql.slice(at))?.[0].toUpperCase() ?? sql[at];
}

/** A CREATE, ALTER or DROP that can run inside a transaction (not CONCURRENTLY). */
function isSchemaChange(sql: string): boolean {
  const keyword = leadingKeyword(sql);
  return (
    (keyword === 'CREATE' || keyword === 'ALTER' || keyword === 'DROP') && !/\bCONCURRENTLY\b/i.test(sql)
  );
}

/** Records above `after`, strictly ascending: repeats inside a batch and replays of loaded offsets drop out. */
function recordsAfter(records: readonly LogRecord[], after: number): LogRecord[] {
  const fresh: LogRecord[] = [];
  let last = after;
  for (const record of records) {
    if (record.offset > last) {
      fresh.push(record);
      last = record.offset;
    }
  }
  return fresh;
}

export class PostgresWarehouse implements Warehouse {
  readonly #pool: pg.Pool;
  readonly #maxResultRows: number;
  readonly #statementTimeoutMs: number;
  /** Days whose partition exists (created here, found at open, or created by another process and found again). */
  readonly #partitionDays: Set<string>;
  #closed = false;

  constructor(pool: pg.Pool, partitionDays: Iterable<string>, options: PostgresWarehouseOptions) {
    this.#pool = pool;
    this.#partitionDays = new Set(partitionDays);
    this.#maxResultRows = options.maxResultRows ?? 100_000;
    this.#statementTimeoutMs = options.statementTimeoutMs ?? 30_000;
  }

  async #withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.#closed) throw new Error('The warehouse is closed');
    const client = await this.#pool.connect();
    let broken: Error | undefined;
    try {
      return await work(client);
    } catch (error) {
      // A connection that failed mid-protocol is not given back to the pool.
      if (sqlState(error) === undefined) broken = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async load(consumer: string, records: LogRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.#withClient(async (client) => {
      const rows = postgresEventRows(records);
      const missing = [...eventDays(rows)].filter((day) => !this.#partitionDays.has(day));
      await createPartitions(client, missing);
      for (const day of missing) this.#partitionDays.add(day);

      await client.query('BEGIN');
      try {
        // The offset row, locked: a second loader of the same consumer waits here and then sees the new offset.
        await client.query('INSERT INTO _consumer_offsets VALUES ($1, 0) ON CONFLICT (consumer) DO NOTHING', [
          consumer,
        ]);
        const stored = await client.query<{ log_offset: number }>(
          'SELECT log_offset FROM _consumer_offsets WHERE consumer = $1 FOR UPDATE',
          [consumer],
        );
        const after = stored.rows[0]?.log_offset ?? 0;
        const fresh = recordsAfter(records, after);
        const last = fresh.at(-1);
        if (last === undefined) {
          await client.query('ROLLBACK');
          return;
        }
        const freshRows = fresh.length === records.length ? rows : postgresEventRows(fresh);
        await insertEventRows(client, freshRows);
        await client.query('UPDATE _consumer_offsets SET log_offset = $2 WHERE consumer = $1', [
          consumer,
          last.offset,
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  }

  async loadedOffset(consumer: string): Promise<number> {
    const result = await this.#withClient((client) =>
      client.query<{ log_offset: number }>('SELECT log_offset FROM _consumer_offsets WHERE consumer = $1', [
        consumer,
      ]),
    );
    return result.rows[0]?.log_offset ?? 0;
  }

  async query(sql: string, params: unknown[] = []): Promise<QueryResult> {
    const values = params.map(bindable);
    return this.#withClient(async (client) => {
      const run = () => client.query({ text: sql, values, rowMode: 'array' });
      try {
        if (!isSchemaChange(sql)) return queryResult(await run());
        // Two processes running the same CREATE TABLE IF NOT EXISTS at once can both try to create it (and one
        // fail on a catalog key): a schema change waits for any other in this schema, as a DuckDB file has one writer.
        await client.query('BEGIN');
        try {
          await client.query("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.ddl'))");
          const result = queryResult(await run());
          await client.query('COMMIT');
          return result;
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
      } catch (error) {
        throw queryFailed(error);
      }
    });
  }

  async queryReadOnly(sql: string): Promise<QueryResult> {
    const keyword = leadingKeyword(sql);
    if (keyword === undefined) {
      throw new DeeprefError('DEEPREF_QUERY_FAILED', { detail: 'the text holds no SQL statement' });
    }
    if (commands.has(keyword)) {
      throw new DeeprefError('DEEPREF_READ_ONLY_QUERY', { detail: `found a ${keyword} statement` });
    }
    const viaCursor = !directStatements.has(keyword);
    return this.#withClient(async (client) => {
      try {
        await client.query('BEGIN TRANSACTION READ ONLY');
        await client.query(
          `SET LOCAL statement_timeout = ${Math.max(1, Math.floor(this.#statementTimeoutMs))}`,
        );
        const limit = this.#maxResultRows + 1;
        // The extended protocol refuses a second statement, so none can follow the first unseen.
        if (viaCursor) {
          await client.query(extendedQuery(`DECLARE deepref_read NO SCROLL CURSOR FOR ${sql}`));
          const rows = await client.query({ text: `FETCH ${limit} FROM deepref_read`, rowMode: 'array' });
          return queryResult(rows, this.#maxResultRows);
        }
        return queryResult(await client.query(extendedQuery(sql)), this.#maxResultRows);
      } catch (error) {
        throw this.#readOnlyFailure(error);
      } finally {
        await client.query('ROLLBACK').catch(() => undefined);
        // Session state a query could leave behind despite the rollback: advisory locks, prepared statements.
        await client.query('DISCARD ALL').catch(() => undefined);
      }
    });
  }

  #readOnlyFailure(error: unknown): DeeprefError {
    const state = sqlState(error);
    const message = firstLine(error);
    if (state === readOnlySqlTransaction || /data-modifying/.test(message)) {
      return new DeeprefError('DEEPREF_READ_ONLY_QUERY', { detail: message }, { cause: error });
    }
    if (state === syntaxError && /multiple commands/.test(message)) {
      return new DeeprefError(
        'DEEPREF_READ_ONLY_QUERY',
        { detail: 'found several statements; send one statement at a time' },
        { cause: error },
      );
    }
    if (state === queryCanceled) {
      return new DeeprefError(
        'DEEPREF_QUERY_FAILED',
        { detail: `the query ran past the limit of ${this.#statementTimeoutMs} ms; narrow it down` },
        { cause: error },
      );
    }
    return queryFailed(error);
  }

  /**
   * Runs the erasure's statements in one transaction, then rewrites every table they changed (each day partition
   * and stream table with a deleted or updated row; the transaction's own statistics name them). A DELETE only marks
   * a row version dead, and a plain VACUUM only marks its space free for reuse, leaving its bytes in the page until
   * overwritten; VACUUM FULL writes the live rows (and the indexes, and the TOAST of long values) to new files and
   * removes the old ones. It holds each table's ACCESS EXCLUSIVE lock while it runs: loads and reads of that one
   * table wait, one table at a time. A row version that a transaction still open elsewhere may see is copied, not
   * dropped: erase when no long transaction is open.
   */
  async eraseRows(deletions: readonly SqlStatement[]): Promise<number[]> {
    return this.#withClient(async (client) => {
      const changes: number[] = [];
      let changed: string[];
      await client.query('BEGIN');
      try {
        // The backend's counts of row versions each table lost; they may still hold earlier transactions' counts
        // (PostgreSQL reports them at idle times), so the tables changed are those whose count grew in this one.
        const lost = async () =>
          new Map(
            (
              await client.query<{ name: string; n: string }>(
                `SELECT quote_ident(relname) AS name, (n_tup_del + n_tup_upd)::text AS n
                 FROM pg_stat_xact_user_tables WHERE schemaname = current_schema()`,
              )
            ).rows.map((r) => [r.name, Number(r.n)]),
          );
        const before = await lost();
        for (const { sql, params = [] } of deletions) {
          const result = await client.query({ text: sql, values: params.map(bindable) });
          changes.push(result.rowCount ?? 0);
        }
        changed = [...(await lost())]
          .filter(([name, n]) => n > (before.get(name) ?? 0))
          .map(([name]) => name)
          .sort();
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw queryFailed(error);
      }
      // VACUUM cannot run inside a transaction block; one table per statement keeps each lock short.
      for (const table of changed) {
        try {
          await client.query(`VACUUM (FULL) ${table}`);
        } catch (error) {
          throw queryFailed(error);
        }
      }
      return changes;
    });
  }

  /** Waits for the connections in use to come back, then closes them all. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }
}

/** A query sent with the extended protocol even without parameters (pg's `queryMode`, missing from its typings). */
function extendedQuery(text: string): pg.QueryArrayConfig {
  return Object.assign({ text, rowMode: 'array' as const }, { queryMode: 'extended' });
}

function bindable(value: unknown): unknown {
  if (value === undefined) return null;
  if (value instanceof Date) return postgresTimeText(value.toISOString());
  if (typeof value === 'bigint') return value.toString();
  if (value === null || ['number', 'string', 'boolean'].includes(typeof value)) return value;
  throw new DeeprefError('DEEPREF_QUERY_FAILED', {
    detail: `a parameter of type ${typeof value} cannot be bound; pass strings, numbers, booleans or dates`,
  });
}

async function migrate(client: pg.ClientBase, schema: string): Promise<void> {
  await client.query('BEGIN');
  try {
    // One process migrates a schema at a time; the others wait here and then find nothing left to do.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${schema}.migrations`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(schema)}`);
    await client.query(
      'CREATE TABLE IF NOT EXISTS _schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL)',
    );
    const current = await client.query<{ version: number }>(
      'SELECT coalesce(max(version), 0) AS version FROM _schema_version',
    );
    const applied = current.rows[0]?.version ?? 0;
    for (const migration of migrations) {
      if (migration.version <= applied) continue;
      for (const statement of migration.statements) await client.query(statement);
      await client.query('INSERT INTO _schema_version VALUES ($1, now())', [migration.version]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Connects to PostgreSQL and brings the warehouse schema up to date. */
export async function openPostgresWarehouse(options: PostgresWarehouseOptions): Promise<PostgresWarehouse> {
  const schema = options.schema ?? 'deepref_warehouse';
  if (!schemaPattern.test(schema)) {
    throw new Error(
      `The warehouse schema "${schema}" is not a plain lower-case identifier (letters, digits, _; at most 63)`,
    );
  }
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 10,
    // Every connection works in the warehouse's schema, and dates and day boundaries in SQL are UTC.
    options: `-c search_path=${schema} -c TimeZone=UTC`,
    types: jsonFriendlyTypes,
  });
  // An idle connection that the server drops is replaced on next use; without a listener it would crash the process.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    try {
      await migrate(client, schema);
      const days = await existingPartitionDays(client);
      client.release();
      return new PostgresWarehouse(pool, days, options);
    } catch (error) {
      client.release(error instanceof Error ? error : true);
      throw error;
    }
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
}
