/**
 * The scheduler's `LeaderLock` on PostgreSQL: a session advisory lock held on one dedicated connection. Several
 * scheduler processes share one MetaStore; the one whose connection holds the lock runs the schedules, and when it
 * dies its connection closes, PostgreSQL frees the lock, and the next `isLeader()` of another process takes it.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { LeaderLock } from '../../batch/scheduler.ts';

export interface PostgresLeaderLockOptions {
  connectionString: string;
  /** What is locked: processes that pass the same name compete for one leadership (e.g. `deepref.scheduler`). */
  name: string;
}

/** The advisory lock key of a name: the first 8 bytes of its SHA-256, as a signed bigint. */
export function advisoryKey(name: string): string {
  return createHash('sha256').update(name).digest().readBigInt64BE(0).toString();
}

export class PostgresLeaderLock implements LeaderLock {
  readonly #options: PostgresLeaderLockOptions;
  readonly #key: string;
  #client: pg.Client | undefined;
  #held = false;
  // isLeader() calls take turns, so a connection is never opened twice.
  #turn: Promise<unknown> = Promise.resolve();

  constructor(options: PostgresLeaderLockOptions) {
    this.#options = options;
    this.#key = advisoryKey(options.name);
  }

  isLeader(): Promise<boolean> {
    const turn = this.#turn.then(() => this.#check());
    this.#turn = turn.catch(() => undefined);
    return turn;
  }

  async #check(): Promise<boolean> {
    try {
      if (!this.#client) {
        const client = new pg.Client({ connectionString: this.#options.connectionString });
        // A dropped connection loses the lock with it: forget both, and take the lock again on the next call.
        client.on('error', () => this.#forget(client));
        client.on('end', () => this.#forget(client));
        await client.connect();
        this.#client = client;
      }
      if (this.#held) {
        await this.#client.query('SELECT 1');
        return this.#held;
      }
      const result = await this.#client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock($1) AS locked',
        [this.#key],
      );
      this.#held = result.rows[0]?.locked === true;
      return this.#held;
    } catch {
      // Unreachable: not the leader now; the next call tries again.
      if (this.#client) this.#forget(this.#client);
      return false;
    }
  }

  #forget(client: pg.Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#held = false;
    client.end().catch(() => undefined);
  }

  async release(): Promise<void> {
    await this.#turn;
    const client = this.#client;
    if (!client) return;
    this.#client = undefined;
    this.#held = false;
    await client.end().catch(() => undefined);
  }
}
