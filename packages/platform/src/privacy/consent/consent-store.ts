/**
 * Consent in the MetaStore: the append-only history of decisions (one row per purpose; rows are inserted, never
 * updated or deleted), the links from anonymous ids to users, and the versioned policy texts.
 */
import { DeeprefError } from '../../errors.ts';
import type { ConsentRecordsTable, MetaStore } from '../../storage/meta-store.ts';
import { builtInPolicy, type ConsentMethod, type ConsentRecord, PURPOSES, type Purpose } from './consent.ts';

export interface ConsentPolicy {
  version: string;
  text: string;
  publishedAt: string;
}

/** One decision on one or more purposes for one subject. */
export interface ConsentChange {
  subjectId: string;
  purposes: Partial<Record<Purpose, boolean>>;
  method: ConsentMethod;
  /** The policy the subject was shown; default: the current (latest published) one. */
  policyVersion?: string | undefined;
  /** The source whose write key sent it (method `sdk`). */
  sourceId?: string | undefined;
}

type RecordRow = Omit<ConsentRecordsTable, 'id'> & { id: number };

function toRecord(row: RecordRow): ConsentRecord {
  return {
    id: Number(row.id),
    subjectId: row.subject_id,
    purpose: row.purpose as Purpose,
    granted: Number(row.granted) === 1,
    policyVersion: row.policy_version,
    method: row.method as ConsentMethod,
    recordedAt: row.recorded_at,
  };
}

export class ConsentStore {
  constructor(private readonly meta: MetaStore) {}

  /** Publishes the built-in policy when none is published yet, so that every record can name a version. */
  async ensurePolicy(): Promise<void> {
    await this.meta
      .insertInto('consent_policies')
      .values({
        version: builtInPolicy.version,
        text: builtInPolicy.text,
        published_at: new Date().toISOString(),
      })
      .onConflict((oc) => oc.column('version').doNothing())
      .execute();
  }

  /** Publishes a new policy text; a published version never changes (DEEPREF_CONSENT_POLICY_EXISTS). */
  async publishPolicy(version: string, text: string): Promise<ConsentPolicy> {
    const policy = { version, text, publishedAt: new Date().toISOString() };
    const result = await this.meta
      .insertInto('consent_policies')
      .values({ version, text, published_at: policy.publishedAt })
      .onConflict((oc) => oc.column('version').doNothing())
      .executeTakeFirst();
    if (Number(result.numInsertedOrUpdatedRows ?? 0) === 0) {
      throw new DeeprefError('DEEPREF_CONSENT_POLICY_EXISTS', { version });
    }
    return policy;
  }

  /** Every published policy, newest first; the first is the current one. */
  async policies(): Promise<ConsentPolicy[]> {
    const rows = await this.meta
      .selectFrom('consent_policies')
      .selectAll()
      .orderBy('published_at', 'desc')
      .orderBy('version', 'desc')
      .execute();
    return rows.map((row) => ({ version: row.version, text: row.text, publishedAt: row.published_at }));
  }

  /**
   * Appends one record per purpose of `change`, in one transaction, under the named (or current) policy version.
   * Returns the new records, in the order of `PURPOSES`.
   */
  async record(input: ConsentChange): Promise<ConsentRecord[]> {
    const change = { ...input, subjectId: storableId(input.subjectId) };
    const purposes = PURPOSES.filter((purpose) => change.purposes[purpose] !== undefined);
    if (purposes.length === 0) return [];
    return this.meta.transaction().execute(async (trx) => {
      const [current] = await trx
        .selectFrom('consent_policies')
        .select('version')
        .orderBy('published_at', 'desc')
        .orderBy('version', 'desc')
        .limit(1)
        .execute();
      let version = current?.version;
      if (change.policyVersion !== undefined && change.policyVersion !== version) {
        const known = await trx
          .selectFrom('consent_policies')
          .select('version')
          .where('version', '=', change.policyVersion)
          .executeTakeFirst();
        if (!known) {
          throw new DeeprefError('DEEPREF_CONSENT_UNKNOWN_POLICY', {
            version: change.policyVersion,
            current: version ?? 'none',
          });
        }
        version = known.version;
      }
      if (version === undefined) {
        throw new DeeprefError('DEEPREF_CONSENT_UNKNOWN_POLICY', { version: '(current)', current: 'none' });
      }
      const recordedAt = new Date().toISOString();
      const rows = await trx
        .insertInto('consent_records')
        .values(
          purposes.map((purpose) => ({
            subject_id: change.subjectId,
            purpose,
            granted: change.purposes[purpose] ? 1 : 0,
            policy_version: version,
            method: change.method,
            source_id: change.sourceId ?? null,
            recorded_at: recordedAt,
          })),
        )
        .returningAll()
        .execute();
      return rows.map(toRecord).sort((a, b) => a.id - b.id);
    });
  }

  /**
   * Ties an anonymous id to the user it identified as. An anonymous id belongs to one user: identified as
   * another, it moves to that one. Returns the user it belonged to before, if any.
   */
  async link(anonymousIdInput: string, userIdInput: string): Promise<string | undefined> {
    const anonymousId = storableId(anonymousIdInput);
    const userId = storableId(userIdInput);
    return this.meta.transaction().execute(async (trx) => {
      const before = await trx
        .selectFrom('consent_links')
        .select('user_id')
        .where('anonymous_id', '=', anonymousId)
        .executeTakeFirst();
      if (before?.user_id === userId) return userId;
      const linkedAt = new Date().toISOString();
      await trx
        .insertInto('consent_links')
        .values({ anonymous_id: anonymousId, user_id: userId, linked_at: linkedAt })
        .onConflict((oc) => oc.column('anonymous_id').doUpdateSet({ user_id: userId, linked_at: linkedAt }))
        .execute();
      return before?.user_id;
    });
  }

  /** The user an id belongs to: the user it is linked to, or itself. */
  async rootOf(subjectIdInput: string): Promise<string> {
    const subjectId = storableId(subjectIdInput);
    const row = await this.meta
      .selectFrom('consent_links')
      .select('user_id')
      .where('anonymous_id', '=', subjectId)
      .executeTakeFirst();
    return row?.user_id ?? subjectId;
  }

  /** The ids whose consent is one: a root and the anonymous ids linked to it, the root first. */
  async group(rootInput: string): Promise<string[]> {
    const root = storableId(rootInput);
    const rows = await this.meta
      .selectFrom('consent_links')
      .select('anonymous_id')
      .where('user_id', '=', root)
      .orderBy('anonymous_id')
      .execute();
    return [root, ...rows.map((row) => row.anonymous_id)];
  }

  /** The records of these subjects, oldest first. */
  async history(subjectIdsInput: readonly string[]): Promise<ConsentRecord[]> {
    const subjectIds = subjectIdsInput.map(storableId);
    if (subjectIds.length === 0) return [];
    const rows = await this.meta
      .selectFrom('consent_records')
      .selectAll()
      .where('subject_id', 'in', subjectIds)
      .orderBy('id')
      .execute();
    return rows.map(toRecord);
  }

  /** Per purpose, the newest record of these subjects: the part of the history that decides the state. */
  async latest(subjectIdsInput: readonly string[]): Promise<ConsentRecord[]> {
    const subjectIds = subjectIdsInput.map(storableId);
    if (subjectIds.length === 0) return [];
    const rows = await this.meta
      .selectFrom('consent_records')
      .selectAll()
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('consent_records')
          .select((inner) => inner.fn.max('id').as('id'))
          .where('subject_id', 'in', subjectIds)
          .groupBy('purpose'),
      )
      .orderBy('id')
      .execute();
    return rows.map(toRecord);
  }
}

/**
 * An id as every MetaStore engine can hold it: PostgreSQL text refuses NUL and stores no lone surrogate, so both
 * become U+FFFD (as the PostgreSQL warehouse stores them), on every engine alike so that lookups agree.
 */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function storableId(id: string): string {
  return id.replaceAll('\u0000', '\uFFFD').replace(loneSurrogate, '\uFFFD');
}
