/**
 * Users, their sessions and read API keys in the MetaStore. Secrets are kept only as hashes: passwords with
 * scrypt, session tokens and API keys (long random strings, so a plain SHA-256 suffices) with SHA-256.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { ApiKeysTable, MetaStore } from '../../storage/meta-store.ts';
import { decoyHash, generatePassword, hashPassword, verifyPassword } from './passwords.ts';

/** The account made on the first start. */
export const adminUsername = 'admin';
/** What a read API key starts with; a write key starts with `drk_` and something else. */
export const apiKeyPrefix = 'drk_read_';
/** A session ends this long after sign-in, whatever its activity. */
export const sessionMaxAgeMs = 7 * 86_400_000;
/** A session ends after this long without a request. */
export const sessionIdleMs = 8 * 3_600_000;
/** `last_seen_at` is written at most this often per session, so that reads do not each cost a write. */
const touchEveryMs = 60_000;

export interface User {
  id: string;
  username: string;
}

export interface ApiKeyListing {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export type SessionLookup =
  | { status: 'active'; user: User }
  | { status: 'ended'; reason: 'unknown or signed out' | 'idle for too long' | 'past its maximum age' };

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function listing(row: ApiKeysTable): ApiKeyListing {
  return {
    id: row.id,
    name: row.name,
    prefix: row.key_prefix,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

export class Accounts {
  constructor(
    private readonly db: MetaStore,
    private readonly now: () => Date,
  ) {}

  /** Makes the admin account when there is no user yet; returns its generated password then, else undefined. */
  async ensureAdmin(): Promise<string | undefined> {
    const existing = await this.db.selectFrom('users').select('id').limit(1).executeTakeFirst();
    if (existing) return undefined;
    const password = generatePassword();
    const at = this.now().toISOString();
    // Another process starting on the same store at the same moment: the unique username keeps one admin.
    const result = await this.db
      .insertInto('users')
      .values({
        id: randomUUID(),
        username: adminUsername,
        password_hash: await hashPassword(password),
        created_at: at,
        password_changed_at: at,
      })
      .onConflict((oc) => oc.column('username').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1 ? password : undefined;
  }

  /** The user when the password is right, else undefined (as slow for an unknown username as for a known one). */
  async checkPassword(username: string, password: string): Promise<User | undefined> {
    const row = await this.db
      .selectFrom('users')
      .select(['id', 'username', 'password_hash'])
      .where('username', '=', username)
      .executeTakeFirst();
    const ok = await verifyPassword(password, row?.password_hash ?? (await decoyHash()));
    return row && ok ? { id: row.id, username: row.username } : undefined;
  }

  async setPassword(userId: string, password: string): Promise<void> {
    await this.db
      .updateTable('users')
      .set({ password_hash: await hashPassword(password), password_changed_at: this.now().toISOString() })
      .where('id', '=', userId)
      .execute();
  }

  async findUser(username: string): Promise<User | undefined> {
    return this.db
      .selectFrom('users')
      .select(['id', 'username'])
      .where('username', '=', username)
      .executeTakeFirst();
  }

  /** Starts a session; returns the token for the cookie (only its hash is stored). */
  async createSession(userId: string): Promise<{ token: string; expiresAt: Date }> {
    const token = randomBytes(32).toString('base64url');
    const now = this.now();
    const expiresAt = new Date(now.getTime() + sessionMaxAgeMs);
    await this.db
      .insertInto('sessions')
      .values({
        token_hash: sha256(token),
        user_id: userId,
        created_at: now.toISOString(),
        last_seen_at: now.toISOString(),
        expires_at: expiresAt.toISOString(),
      })
      .execute();
    return { token, expiresAt };
  }

  /** The user of an active session (marking it seen), or why it is not active (an ended one is deleted). */
  async lookupSession(token: string): Promise<SessionLookup> {
    const tokenHash = sha256(token);
    const row = await this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select(['users.id', 'users.username', 'sessions.last_seen_at', 'sessions.expires_at'])
      .where('sessions.token_hash', '=', tokenHash)
      .executeTakeFirst();
    if (!row) return { status: 'ended', reason: 'unknown or signed out' };
    const now = this.now().getTime();
    const lastSeen = Date.parse(row.last_seen_at);
    const reason =
      now >= Date.parse(row.expires_at)
        ? 'past its maximum age'
        : now - lastSeen >= sessionIdleMs
          ? 'idle for too long'
          : undefined;
    if (reason) {
      await this.db.deleteFrom('sessions').where('token_hash', '=', tokenHash).execute();
      return { status: 'ended', reason };
    }
    if (now - lastSeen >= touchEveryMs) {
      await this.db
        .updateTable('sessions')
        .set({ last_seen_at: new Date(now).toISOString() })
        .where('token_hash', '=', tokenHash)
        .execute();
    }
    return { status: 'active', user: { id: row.id, username: row.username } };
  }

  async endSession(token: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('token_hash', '=', sha256(token)).execute();
  }

  /** Ends every session of a user, but the one of `keepToken` when given. */
  async endSessionsOf(userId: string, keepToken?: string): Promise<void> {
    let query = this.db.deleteFrom('sessions').where('user_id', '=', userId);
    if (keepToken !== undefined) query = query.where('token_hash', '!=', sha256(keepToken));
    await query.execute();
  }

  /** Makes a read API key; the key is in this answer only. */
  async createApiKey(name: string, createdBy: string): Promise<ApiKeyListing & { key: string }> {
    const key = apiKeyPrefix + randomBytes(24).toString('base64url');
    const row: ApiKeysTable = {
      id: randomUUID(),
      name,
      key_hash: sha256(key),
      key_prefix: key.slice(0, apiKeyPrefix.length + 6),
      created_by: createdBy,
      created_at: this.now().toISOString(),
      last_used_at: null,
      revoked_at: null,
    };
    await this.db.insertInto('api_keys').values(row).execute();
    return { ...listing(row), key };
  }

  async listApiKeys(): Promise<ApiKeyListing[]> {
    const rows = await this.db.selectFrom('api_keys').selectAll().orderBy('created_at').execute();
    return rows.map(listing);
  }

  /** Revokes an active key by id; false when there is none. */
  async revokeApiKey(id: string): Promise<boolean> {
    const result = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: this.now().toISOString() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** The active API key a clear key belongs to (marking it used), or undefined. */
  async authenticateApiKey(key: string): Promise<{ id: string; name: string } | undefined> {
    const row = await this.db
      .selectFrom('api_keys')
      .select(['id', 'name', 'last_used_at'])
      .where('key_hash', '=', sha256(key))
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (!row) return undefined;
    const now = this.now();
    if (row.last_used_at === null || now.getTime() - Date.parse(row.last_used_at) >= touchEveryMs) {
      await this.db
        .updateTable('api_keys')
        .set({ last_used_at: now.toISOString() })
        .where('id', '=', row.id)
        .execute();
    }
    return { id: row.id, name: row.name };
  }
}
