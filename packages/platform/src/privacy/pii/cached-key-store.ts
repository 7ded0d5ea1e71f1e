/**
 * A `KeyStore` that keeps a bounded number of unwrapped data keys in memory, so the collector does not unwrap a
 * key per event. `destroy` goes through it and evicts the subject first: erase through this object (the platform
 * exposes it as `keyStore`). Another process's erasure is not seen until the key leaves the cache; run erasure in
 * the process that ingests, or restart the ingest role after it.
 */
import type { DataKey, KeyStore, MasterKeyRotation } from '../keys/key-store.ts';

export class CachedKeyStore implements KeyStore {
  readonly #inner: KeyStore;
  readonly #maxKeys: number;
  readonly #keys = new Map<string, DataKey>();
  /** Subjects being erased: a lookup started before `destroy` must not put the old key back. */
  readonly #generation = new Map<string, number>();

  constructor(inner: KeyStore, maxKeys: number) {
    if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new TypeError('maxKeys must be a positive integer');
    this.#inner = inner;
    this.#maxKeys = maxKeys;
  }

  /** How many keys are held in memory now. */
  get size(): number {
    return this.#keys.size;
  }

  async dataKeyFor(subjectId: string): Promise<DataKey> {
    const cached = this.#hit(subjectId);
    if (cached) return cached;
    const generation = this.#generation.get(subjectId) ?? 0;
    const key = await this.#inner.dataKeyFor(subjectId);
    if ((this.#generation.get(subjectId) ?? 0) === generation) this.#remember(key);
    return key;
  }

  /** The keys of several subjects at once; each missing one is created (one lookup per subject, in parallel). */
  async dataKeysFor(subjectIds: Iterable<string>): Promise<Map<string, DataKey>> {
    const unique = [...new Set(subjectIds)];
    const keys = await Promise.all(unique.map((subjectId) => this.dataKeyFor(subjectId)));
    return new Map(unique.map((subjectId, i) => [subjectId, keys[i]!]));
  }

  async existingDataKey(subjectId: string): Promise<DataKey | undefined> {
    return this.#hit(subjectId) ?? this.#inner.existingDataKey(subjectId);
  }

  async destroy(subjectId: string): Promise<void> {
    this.#keys.delete(subjectId);
    this.#generation.set(subjectId, (this.#generation.get(subjectId) ?? 0) + 1);
    await this.#inner.destroy(subjectId);
    this.#keys.delete(subjectId);
  }

  rotateMasterKey(): Promise<MasterKeyRotation> {
    // The data keys do not change under a new master key, so the cached ones stay right.
    return this.#inner.rotateMasterKey();
  }

  async close(): Promise<void> {
    this.#keys.clear();
    await this.#inner.close();
  }

  #hit(subjectId: string): DataKey | undefined {
    const key = this.#keys.get(subjectId);
    if (key) {
      this.#keys.delete(subjectId);
      this.#keys.set(subjectId, key);
    }
    return key;
  }

  #remember(key: DataKey): void {
    this.#keys.delete(key.subjectId);
    if (this.#keys.size >= this.#maxKeys) this.#keys.delete(this.#keys.keys().next().value!);
    this.#keys.set(key.subjectId, key);
  }
}
