/**
 * The warehouse on DuckDB, one file with no server (the embedded default). Loads go through DuckDB's appender
 * inside a transaction that also stores the consumer's offset, so a crash at any point leaves either the whole
 * batch with its offset or neither. Operator SQL runs under three locks: only statements DuckDB itself types as
 * SELECT or EXPLAIN, inside a read-only transaction, on an instance with file and network access turned off.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBPreparedStatement,
  type DuckDBValue,
  StatementType,
} from '@duckdb/node-api';
import type { LogRecord } from '../../bus/event-log.ts';
import { DeeprefError } from '../../errors.ts';
import type { QueryResult, Warehouse } from '../warehouse.ts';
import { appendEventRows, discardAppender, eventsTableSql } from './duckdb-event-rows.ts';
import { queryResult } from './duckdb-results.ts';

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

export class DuckdbWarehouse implements Warehouse {
  readonly #instance: DuckDBInstance;
  readonly #writer: DuckDBConnection;
  readonly #maxResultRows: number;
  #writes: Promise<unknown> = Promise.resolve();
  readonly #reads = new Set<Promise<unknown>>();
  #closed = false;

  constructor(instance: DuckDBInstance, writer: DuckDBConnection, options: DuckdbWarehouseOptions) {
    this.#instance = instance;
    this.#writer = writer;
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
    await this.#exclusive(async () => {
      const writer = this.#writer;
      await writer.run('BEGIN TRANSACTION');
      try {
        const fresh = recordsAfter(records, await storedOffset(writer, consumer));
        const last = fresh.at(-1);
        if (last === undefined) {
          await writer.run('ROLLBACK');
          return;
        }
        // The appender joins the connection's open transaction: ROLLBACK discards its rows (tested).
        const appender = await writer.createAppender('events');
        try {
          await appendEventRows(appender, fresh);
          appender.flushSync();
        } catch (error) {
          discardAppender(appender);
          throw error;
        }
        appender.closeSync();
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
    });
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

/** Opens (creating if missing) the warehouse in `file`, bringing its schema up to date. */
export async function openDuckdbWarehouse(
  file: string,
  options: DuckdbWarehouseOptions = {},
): Promise<DuckdbWarehouse> {
  if (file !== ':memory:') await fs.mkdir(path.dirname(file), { recursive: true });
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
    return new DuckdbWarehouse(instance, writer, options);
  } catch (error) {
    instance.closeSync();
    throw error;
  }
}
