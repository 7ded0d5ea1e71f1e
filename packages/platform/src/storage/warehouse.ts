/**
 * The `Warehouse` port (Synapse in the reference): typed event rows for analytics SQL.
 * Loads are idempotent: the consumer's offset is stored in the same transaction as the rows, so a reload after a
 * crash stores nothing twice. Adapters: `duckdb/` (embedded default) and, later, `postgres/`.
 */
import type { LogRecord, RawLogRecord } from '../bus/event-log.ts';

export interface QueryResult {
  columns: string[];
  /** JSON-friendly values: exact integers as numbers (else strings), times as ISO 8601, JSON columns parsed. */
  rows: unknown[][];
  /** Set when the rows were cut at the adapter's row limit. */
  truncated?: boolean;
}

export interface Warehouse {
  /** Loads the records with offset above `consumer`'s stored offset and stores the new offset, in one transaction. */
  load(consumer: string, records: LogRecord[]): Promise<void>;
  /**
   * `load` for records as the log keeps them (JSON text), for an adapter whose engine parses JSON itself faster than
   * JavaScript does (DuckDB). The rows must be those `load` makes of the parsed records. Optional: the warehouse
   * loader uses it when there.
   */
  loadRaw?(consumer: string, records: RawLogRecord[]): Promise<void>;
  /** The offset `consumer` has loaded up to (0 when none). */
  loadedOffset(consumer: string): Promise<number>;
  /** Runs SQL written by the platform itself (analytics library, jobs). */
  query(sql: string, params?: unknown[]): Promise<QueryResult>;
  /** Runs an operator's SQL, refusing anything but read-only statements (`DEEPREF_READ_ONLY_QUERY`). */
  queryReadOnly(sql: string): Promise<QueryResult>;
  /**
   * Erasure (privacy requests): runs the platform's own DELETE statements in one transaction and leaves no copy of
   * the deleted rows in the engine's files. Resolves with the rows each statement removed. Optional only until
   * every adapter has it: a warehouse without it makes erasures fail with a message that says so.
   */
  eraseRows?(deletions: readonly SqlStatement[]): Promise<number[]>;
  close(): Promise<void>;
}

export interface SqlStatement {
  sql: string;
  params?: unknown[];
}
