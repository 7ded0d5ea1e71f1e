/**
 * Data subject requests (reference §7.4, §8.1): access/portability exports and erasures. A request moves through
 * `dsr-states.ts`, each move written with an append-only audit row in the same transaction. Running a request:
 *
 * - export: everything every store holds about the subject, decrypted where its key exists, packaged as a zip with
 *   a checksum and a signed download link (7 days);
 * - erasure: optionally that export first; then the subject's data keys are destroyed (so that every encrypted copy,
 *   backups included, stops decrypting even if a later step fails), every store erases its rows (anonymizing the
 *   few minimal records that must stay), and every store is queried again: the proof report records per store what
 *   was found, what was removed and what the verification query found. Anything left fails the request.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { DeeprefError } from '../../errors.ts';
import type { ExportFormat, ExportRecord, SubjectData } from '../../exports/export-formats.ts';
import { writeExportFiles } from '../../exports/export-formats.ts';
import type { ExportPackage, ExportStore } from '../../exports/export-store.ts';
import type { DsrRequestsTable, MetaStore } from '../../storage/meta-store.ts';
import { type DsrAction, type DsrState, requireNextState } from './dsr-states.ts';
import type { StoreSections, Subject, SubjectStore } from './subject-stores.ts';

export type DsrKind = 'export' | 'erasure';

export interface DsrRequest {
  id: string;
  kind: DsrKind;
  /** The user id; after a completed erasure, its pseudonym. */
  subject: string;
  state: DsrState;
  format: ExportFormat | null;
  verification: string | null;
  result: ExportPackage | ErasureProof | null;
  error: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface DsrAuditEntry {
  id: number;
  fromState: DsrState | null;
  toState: DsrState;
  actor: string;
  detail: string | null;
  at: string;
}

export interface StoreProof {
  store: string;
  section: string;
  /** Records the store held before the erasure. */
  found: number;
  /** Records it removed (or, for a kept section, anonymized). */
  removed: number;
  action: 'deleted' | 'anonymized';
  verification: { query: string; remaining: number };
}

export interface ErasureProof {
  subject: string;
  startedAt: string;
  finishedAt: string;
  /** The ids erased: the user id and the anonymous ids linked to it (a count; the ids themselves are not kept). */
  ids: number;
  /** The export made first, when asked; kept until its link expires. */
  export?: ExportPackage;
  stores: StoreProof[];
  verified: boolean;
}

export interface DsrServiceDeps {
  meta: MetaStore;
  stores: readonly SubjectStore[];
  exports: ExportStore;
  /** Key of the pseudonyms that replace an erased subject's id in the records that stay. */
  pseudonymKey: Buffer;
  /** Brings every store up to date with the log before a request runs (the platform's drain). */
  settle?: () => Promise<void>;
  /**
   * Runs once an erasure completed, when the MetaStore holds only the pseudonym: removes the old versions of its
   * rows from the engine's files (SQLite: a truncating WAL checkpoint; PostgreSQL: VACUUM FULL; dsr-platform.ts).
   */
  afterErasure?: () => Promise<void>;
  now?: () => number;
}

function toRequest(row: DsrRequestsTable): DsrRequest {
  return {
    id: row.id,
    kind: row.kind,
    subject: row.subject,
    state: row.state as DsrState,
    format: row.format as ExportFormat | null,
    verification: row.verification,
    result: row.result === null ? null : JSON.parse(row.result),
    error: row.error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export class DsrService {
  readonly #deps: DsrServiceDeps;
  readonly #now: () => number;
  /** The export an erasure in progress made first: the exports store keeps it. */
  #keptExport: string | undefined;

  constructor(deps: DsrServiceDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  get keptExport(): string | undefined {
    return this.#keptExport;
  }

  #iso(): string {
    return new Date(this.#now()).toISOString();
  }

  pseudonymOf(userId: string): string {
    return `erased:${createHmac('sha256', this.#deps.pseudonymKey).update(userId).digest('base64url').slice(0, 22)}`;
  }

  async create(input: {
    kind: DsrKind;
    userId: string;
    format?: ExportFormat;
    actor: string;
  }): Promise<DsrRequest> {
    const id = randomUUID();
    const at = this.#iso();
    await this.#deps.meta.transaction().execute(async (tx) => {
      await tx
        .insertInto('dsr_requests')
        .values({
          id,
          kind: input.kind,
          subject: input.userId,
          state: 'received',
          format: input.format ?? (input.kind === 'export' ? 'json' : null),
          verification: null,
          result: null,
          error: null,
          created_at: at,
          updated_at: at,
        })
        .execute();
      await tx
        .insertInto('dsr_audit')
        .values({
          request_id: id,
          from_state: null,
          to_state: 'received',
          actor: input.actor,
          detail: input.kind,
          at,
        })
        .execute();
    });
    return this.get(id);
  }

  async get(id: string): Promise<DsrRequest> {
    const row = await this.#deps.meta
      .selectFrom('dsr_requests')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw new DeeprefError('DEEPREF_NOT_FOUND', { what: `Privacy request ${id}` });
    return toRequest(row);
  }

  async list(): Promise<DsrRequest[]> {
    const rows = await this.#deps.meta.selectFrom('dsr_requests').selectAll().orderBy('created_at').execute();
    return rows.map(toRequest);
  }

  async audit(id: string): Promise<DsrAuditEntry[]> {
    const rows = await this.#deps.meta
      .selectFrom('dsr_audit')
      .selectAll()
      .where('request_id', '=', id)
      .orderBy('id')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      fromState: r.from_state as DsrState | null,
      toState: r.to_state as DsrState,
      actor: r.actor,
      detail: r.detail,
      at: r.at,
    }));
  }

  /**
   * Takes `action` on the request: checks it is allowed from the state stored now, then writes the new state and
   * its audit row in one transaction (so two callers can never both move it from the same state).
   */
  async transition(
    id: string,
    action: DsrAction,
    actor: string,
    changes: {
      verification?: string;
      result?: unknown;
      error?: string | null;
      detail?: string;
      /** Only if the run now in progress is the one `startedBy` started (a run's outcome; see dsr-runner.ts). */
      startedBy?: string;
    } = {},
  ): Promise<DsrRequest> {
    await this.#deps.meta.transaction().execute(async (tx) => {
      const row = await tx
        .selectFrom('dsr_requests')
        .select(['state'])
        .where('id', '=', id)
        .executeTakeFirst();
      if (!row) throw new DeeprefError('DEEPREF_NOT_FOUND', { what: `Privacy request ${id}` });
      const from = row.state as DsrState;
      const to = requireNextState(id, from, action);
      if (changes.startedBy !== undefined) {
        const started = await tx
          .selectFrom('dsr_audit')
          .select('actor')
          .where('request_id', '=', id)
          .where('to_state', '=', 'in_progress')
          .orderBy('id', 'desc')
          .executeTakeFirst();
        if (started?.actor !== changes.startedBy) {
          throw new DeeprefError('DEEPREF_DSR_CLAIM_LOST', {
            id,
            runner: changes.startedBy,
            holder: started?.actor ?? 'nobody',
          });
        }
      }
      const at = this.#iso();
      const { numUpdatedRows } = await tx
        .updateTable('dsr_requests')
        .set({
          state: to,
          updated_at: at,
          ...(changes.verification === undefined ? {} : { verification: changes.verification }),
          ...(changes.result === undefined ? {} : { result: JSON.stringify(changes.result) }),
          ...(changes.error === undefined ? {} : { error: changes.error }),
        })
        .where('id', '=', id)
        .where('state', '=', from)
        .executeTakeFirst();
      if (Number(numUpdatedRows) !== 1) requireNextState(id, to, action);
      await tx
        .insertInto('dsr_audit')
        .values({ request_id: id, from_state: from, to_state: to, actor, detail: changes.detail ?? null, at })
        .execute();
    });
    return this.get(id);
  }

  verify(id: string, method: string, actor: string): Promise<DsrRequest> {
    return this.transition(id, 'verify', actor, { verification: method, detail: method });
  }

  approve(id: string, actor: string): Promise<DsrRequest> {
    return this.transition(id, 'approve', actor);
  }

  cancel(id: string, actor: string): Promise<DsrRequest> {
    return this.transition(id, 'cancel', actor);
  }

  /** Hands an approved (or failed) request to the workers' runner (a split deployment; dsr-runner.ts). */
  queue(id: string, actor: string): Promise<DsrRequest> {
    return this.transition(id, 'queue', actor);
  }

  /** The ids of the requests in `state`, oldest first. */
  async idsIn(state: DsrState): Promise<string[]> {
    const rows = await this.#deps.meta
      .selectFrom('dsr_requests')
      .select('id')
      .where('state', '=', state)
      .orderBy('created_at')
      .execute();
    return rows.map((row) => row.id);
  }

  /**
   * Runs an approved, queued or failed request to `completed` or `failed`; only `start` opens the way, see
   * dsr-states. The outcome is recorded only while the run in progress is still this one (`actor` started it), so
   * a run whose worker lost it to another never overwrites that one's outcome.
   */
  async run(id: string, actor: string): Promise<DsrRequest> {
    const request = await this.transition(id, 'start', actor);
    try {
      await this.#deps.settle?.();
      const subject = await this.#subject(request.subject);
      if (request.kind === 'export') {
        const result = await this.#export(request, subject);
        return await this.transition(id, 'complete', actor, {
          result,
          error: null,
          detail: `export ${result.id}`,
          startedBy: actor,
        });
      }
      const proof = await this.#erase(request, subject);
      if (!proof.verified) {
        const left = proof.stores
          .filter((s) => s.verification.remaining > 0)
          .map((s) => `${s.store}.${s.section}`);
        const error = new DeeprefError('DEEPREF_DSR_ERASURE_INCOMPLETE', { stores: left.join(', ') });
        return await this.transition(id, 'fail', actor, {
          result: proof,
          error: error.message,
          detail: error.code,
          startedBy: actor,
        });
      }
      await this.#deps.meta
        .updateTable('dsr_requests')
        .set({ subject: subject.pseudonym })
        .where('id', '=', id)
        .execute();
      const completed = await this.transition(id, 'complete', actor, {
        result: proof,
        error: null,
        detail: 'verified',
        startedBy: actor,
      });
      await this.#deps.afterErasure?.();
      return completed;
    } catch (error) {
      if ((error as { code?: string }).code === 'DEEPREF_DSR_CLAIM_LOST') throw error;
      const message = error instanceof Error ? error.message : String(error);
      return this.transition(id, 'fail', actor, {
        error: message,
        detail: (error as { code?: string }).code,
        startedBy: actor,
      });
    }
  }

  /** The user id with the anonymous ids tied to it, in the log and in the consent links. */
  async #subject(userId: string): Promise<Subject> {
    const ids = new Set([userId]);
    const links = await this.#deps.meta
      .selectFrom('consent_links')
      .select('anonymous_id')
      .where('user_id', '=', userId)
      .execute();
    for (const link of links) ids.add(link.anonymous_id);
    const log = this.#deps.stores.find((s) => s.name === 'event_log');
    if (log) {
      const { log_events = [] } = await log.find({ userId, ids: [userId], pseudonym: '' });
      for (const event of log_events) if (typeof event.anonymousId === 'string') ids.add(event.anonymousId);
    }
    return { userId, ids: [...ids], pseudonym: this.pseudonymOf(userId) };
  }

  async #collect(subject: Subject): Promise<SubjectData> {
    const sections: Record<string, ExportRecord[]> = {};
    for (const store of this.#deps.stores) Object.assign(sections, await store.find(subject));
    return { subject: subject.userId, generatedAt: this.#iso(), sections };
  }

  async #export(request: DsrRequest, subject: Subject): Promise<ExportPackage> {
    const format = request.format ?? 'json';
    const data = await this.#collect(subject);
    const files = await writeExportFiles(data, format);
    return this.#deps.exports.create({ requestId: request.id, subject: subject.userId, format, files });
  }

  async #erase(request: DsrRequest, subject: Subject): Promise<ErasureProof> {
    const startedAt = this.#iso();
    const exported = request.format ? await this.#export(request, subject) : undefined;
    this.#keptExport = exported?.id;
    try {
      // Keys first: from here on every encrypted copy is unreadable, whatever happens to the steps after.
      const ordered = [...this.#deps.stores].sort(
        (a, b) => Number(b.name === 'keys') - Number(a.name === 'keys'),
      );
      const steps: { store: SubjectStore; before: StoreSections; removed: Record<string, number> }[] = [];
      for (const store of ordered) {
        const before = await store.find(subject);
        steps.push({ store, before, removed: await store.erase(subject) });
      }
      // Verified once every store is done, so that a row one store's work wrote into another after that one's step
      // (a stream backfill recomputing a day from the warehouse at that moment) shows as remaining.
      const stores: StoreProof[] = [];
      for (const { store, before, removed } of steps) {
        const after = await store.find(subject);
        const sections = new Set([...Object.keys(before), ...Object.keys(removed)]);
        for (const section of sections) {
          const kept = store.keeps?.includes(section) ?? false;
          stores.push({
            store: store.name,
            section,
            found: before[section]?.length ?? removed[section] ?? 0,
            removed: removed[section] ?? 0,
            action: kept ? 'anonymized' : 'deleted',
            verification: { query: store.verificationQuery, remaining: after[section]?.length ?? 0 },
          });
        }
      }
      return {
        subject: subject.pseudonym,
        startedAt,
        finishedAt: this.#iso(),
        ids: subject.ids.length,
        ...(exported ? { export: exported } : {}),
        stores,
        verified: stores.every((s) => s.verification.remaining === 0),
      };
    } finally {
      this.#keptExport = undefined;
    }
  }
}
