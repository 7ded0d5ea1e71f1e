/**
 * The `LakeStore` port (Data Lake Gen2 in the reference): objects under keys such as
 * `events/event_date=2026-11-27/part-….parquet`. Adapters: `fs/` (embedded default) and, later, `azure-blob/`.
 */
export interface LakeObject {
  key: string;
  size: number;
}

export interface LakeStore {
  /** Moves a finished local file into the lake under `key`, atomically (readers see all of it or none). */
  putFile(key: string, localPath: string): Promise<void>;
  /** A local path DuckDB can read the object from (for fs, the object itself). */
  localPath(key: string): Promise<string>;
  list(prefix: string): Promise<LakeObject[]>;
  delete(key: string): Promise<void>;
  /** A glob DuckDB's read_parquet accepts for everything under `prefix` (for fs, a path pattern). */
  glob(prefix: string): string;
}
