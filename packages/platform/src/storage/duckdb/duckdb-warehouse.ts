/**
 * The warehouse on DuckDB, one file with no server (the embedded default). Loads go in (from the log's JSON text,
 * `loadRaw`, or through DuckDB's appender, `load`) inside a transaction that also stores the consumer's offset, so
 * a crash at any point leaves either the whole batch with its offset or neither. Operator SQL runs under three locks: only statements DuckDB itself types as
 * SELECT or EXPLAIN, inside a read-only transaction, on an instance with file and network access turned off.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { StoredEvent } from '@deepref/schema';
import {
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBPreparedStatement,
  type DuckDBValue,
  StatementType,
} from '@duckdb/node-api';
import type { LogRecord, RawLogRecord } from '../../bus/event-log.ts';
import { DeeprefError } from '../../errors.ts';
import type { QueryResult, SqlStatement, Warehouse } from '../warehouse.ts';
import { appendEventRows, discardAppender, eventsTableSql } from './duckdb-event-rows.ts';
import { queryResult } from './duckdb-results.ts';
import { insertEventsFromJson } from './duckdb-staged-events.ts';

export interface DuckdbWarehouseOptions {
  /**
   * Write-ahead log size that triggers a checkpoint (default 256MB; DuckDB's own is 16MB). Fewer, larger
   * checkpoints cost less per event under a sustained load (measured: about 1.5x the events per second of 16MB);
   * the price is a longer log replay after a crash (about 2 seconds for 256MB).
   */
  checkpointThreshold?: string;
  /** Most rows `queryReadOnly` returns; the rest are cut and the result says `truncated`. */
  maxResultRows?: number;
  /** DuckDB worker threads (default: one per core). */
  threads?: number;
  /** DuckDB's memory limit, e.g. '2GB' (default: 80% of RAM). */
  memoryLimit?: string;
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
      eventsTableSql('events'),
      'CREATE TABLE IF NOT EXISTS _consumer_offsets (consumer VARCHAR PRIMARY KEY, log_offset BIGINT NOT NULL)',
    ],
  },
];

/** The statement types an operator may run; DESCRIBE, SHOW, SUMMARIZE, PRAGMA queries and WITH type as SELECT. */
const readOnlyTypes = new Set<StatementType>([StatementType.SELECT, StatementType.EXPLAIN]);

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]?.replace(/\.$/, '') ?? message;
}

function queryFailed(error: unknown): DeeprefError {
  if (error instanceof DeeprefError) return error;
  return new DeeprefError('DEEPREF_QUERY_FAILED', { detail: firstLine(error) }, { cause: error });
}

function bindable(value: unknown): DuckDBValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : value;
  if (typeof value === 'string' || typeof value === 'boolean' || typeof value === 'bigint') return value;
  if (value instanceof Date) return value.toISOString();
  throw new DeeprefError('DEEPREF_QUERY_FAILED', {
    detail: `a parameter of type ${typeof value} cannot be bound; pass strings, numbers, booleans or dates`,
  });
}

/** Records above `after`, strictly ascending: repeats inside a batch and replays of loaded offsets drop out. */
function recordsAfter<R extends { offset: number }>(records: readonly R[], after: number): R[] {
  const fresh: R[] = [];
  let last = after;
  for (const record of records) {
    if (record.offset > last) {
      fresh.push(record);
      last = record.offset;
    }
  }
  return fresh;
}

/** Appends the records' rows to `events` in the writer's open transaction: ROLLBACK discards them (tested). */
async function appendRows(writer: DuckDBConnection, records: LogRecord[]): Promise<void> {
  const appender = await writer.createAppender('events');
  try {
    await appendEventRows(appender, records);
    appender.flushSync();
  } catch (error) {
    discardAppender(appender);
    throw error;
  }
  appender.closeSync();
}

export class DuckdbWarehouse implements Warehouse {
  #instance: DuckDBInstance;
  #writer: DuckDBConnection;
  readonly #file: string;
  readonly #options: DuckdbWarehouseOptions;
  readonly #maxResultRows: number;
  #writes: Promise<unknown> = Promise.resolve();
  readonly #reads = new Set<Promise<unknown>>();
  /** Set while `eraseRows` swaps the database file: new reads wait for it. */
  #swapping: Promise<void> | undefined;
  #closed = false;

  constructor(
    instance: DuckDBInstance,
    writer: DuckDBConnection,
    options: DuckdbWarehouseOptions,
    file = ':memory:',
  ) {
    this.#instance = instance;
    this.#writer = writer;
    this.#file = file;
    this.#options = options;
    this.#maxResultRows = options.maxResultRows ?? 100_000;
  }

  /** Runs `work` after every write before it: one transaction at a time on the writer connection. */
  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#writes.then(work, work);
    this.#writes = run.catch(() => undefined);
    return run;
  }

  /** Runs `work` on a connection of its own, so reads never wait for a load (and see only committed rows). */
  #withConnection<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('The warehouse is closed'));
    const run = (async () => {
      await this.#swapping;
      const connection = await this.#instance.connect();
      try {
        return await work(connection);
      } finally {
        connection.closeSync();
      }
    })();
    this.#reads.add(run);
    const forget = () => this.#reads.delete(run);
    run.then(forget, forget);
    return run;
  }

  async load(consumer: string, records: LogRecord[]): Promise<void> {
    if (this.#closed) throw new Error('The warehouse is closed');
    if (records.length === 0) return;
    await this.#exclusive(() => this.#loadInTransaction(consumer, records, appendRows));
  }

  /**
   * `load` from the log's JSON text: DuckDB makes the rows (duckdb-staged-events.ts). A batch it refuses (a time
   * in a form the collector does not write, text its JSON reader rejects) is parsed and loaded as `load` does.
   */
  async loadRaw(consumer: string, records: RawLogRecord[]): Promise<void> {
    if (this.#closed) throw new Error('The warehouse is closed');
    if (records.length === 0) return;
    await this.#exclusive(async () => {
      try {
        await this.#loadInTransaction(consumer, records, (writer, fresh) =>
          insertEventsFromJson(writer, 'events', fresh),
        );
      } catch {
        const parsed = records.map(({ offset, body }) => ({
          offset,
          event: JSON.parse(body) as StoredEvent,
        }));
        await this.#loadInTransaction(consumer, parsed, appendRows);
      }
    });
  }

  /** One load: the records above the stored offset, inserted by `insert`, and the new offset, in one transaction. */
  async #loadInTransaction<R extends { offset: number }>(
    consumer: string,
    records: readonly R[],
    insert: (writer: DuckDBConnection, fresh: R[]) => Promise<void>,
  ): Promise<void> {
    const writer = this.#writer;
    await writer.run('BEGIN TRANSACTION');
    try {
      const fresh = recordsAfter(records, await storedOffset(writer, consumer));
      const last = fresh.at(-1);
      if (last === undefined) {
        await writer.run('ROLLBACK');
        return;
      }
      await insert(writer, fresh);
      await writer.run(
        `INSERT INTO _consumer_offsets VALUES ($1, $2)
         ON CONFLICT (consumer) DO UPDATE SET log_offset = excluded.log_offset`,
        [consumer, BigInt(last.offset)],
      );
      await writer.run('COMMIT');
    } catch (error) {
      // A failed COMMIT has already rolled back, and then ROLLBACK has nothing to undo.
      await writer.run('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  async loadedOffset(consumer: string): Promise<number> {
    return this.#withConnection((connection) => storedOffset(connection, consumer));
  }

  async query(sql: string, params: unknown[] = []): Promise<QueryResult> {
    const values = params.map(bindable);
    return this.#withConnection(async (connection) => {
      try {
        return queryResult(await connection.runAndReadAll(sql, values));
      } catch (error) {
        throw queryFailed(error);
      }
    });
  }

  async queryReadOnly(sql: string): Promise<QueryResult> {
    return this.#withConnection(async (connection) => {
      const statement = await readOnlyStatement(connection, sql);
      try {
        // EXPLAIN ANALYZE types as EXPLAIN yet runs its statement; the read-only transaction makes any write fail.
        await connection.run('BEGIN TRANSACTION READ ONLY');
        const reader = await statement.streamAndReadUntil(this.#maxResultRows + 1);
        return queryResult(reader, this.#maxResultRows);
      } catch (error) {
        throw queryFailed(error);
      } finally {
        await connection.run('ROLLBACK').catch(() => undefined);
        statement.destroySync();
      }
    });
  }

  /**
   * Erasure: runs the deletions in one transaction, then rewrites the database file from its live rows (COPY FROM
   * DATABASE into a fresh file, renamed over the old one), because DuckDB leaves deleted rows in its blocks and
   * never overwrites a freed block (measured: a deleted value is still in the file after CHECKPOINT and VACUUM).
   * Loads wait meanwhile; reads in flight finish first and new ones wait for the swap.
   */
  eraseRows(deletions: readonly SqlStatement[]): Promise<number[]> {
    if (this.#closed) return Promise.reject(new Error('The warehouse is closed'));
    return this.#exclusive(async () => {
      const writer = this.#writer;
      const changes: number[] = [];
      await writer.run('BEGIN TRANSACTION');
      try {
        for (const { sql, params = [] } of deletions) {
          const result = await writer.run(sql, params.map(bindable));
          changes.push(Number(result.rowsChanged));
        }
        await writer.run('COMMIT');
      } catch (error) {
        await writer.run('ROLLBACK').catch(() => undefined);
        throw queryFailed(error);
      }
      if (this.#file !== ':memory:') await this.#rewriteFile();
      return changes;
    });
  }

  /**
   * An online backup: a CHECKPOINT (loads wait; DuckDB refuses while another transaction writes, so it is retried),
   * then a copy of the checkpointed file. Writes after the checkpoint go to the write-ahead log, which is not copied,
   * so the copy is the database as of the checkpoint.
   */
  backupTo(target: string): Promise<void> {
    if (this.#file === ':memory:')
      return Promise.reject(new Error('An in-memory warehouse has no file to back up'));
    return this.#exclusive(async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          await this.#writer.run('CHECKPOINT');
          break;
        } catch (error) {
          if (attempt >= 100) throw error;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      await fs.mkdir(path.dirname(target), { recursive: true });
      await fs.copyFile(this.#file, target);
    });
  }

  async #rewriteFile(): Promise<void> {
    let done!: () => void;
    this.#swapping = new Promise((resolve) => {
      done = resolve;
    });
    try {
      await Promise.allSettled([...this.#reads]);
      this.#writer.closeSync();
      this.#instance.closeSync();
      const fresh = `${this.#file}.rewrite`;
      await fs.rm(fresh, { force: true });
      const copier = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false' });
      try {
        const connection = await copier.connect();
        await connection.run(
          `ATTACH ${sqlLiteral(this.#file)} AS old (READ_ONLY); ATTACH ${sqlLiteral(fresh)} AS fresh;
           COPY FROM DATABASE old TO fresh; DETACH old; DETACH fresh`,
        );
        connection.closeSync();
      } finally {
        copier.closeSync();
      }
      // Closing checkpointed the old file, so its write-ahead log is empty; it must not be replayed onto the new one.
      await fs.rm(`${this.#file}.wal`, { force: true });
      await fs.rename(fresh, this.#file);
    } finally {
      const { instance, writer } = await openInstance(this.#file, this.#options);
      this.#instance = instance;
      this.#writer = writer;
      this.#swapping = undefined;
      done();
    }
  }

  /** Waits for the loads and queries in flight, then closes (DuckDB checkpoints the file on the way). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#exclusive(async () => undefined);
    await Promise.allSettled([...this.#reads]);
    this.#writer.closeSync();
    this.#instance.closeSync();
  }
}

async function storedOffset(connection: DuckDBConnection, consumer: string): Promise<number> {
  const reader = await connection.runAndReadAll(
    'SELECT log_offset FROM _consumer_offsets WHERE consumer = $1',
    [consumer],
  );
  const value = reader.getRows()[0]?.[0];
  return value === undefined || value === null ? 0 : Number(value);
}

/** The single statement of `sql`, prepared, when DuckDB types it as read-only; otherwise a refusal. */
async function readOnlyStatement(
  connection: DuckDBConnection,
  sql: string,
): Promise<DuckDBPreparedStatement> {
  let extracted: Awaited<ReturnType<DuckDBConnection['extractStatements']>>;
  try {
    extracted = await connection.extractStatements(sql);
  } catch (error) {
    // DuckDB's native layer reports text without any statement (blank, only comments) with no message of its own.
    if (firstLine(error) === 'Error in native callback') {
      throw new DeeprefError('DEEPREF_QUERY_FAILED', { detail: 'the text holds no SQL statement' });
    }
    throw queryFailed(error);
  }
  if (extracted.count !== 1) {
    throw new DeeprefError('DEEPREF_READ_ONLY_QUERY', {
      detail: `found ${extracted.count} statements; send one statement at a time`,
    });
  }
  let statement: DuckDBPreparedStatement;
  try {
    statement = await extracted.prepare(0);
  } catch (error) {
    throw queryFailed(error);
  }
  if (!readOnlyTypes.has(statement.statementType)) {
    const type = StatementType[statement.statementType] ?? String(statement.statementType);
    statement.destroySync();
    throw new DeeprefError('DEEPREF_READ_ONLY_QUERY', { detail: `found a ${type} statement` });
  }
  return statement;
}

async function migrate(connection: DuckDBConnection): Promise<void> {
  await connection.run(
    'CREATE TABLE IF NOT EXISTS _schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)',
  );
  const reader = await connection.runAndReadAll('SELECT coalesce(max(version), 0) FROM _schema_version');
  const current = Number(reader.getRows()[0]?.[0] ?? 0);
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    await connection.run('BEGIN TRANSACTION');
    try {
      for (const statement of migration.statements) await connection.run(statement);
      await connection.run('INSERT INTO _schema_version VALUES ($1, now())', [migration.version]);
      await connection.run('COMMIT');
    } catch (error) {
      await connection.run('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }
}

function sqlLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** Opens (creating if missing) the warehouse in `file`, bringing its schema up to date. */
export async function openDuckdbWarehouse(
  file: string,
  options: DuckdbWarehouseOptions = {},
): Promise<DuckdbWarehouse> {
  if (file !== ':memory:') await fs.mkdir(path.dirname(file), { recursive: true });
  const { instance, writer } = await openInstance(file, options);
  return new DuckdbWarehouse(instance, writer, options, file);
}

/** The instance on `file` with its writer connection, migrated and configured. */
async function openInstance(
  file: string,
  options: DuckdbWarehouseOptions,
): Promise<{ instance: DuckDBInstance; writer: DuckDBConnection }> {
  const config: Record<string, string> = {
    autoinstall_known_extensions: 'false',
    checkpoint_threshold: options.checkpointThreshold ?? '256MB',
  };
  if (options.threads !== undefined) config.threads = String(options.threads);
  if (options.memoryLimit !== undefined) config.memory_limit = options.memoryLimit;
  const instance = await DuckDBInstance.create(file, config);
  try {
    const writer = await instance.connect();
    await migrate(writer);
    // Dates and day boundaries in SQL are UTC whatever the host's zone. TimeZone needs ICU, loaded only once the
    // instance exists, so these are SET here rather than passed as config; the lock then keeps them.
    await writer.run("SET GLOBAL TimeZone = 'UTC'");
    await writer.run('SET GLOBAL enable_external_access = false');
    await writer.run('SET GLOBAL lock_configuration = true');
    return { instance, writer };
  } catch (error) {
    instance.closeSync();
    throw error;
  }
}
