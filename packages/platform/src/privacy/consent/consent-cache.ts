/**
 * Consent as the gate reads it: per subject, which user it belongs to and the newest record per purpose of that
 * user's group, cached so that the collector does not touch the MetaStore for every event. Every write goes
 * through here and invalidates what it changes in this process at once; `ttlMs` bounds how long a change made by
 * another process (a second collector, a CLI writing the store directly) can go unseen.
 */
import {
  type ConsentMode,
  type ConsentRecord,
  defaultGrants,
  type Grants,
  PURPOSES,
  type Purpose,
} from './consent.ts';
import type { ConsentChange, ConsentStore } from './consent-store.ts';

export interface ConsentCacheOptions {
  ttlMs: number;
  maxSubjects: number;
  /** The clock, in ms; tests may replace it. */
  now?: () => number;
}

/** Per purpose, the newest record's decision and id (ids order decisions across linked subjects). */
type Latest = Partial<Record<Purpose, { granted: boolean; id: number }>>;

/**
 * A map whose entries expire after `ttlMs`, holding at most `max`. Past `max`, the oldest entry not read since it
 * was last passed over goes first (second chance: an approximation of least recently used in which a read costs
 * no reordering of the map, as it is on every event's path).
 */
class ExpiringMap<V> {
  private readonly entries = new Map<string, { value: V; until: number; read: boolean }>();

  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
    private readonly now: () => number,
  ) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    entry.read = true;
    return entry.value;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    while (this.entries.size > 0 && this.entries.size >= this.max) this.evictOne();
    this.entries.set(key, { value, until: this.now() + this.ttlMs, read: false });
  }

  delete(key: string | undefined): void {
    if (key !== undefined) this.entries.delete(key);
  }

  /** Removes the oldest entry not read since it was last passed over; those read move to the end, unmarked. */
  private evictOne(): void {
    for (const [key, entry] of this.entries) {
      this.entries.delete(key);
      if (!entry.read) return;
      entry.read = false;
      this.entries.set(key, entry);
    }
  }
}

/** The newest decision per purpose across `latests`, over the mode's defaults. */
function merge(latests: readonly Latest[], mode: ConsentMode): Grants {
  const grants = defaultGrants(mode);
  for (const purpose of PURPOSES) {
    let newest = -1;
    for (const latest of latests) {
      const decision = latest[purpose];
      if (decision && decision.id > newest) {
        newest = decision.id;
        grants[purpose] = decision.granted;
      }
    }
  }
  return grants;
}

export class ConsentCache {
  private readonly roots: ExpiringMap<string>;
  private readonly latests: ExpiringMap<Latest>;
  /** Bumped by every write: a read that overlapped one does not fill the cache with what it saw before it. */
  private writes = 0;
  private readonly merged = new WeakMap<Latest, { mode: ConsentMode; grants: Grants }>();

  constructor(
    readonly store: ConsentStore,
    options: ConsentCacheOptions,
  ) {
    const now = options.now ?? Date.now;
    this.roots = new ExpiringMap(options.ttlMs, options.maxSubjects, now);
    this.latests = new ExpiringMap(options.ttlMs, options.maxSubjects, now);
  }

  /**
   * What the subjects named together (an event's `userId` and `anonymousId`) have granted: their groups' newest
   * record per purpose, the newest across them winning, and the mode's default for a purpose without one.
   */
  async grants(subjectIds: readonly string[], mode: ConsentMode): Promise<Grants> {
    const cached = this.cachedGrants(subjectIds, mode);
    if (cached) return cached;
    const roots = new Set(await Promise.all(subjectIds.map((id) => this.rootOf(id))));
    return merge(await Promise.all([...roots].map((root) => this.latestOf(root))), mode);
  }

  /**
   * `grants` from the cache alone, without a promise; undefined when a subject is not cached. The answer may be
   * shared with other callers (it is frozen).
   */
  cachedGrants(subjectIds: readonly string[], mode: ConsentMode): Grants | undefined {
    const latests: Latest[] = [];
    let oneGroup = true;
    for (const id of subjectIds) {
      const root = this.roots.get(id);
      const latest = root === undefined ? undefined : this.latests.get(root);
      if (latest === undefined) return undefined;
      if (latests.length > 0 && latest !== latests[0]) oneGroup = false;
      latests.push(latest);
    }
    // Usually every id is of one group (a user and their linked anonymous id): its grants are made once.
    if (latests.length > 0 && oneGroup) return this.grantsOf(latests[0]!, mode);
    return merge(latests, mode);
  }

  /** The grants of one group's latest decisions under `mode`, made once per `Latest` (replaced on every change). */
  private grantsOf(latest: Latest, mode: ConsentMode): Grants {
    const made = this.merged.get(latest);
    if (made?.mode === mode) return made.grants;
    const grants = Object.freeze(merge([latest], mode));
    this.merged.set(latest, { mode, grants });
    return grants;
  }

  /** Appends a decision (see `ConsentStore.record`); the next event of the subject's group sees it. */
  async record(change: ConsentChange): Promise<ConsentRecord[]> {
    this.writes++;
    try {
      const records = await this.store.record(change);
      this.latests.delete(await this.store.rootOf(change.subjectId));
      return records;
    } finally {
      this.writes++;
    }
  }

  /** Links an anonymous id to a user (see `ConsentStore.link`); a no-op when this process knows the link. */
  async link(anonymousId: string, userId: string): Promise<void> {
    if (anonymousId === userId || this.roots.get(anonymousId) === userId) return;
    this.writes++;
    try {
      const before = await this.store.link(anonymousId, userId);
      this.roots.delete(anonymousId);
      this.latests.delete(anonymousId);
      this.latests.delete(userId);
      this.latests.delete(before);
    } finally {
      this.writes++;
    }
  }

  private async rootOf(subjectId: string): Promise<string> {
    const cached = this.roots.get(subjectId);
    if (cached !== undefined) return cached;
    const writes = this.writes;
    const root = await this.store.rootOf(subjectId);
    if (writes === this.writes) this.roots.set(subjectId, root);
    return root;
  }

  private async latestOf(root: string): Promise<Latest> {
    const cached = this.latests.get(root);
    if (cached !== undefined) return cached;
    const writes = this.writes;
    const latest: Latest = {};
    for (const record of await this.store.latest(await this.store.group(root))) {
      latest[record.purpose] = { granted: record.granted, id: record.id };
    }
    if (writes === this.writes) this.latests.set(root, latest);
    return latest;
  }
}
