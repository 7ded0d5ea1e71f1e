/**
 * The lake writer: the event-log consumer that keeps every event as Parquet, Hive-partitioned by UTC event date,
 * `events/event_date=YYYY-MM-DD/part-<from>-<to>.parquet`. It writes through an in-memory DuckDB of its own, so it
 * works whatever engine the warehouse runs on.
 *
 * Exactly once, with the lake and the log committing separately: a batch's files are named by its offset range and
 * moved into the lake before its offset is committed in the log; on start (and after a failed batch) files whose
 * range starts above the committed offset are an unfinished batch and are deleted before it is written again.
 * Compaction merges a partition's files into `compact-<minFrom>-<maxTo>.parquet` and only then deletes them, so a
 * file whose range lies within another's of the same partition is a crashed compaction's input, deleted on start.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { StoredEvent } from '@deepref/schema';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { type EventLog, type LogRecord, type RawLogRecord, readRawRecords } from '../bus/event-log.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { EventDataClass } from '../privacy/retention/retention-policy.ts';
import { appendEventRows, discardAppender, eventsTableSql } from './duckdb/duckdb-event-rows.ts';
import { insertEventsFromJson } from './duckdb/duckdb-staged-events.ts';
import { partitionColumn } from './event-columns.ts';
import { expireLakeEvents } from './lake-retention.ts';
import type { LakeStore } from './lake-store.ts';
import { eraseSubjectFromLake, findSubjectInLake, type LakeSubjectRows } from './lake-subject-erasure.ts';
import { type LogConsumer, progressToMetrics, runConsumer } from './log-consumer.ts';

export const lakeConsumer = 'lake';
export const lakeEventsPrefix = 'events/';

export interface LakeWriterOptions {
  log: EventLog;
  lake: LakeStore;
  metrics?: Metrics;
  /**
   * A local folder for files being written (default: a new folder in the OS temp dir). On the lake's file system
   * a put is a rename; elsewhere it is a copy.
   */
  stagingDir?: string;
  /** Most events per batch, so per file (default 50,000). */
  batchSize?: number;
  /**
   * Sleep once caught up, in milliseconds (default 10,000). Each batch writes a file per date it touches, so this
   * sets how small files get when traffic is light.
   */
  idleMs?: number;
  /** A partition holding more files than this is merged into one (default 16). */
  compactAfterFiles?: number;
  onError?: (error: unknown, consumer: string) => void;
}

export interface LakeFile {
  key: string;
  /** The partition folder, e.g. `event_date=2026-11-27`. */
  partition: string;
  kind: 'part' | 'compact';
  from: number;
  to: number;
}

const offsetDigits = 16; // Number.MAX_SAFE_INTEGER has 16 digits
const fileName = /^(part|compact)-(\d+)-(\d+)\.parquet$/;

function padded(offset: number): string {
  return String(offset).padStart(offsetDigits, '0');
}

export function lakeFileKey(partition: string, kind: LakeFile['kind'], from: number, to: number): string {
  return `${lakeEventsPrefix}${partition}/${kind}-${padded(from)}-${padded(to)}.parquet`;
}

/** The lake file a key names, or undefined for any other object under the prefix. */
export function parseLakeFile(key: string): LakeFile | undefined {
  if (!key.startsWith(lakeEventsPrefix)) return undefined;
  const parts = key.slice(lakeEventsPrefix.length).split('/');
  const [partition, name] = parts;
  if (parts.length !== 2 || partition === undefined || name === undefined) return undefined;
  if (!partition.startsWith(`${partitionColumn}=`)) return undefined;
  const match = fileName.exec(name);
  if (!match) return undefined;
  return {
    key,
    partition,
    kind: match[1] as LakeFile['kind'],
    from: Number(match[2]),
    to: Number(match[3]),
  };
}

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** Files that a crashed compaction left behind: each lies within another file's range of the same partition. */
export function supersededFiles(files: readonly LakeFile[]): LakeFile[] {
  return files.filter((file) =>
    files.some(
      (other) =>
        other !== file &&
        other.partition === file.partition &&
        other.from <= file.from &&
        file.to <= other.to &&
        (other.from < file.from || file.to < other.to || (other.kind === 'compact' && file.kind === 'part')),
    ),
  );
}

/** Appends the records' rows to the writer's `batch` table. */
async function appendBatchRows(connection: DuckDBConnection, records: readonly LogRecord[]): Promise<void> {
  const appender = await connection.createAppender('batch');
  try {
    await appendEventRows(appender, records);
  } catch (error) {
    discardAppender(appender);
    throw error;
  }
  appender.closeSync();
}

export class LakeWriter {
  readonly #log: EventLog;
  readonly #lake: LakeStore;
  readonly #stagingDir: string;
  readonly #compactAfterFiles: number;
  readonly #onError: (error: unknown, consumer: string) => void;
  readonly #instance: DuckDBInstance;
  readonly #connection: DuckDBConnection;
  readonly #ownsStagingDir: boolean;
  readonly consumer: LogConsumer;
  // Set when a batch failed part way: its files may be in the lake, so they are cleared before the next one.
  #unsettled = true;
  #closed = false;
  // write, compact and recover share one DuckDB connection and the lake; they take turns.
  #turns: Promise<unknown> = Promise.resolve();

  private constructor(
    options: LakeWriterOptions,
    stagingDir: string,
    instance: DuckDBInstance,
    connection: DuckDBConnection,
  ) {
    this.#log = options.log;
    this.#lake = options.lake;
    this.#stagingDir = stagingDir;
    this.#ownsStagingDir = options.stagingDir === undefined;
    this.#compactAfterFiles = options.compactAfterFiles ?? 16;
    this.#onError = options.onError ?? ((error) => console.error('deepref: lake compaction failed:', error));
    this.#instance = instance;
    this.#connection = connection;
    this.consumer = runConsumer<RawLogRecord>({
      name: lakeConsumer,
      log: options.log,
      batchSize: options.batchSize ?? 50_000,
      idleMs: options.idleMs ?? 10_000,
      startAfter: () => options.log.committedOffset(lakeConsumer),
      read: (after, limit) => readRawRecords(options.log, after, limit),
      handle: (records) => this.writeRaw(records),
      ...(options.metrics ? { onProgress: progressToMetrics(options.metrics) } : {}),
      ...(options.onError ? { onError: options.onError } : {}),
    });
  }

  /** Opens the writer and recovers the lake from any crash; call `consumer.start()` or `drain()` next. */
  static async open(options: LakeWriterOptions): Promise<LakeWriter> {
    const stagingDir =
      options.stagingDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'deepref-lake-staging-')));
    await fs.mkdir(stagingDir, { recursive: true });
    // What a crashed run left half written; nothing else in the folder is touched.
    for (const entry of await fs.readdir(stagingDir)) {
      if (/^((batch|compact)-\d+-\d+|erase-|expire-)/.test(entry)) {
        await fs.rm(path.join(stagingDir, entry), { recursive: true, force: true });
      }
    }
    const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false' });
    const connection = await instance.connect();
    await connection.run(eventsTableSql('batch'));
    const writer = new LakeWriter(options, stagingDir, instance, connection);
    try {
      await writer.recover();
    } catch (error) {
      connection.closeSync();
      instance.closeSync();
      throw error;
    }
    return writer;
  }

  /** The lake's event files, parsed; only those of one partition when given. */
  async files(partition?: string): Promise<LakeFile[]> {
    const objects = await this.#lake.list(partition ? `${lakeEventsPrefix}${partition}/` : lakeEventsPrefix);
    return objects.map((object) => parseLakeFile(object.key)).filter((file) => file !== undefined);
  }

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.#turns.then(work, work);
    this.#turns = turn.catch(() => undefined);
    return turn;
  }

  /** Deletes an unfinished batch's files and a crashed compaction's inputs. */
  recover(): Promise<void> {
    return this.#exclusive(() => this.#recover());
  }

  async #recover(): Promise<void> {
    const committed = await this.#log.committedOffset(lakeConsumer);
    const files = await this.files();
    const unfinished = files.filter((file) => file.from > committed);
    for (const file of unfinished) await this.#lake.delete(file.key);
    const kept = files.filter((file) => file.from <= committed);
    for (const file of supersededFiles(kept)) await this.#lake.delete(file.key);
    this.#unsettled = false;
  }

  /** Writes one batch (ascending offsets) as a file per date, then commits its last offset in the log. */
  write(records: LogRecord[]): Promise<void> {
    return this.#exclusive(() => this.#write(records, (connection) => appendBatchRows(connection, records)));
  }

  /**
   * `write` from the log's JSON text: DuckDB makes the rows (duckdb-staged-events.ts). A batch it refuses (a time
   * in a form the collector does not write, text its JSON reader rejects) is parsed and written as `write` does.
   */
  writeRaw(records: RawLogRecord[]): Promise<void> {
    return this.#exclusive(() =>
      this.#write(records, async (connection) => {
        try {
          await insertEventsFromJson(connection, 'batch', records);
        } catch {
          await connection.run('DELETE FROM batch');
          const parsed = records.map(({ offset, body }) => ({
            offset,
            event: JSON.parse(body) as StoredEvent,
          }));
          await appendBatchRows(connection, parsed);
        }
      }),
    );
  }

  async #write(
    records: readonly { offset: number }[],
    fill: (connection: DuckDBConnection) => Promise<void>,
  ): Promise<void> {
    const first = records[0];
    const last = records.at(-1);
    if (first === undefined || last === undefined) return;
    if (this.#unsettled) await this.#recover();
    this.#unsettled = true;
    const folder = path.join(this.#stagingDir, `batch-${padded(first.offset)}-${padded(last.offset)}`);
    await fs.rm(folder, { recursive: true, force: true });
    const partitions: string[] = [];
    try {
      await this.#connection.run('DELETE FROM batch');
      await fill(this.#connection);
      await this.#connection.run(
        `COPY batch TO ${sqlString(folder)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (${partitionColumn}))`,
      );
      for (const partition of await fs.readdir(folder)) {
        const written = await fs.readdir(path.join(folder, partition));
        if (written.length !== 1)
          throw new Error(`Expected one Parquet file in ${partition}, found ${written.length}`);
        await this.#lake.putFile(
          lakeFileKey(partition, 'part', first.offset, last.offset),
          path.join(folder, partition, written[0]!),
        );
        partitions.push(partition);
      }
      await this.#log.commitOffset(lakeConsumer, last.offset);
      this.#unsettled = false;
    } finally {
      await this.#connection.run('DELETE FROM batch').catch(() => undefined);
      await fs.rm(folder, { recursive: true, force: true });
    }
    for (const partition of partitions) {
      try {
        await this.#compact(partition, false);
      } catch (error) {
        // The batch is committed; a failed compaction leaves only extra files, which recovery sorts out.
        this.#unsettled = true;
        this.#onError(error, lakeConsumer);
      }
    }
  }

  /** Merges all files of `partition` into one when it holds more than the limit (or any, with `force`). */
  compact(partition: string, options: { force?: boolean } = {}): Promise<boolean> {
    return this.#exclusive(() => this.#compact(partition, options.force ?? false));
  }

  async #compact(partition: string, force: boolean): Promise<boolean> {
    const files = (await this.files(partition)).sort((a, b) => a.from - b.from);
    if (files.length <= (force ? 1 : this.#compactAfterFiles)) return false;
    const from = Math.min(...files.map((file) => file.from));
    const to = Math.max(...files.map((file) => file.to));
    const sources = await Promise.all(files.map((file) => this.#lake.localPath(file.key)));
    const output = path.join(this.#stagingDir, `compact-${padded(from)}-${padded(to)}.parquet`);
    try {
      // hive_partitioning off: the date lives in the folder name, not in the files, and stays so.
      await this.#connection.run(
        `COPY (SELECT * FROM read_parquet([${sources.map(sqlString).join(', ')}],
                hive_partitioning = false, union_by_name = true))
         TO ${sqlString(output)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      await this.#lake.putFile(lakeFileKey(partition, 'compact', from, to), output);
    } finally {
      await fs.rm(output, { force: true });
    }
    for (const file of files) await this.#lake.delete(file.key);
    return true;
  }

  /** Privacy requests: the subject's rows, read through DuckDB between batches (lake-subject-erasure.ts). */
  findSubject(ids: readonly string[]): Promise<LakeSubjectRows> {
    return this.#exclusive(async () =>
      findSubjectInLake(this.#connection, this.#lake, await this.files(), ids),
    );
  }

  /** Erasure: rewrites every file holding the subject's rows without them, between batches and compactions. */
  eraseSubject(ids: readonly string[]): Promise<{ rows: number; rewritten: string[]; deleted: string[] }> {
    return this.#exclusive(async () =>
      eraseSubjectFromLake(this.#connection, this.#lake, this.#stagingDir, await this.files(), ids),
    );
  }

  /** Retention: removes the rows of each class from the day partitions past its cutoff (lake-retention.ts). */
  expireEvents(
    cutoffs: Record<EventDataClass, Date>,
    dryRun: boolean,
  ): Promise<Record<EventDataClass, number>> {
    return this.#exclusive(async () =>
      expireLakeEvents(this.#connection, this.#lake, this.#stagingDir, await this.files(), cutoffs, dryRun),
    );
  }

  /** Writes everything the log holds now. */
  drain(): Promise<void> {
    return this.consumer.drain();
  }

  start(): void {
    this.consumer.start();
  }

  /** Stops the loop (with `drain`, after writing what the log holds) and closes the writer's DuckDB for good. */
  async stop(options: { drain?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    try {
      await this.consumer.stop(options);
    } finally {
      await this.#turns;
      this.#closed = true;
      this.#connection.closeSync();
      this.#instance.closeSync();
      if (this.#ownsStagingDir) await fs.rm(this.#stagingDir, { recursive: true, force: true });
    }
  }
}

/** Opens the lake writer, recovers the lake, and starts it polling the log. */
export async function startLakeWriter(options: LakeWriterOptions): Promise<LakeWriter> {
  const writer = await LakeWriter.open(options);
  writer.start();
  return writer;
}
