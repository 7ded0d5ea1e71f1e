/**
 * A `KeyStore` that keeps a bounded number of unwrapped data keys in memory, so the collector does not unwrap a
 * key per event. `destroy` goes through it and evicts the subject first: erase through this object (the platform
 * exposes it as `keyStore`). A key destroyed by another process sharing the store (an erasure run elsewhere, on
 * the PostgreSQL key store) is used here for at most `ttlMs` after the erasure: each cached key expires `ttlMs`
 * after the lookup that fetched it began, and the next use asks the store again (which then makes a new key).
 */
import type { DataKey, KeyStore, MasterKeyRotation } from '../keys/key-store.ts';
import { defaultPrivacyConfig } from './policy.ts';

export interface CachedKeyStoreOptions {
  /** How long a key is used before the store is asked again (`privacy.dataKeyCacheTtlMs`). */
  ttlMs?: number;
  /** The clock, in ms; tests may replace it. */
  now?: () => number;
}

interface CachedKey {
  key: DataKey;
  /** When the key stops being used without asking the store. */
  until: number;
}

export class CachedKeyStore implements KeyStore {
  readonly #inner: KeyStore;
  readonly #maxKeys: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #keys = new Map<string, CachedKey>();
  /** Subjects being erased: a lookup started before `destroy` must not put the old key back. */
  readonly #generation = new Map<string, number>();

  constructor(inner: KeyStore, maxKeys: number, options: CachedKeyStoreOptions = {}) {
    if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new TypeError('maxKeys must be a positive integer');
    const ttlMs = options.ttlMs ?? defaultPrivacyConfig.dataKeyCacheTtlMs;
    if (!Number.isFinite(ttlMs) || ttlMs < 0) throw new TypeError('ttlMs must be a finite number, 0 or more');
    this.#inner = inner;
    this.#maxKeys = maxKeys;
    this.#ttlMs = ttlMs;
    this.#now = options.now ?? Date.now;
  }

  /** How many keys are held in memory now. */
  get size(): number {
    return this.#keys.size;
  }

  async dataKeyFor(subjectId: string): Promise<DataKey> {
    const cached = this.#hit(subjectId);
    if (cached) return cached;
    const generation = this.#generation.get(subjectId) ?? 0;
    // The key may be destroyed elsewhere right after the store read it: its time here counts from before the read.
    const until = this.#now() + this.#ttlMs;
    const key = await this.#inner.dataKeyFor(subjectId);
    if ((this.#generation.get(subjectId) ?? 0) === generation) this.#remember(key, until);
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
    const cached = this.#keys.get(subjectId);
    if (!cached) return undefined;
    this.#keys.delete(subjectId);
    if (cached.until <= this.#now()) return undefined;
    this.#keys.set(subjectId, cached);
    return cached.key;
  }

  #remember(key: DataKey, until: number): void {
    this.#keys.delete(key.subjectId);
    if (this.#keys.size >= this.#maxKeys) this.#keys.delete(this.#keys.keys().next().value!);
    this.#keys.set(key.subjectId, { key, until });
  }
}
