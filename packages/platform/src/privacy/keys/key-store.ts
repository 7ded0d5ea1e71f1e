/**
 * The `KeyStore` port (Key Vault in the reference): one data key per subject, kept wrapped under a master key.
 * Destroying a subject's data key is how erasure reaches copies that rows cannot (Parquet files, exports,
 * backups): every value encrypted under it stops decrypting. Adapters: `local/` (embedded default), `postgres/`
 * (shared by the processes of a split deployment), later Key Vault; `key-store.contract.ts` is what each must pass.
 */
import type { KeyObject } from 'node:crypto';

/** A subject's 256-bit data key, unwrapped, in memory only. */
export interface DataKey {
  subjectId: string;
  /**
   * Random id of this key (base64url, 11 characters), written into every value encrypted under it. A key
   * created after an erasure gets a new id, so old values can never be mistaken for its own.
   */
  keyId: string;
  /** AES-256 secret key; a KeyObject so that logging or serializing it does not print the bytes. */
  key: KeyObject;
}

export interface MasterKeyRotation {
  /** The version of the master key that now wraps every data key. */
  masterKeyVersion: number;
  /** How many data keys were re-wrapped. */
  rewrapped: number;
}

export interface KeyStore {
  /** The subject's data key, created on first use (concurrent callers get the same key). */
  dataKeyFor(subjectId: string): Promise<DataKey>;
  /** The subject's data key, or undefined when it has none (never had one, or it was destroyed). */
  existingDataKey(subjectId: string): Promise<DataKey | undefined>;
  /**
   * Crypto-shredding: removes the subject's data key so that nothing encrypted under it decrypts again, and
   * leaves no copy of it behind in the store's files. A later `dataKeyFor` creates a different key.
   */
  destroy(subjectId: string): Promise<void>;
  /** Re-wraps every data key under a new master key, atomically; the data keys themselves do not change. */
  rotateMasterKey(): Promise<MasterKeyRotation>;
  close(): Promise<void>;
}
