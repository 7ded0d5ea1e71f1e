/**
 * Every place the platform keeps something about a subject, each behind one small interface: what it holds (for
 * an export, and again as the verification query after an erasure) and how it erases it. The erasure service
 * runs them in turn; each answers for itself, through its own engine.
 */
import type { EventLog } from '../../bus/event-log.ts';
import type { ExportRecord } from '../../exports/export-formats.ts';
import type { ExportStore } from '../../exports/export-store.ts';
import type { LakeWriter } from '../../storage/lake-writer.ts';
import type { MetaStore } from '../../storage/meta-store.ts';
import type { SqlStatement, Warehouse } from '../../storage/warehouse.ts';
import type { RealtimeStore } from '../../stream/realtime/realtime-store.ts';
import {
  eraseSubjectFromRealtime,
  findSubjectInRealtime,
} from '../../stream/realtime/realtime-subject-erasure.ts';
import { groupKeyOf, storedGroupKey } from '../../stream/sinks/warehouse-result-sink.ts';
import type { SubjectState } from '../../stream/stream-engine.ts';
import type { StreamProcessor } from '../../stream/stream-processor.ts';
import type { KeyStore } from '../keys/key-store.ts';
import { decryptEventFields } from '../pii/encrypted-fields.ts';

/** Who a request is about: the user id, and every id that names the same person (anonymous ids linked to it). */
export interface Subject {
  userId: string;
  /** `userId` first, then the anonymous ids. */
  ids: string[];
  /** What replaces the subject's id where a minimal record is kept (`erased:…`, a keyed pseudonym). */
  pseudonym: string;
}

export type StoreSections = Record<string, ExportRecord[]>;

export interface SubjectStore {
  /** The store, as the proof report names it. */
  name: string;
  /** How `find` looks, in words, for the proof report. */
  verificationQuery: string;
  /** What the store holds about the subject, by section; values decrypted where the key still exists. */
  find(subject: Subject): Promise<StoreSections>;
  /** Removes (or, where a minimal record must stay, anonymizes) it; the count per section. */
  erase(subject: Subject): Promise<Record<string, number>>;
  /**
   * Sections whose records an erasure keeps, anonymized (the ids replaced by the pseudonym), rather than deletes:
   * consent history as the legal record, alerts and earlier requests as operational records.
   */
  keeps?: readonly string[];
}

/** A store that cannot serve privacy requests: its adapter lacks the operation. */
function unsupported(what: string): never {
  throw new Error(`${what} does not support privacy requests yet; erase through an adapter that does.`);
}

/** Decrypts what can be; a value whose key is gone stays as it is, and the record says why. */
async function readable(keys: KeyStore | undefined, event: ExportRecord): Promise<ExportRecord> {
  if (!keys) return event;
  try {
    return await decryptEventFields(event, keys);
  } catch (error) {
    return { ...event, decryptError: (error as { code?: string }).code ?? String(error) };
  }
}

/** A warehouse or lake row as an event shape (for decryption), and back. */
async function readableRow(keys: KeyStore | undefined, row: ExportRecord): Promise<ExportRecord> {
  const parse = (value: unknown) => (typeof value === 'string' ? JSON.parse(value) : (value ?? undefined));
  const event = {
    userId: row.user_id ?? undefined,
    anonymousId: row.anonymous_id ?? undefined,
    properties: parse(row.properties),
    traits: parse(row.traits),
    context: parse(row.context),
  };
  const { properties, traits, context, decryptError } = await readable(keys, event);
  return {
    ...row,
    properties: properties ?? null,
    traits: traits ?? null,
    context: context ?? null,
    ...(decryptError ? { decryptError } : {}),
  };
}

export function eventLogStore(log: EventLog, keys: KeyStore | undefined): SubjectStore {
  return {
    name: 'event_log',
    verificationQuery:
      'events whose userId|anonymousId is one of the ids (SQLite events.db, or every JetStream partition); ' +
      'dead letters whose raw text names an id',
    async find(subject) {
      if (!log.findSubject) unsupported('This event log');
      const found = await log.findSubject(subject.ids);
      return {
        log_events: await Promise.all(
          found.events.map(async (r) => ({ offset: r.offset, ...(await readable(keys, { ...r.event })) })),
        ),
        dead_letters: found.deadLetters.map((d) => ({ ...d })),
      };
    },
    async erase(subject) {
      if (!log.eraseSubject) unsupported('This event log');
      const { events, deadLetters } = await log.eraseSubject(subject.ids);
      return { log_events: events, dead_letters: deadLetters };
    },
  };
}

/**
 * The stream engine's open windows (in memory and in `stream/checkpoint.json`): groups keyed by an id, and ids kept
 * as values. Counts only, one record per job: the state is window arithmetic, not the subject's data. Erased before
 * the warehouse and the real-time store, so no window closing in between writes a row there that names the subject.
 */
export function streamStateStore(
  stream: Pick<StreamProcessor, 'findSubject' | 'eraseSubject'>,
): SubjectStore {
  const records = (state: SubjectState): ExportRecord[] =>
    Object.entries(state).map(([job, { groups, values }]) => ({ job, groups, values }));
  return {
    name: 'stream',
    verificationQuery:
      "every stream job's open windows: groups with an id as a group value, ids kept as values (then checkpointed)",
    async find(subject) {
      return { stream_state: records(await stream.findSubject(subject.ids)) };
    },
    async erase(subject) {
      return { stream_state: Object.keys(await stream.eraseSubject(subject.ids)).length };
    },
  };
}

/** The warehouse tables that hold people: events by id columns, stream outputs by the ids in their group. */
/**
 * A time as `queryResult` gives it (ISO 8601, `…Z`), as a Date: each warehouse adapter binds a Date in its engine's
 * terms, where the text would name year 0000 (1 BC), which PostgreSQL refuses.
 */
function sqlTime(value: unknown): Date {
  return new Date(String(value));
}

export function warehouseStore(warehouse: Warehouse, keys: KeyStore | undefined): SubjectStore {
  const placeholders = (ids: string[], from = 1) => ids.map((_, i) => `$${i + from}`).join(', ');
  const eventsWhere = (ids: string[]) =>
    `user_id IN (${placeholders(ids)}) OR anonymous_id IN (${placeholders(ids, ids.length + 1)})`;
  // group_values is the JSON of the group's values: an id appears in it as a JSON string.
  const groupWhere = (ids: string[]) => ids.map((_, i) => `strpos(group_values, $${i + 1}) > 0`).join(' OR ');
  const quoted = (ids: string[]) => ids.map((id) => JSON.stringify(id));
  const tables = async () =>
    new Set(
      // The warehouse's own schema only: PostgreSQL lists every schema's tables here.
      (
        await warehouse.query(
          'SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()',
        )
      ).rows.map((r) => String(r[0])),
    );
  const rowsOf = async (sql: string, params: unknown[]) => {
    const result = await warehouse.query(sql, params);
    return result.rows.map((row) => Object.fromEntries(result.columns.map((c, i) => [c, row[i]])));
  };
  return {
    name: 'warehouse',
    verificationQuery:
      'events WHERE user_id|anonymous_id IN ids; stream_results, stream_alerts WHERE group_values names an id',
    keeps: ['warehouse_stream_alerts'],
    async find(subject) {
      const present = await tables();
      const ids = subject.ids;
      const sections: StoreSections = {};
      if (present.has('events')) {
        const rows = await rowsOf(`SELECT * FROM events WHERE ${eventsWhere(ids)} ORDER BY log_offset`, [
          ...ids,
          ...ids,
        ]);
        sections.warehouse_events = await Promise.all(rows.map((row) => readableRow(keys, row)));
      }
      for (const table of ['stream_results', 'stream_alerts']) {
        if (!present.has(table)) continue;
        sections[`warehouse_${table}`] = await rowsOf(
          `SELECT * FROM ${table} WHERE ${groupWhere(ids)} ORDER BY job, window_end_ms`,
          quoted(ids),
        );
      }
      return sections;
    },
    async erase(subject) {
      if (!warehouse.eraseRows) unsupported('This warehouse');
      const present = await tables();
      const ids = subject.ids;
      const statements: [string, SqlStatement][] = [];
      if (present.has('events')) {
        statements.push([
          'warehouse_events',
          { sql: `DELETE FROM events WHERE ${eventsWhere(ids)}`, params: [...ids, ...ids] },
        ]);
      }
      if (present.has('stream_results')) {
        statements.push([
          'warehouse_stream_results',
          { sql: `DELETE FROM stream_results WHERE ${groupWhere(ids)}`, params: quoted(ids) },
        ]);
      }
      if (present.has('stream_alerts')) {
        // An alert is an operational record: it stays, with the subject's ids replaced by the pseudonym (a new
        // row, as the group key is part of the primary key).
        const alerts = await rowsOf(`SELECT * FROM stream_alerts WHERE ${groupWhere(ids)}`, quoted(ids));
        const swap = (text: string, quote: boolean) =>
          ids.reduce(
            (out, id) =>
              out.replaceAll(
                quote ? JSON.stringify(id) : id,
                quote ? JSON.stringify(subject.pseudonym) : subject.pseudonym,
              ),
            text,
          );
        for (const alert of alerts) {
          const key = [alert.job, alert.group_key, alert.window_end_ms];
          statements.push([
            '',
            {
              sql: 'DELETE FROM stream_alerts WHERE job = $1 AND group_key = $2 AND window_end_ms = $3',
              params: key,
            },
          ]);
          statements.push([
            'warehouse_stream_alerts',
            {
              sql: `INSERT INTO stream_alerts VALUES ($1, $2, $3, CAST($4 AS TIMESTAMP), CAST($5 AS TIMESTAMP), $6, $7,
                    CAST($8 AS TIMESTAMP)) ON CONFLICT DO NOTHING`,
              params: [
                alert.job,
                storedGroupKey(swap(groupKeyOf(String(alert.group_key)), false)),
                alert.window_end_ms,
                sqlTime(alert.window_start),
                sqlTime(alert.window_end),
                swap(String(alert.group_values), true),
                alert.result,
                sqlTime(alert.raised_at),
              ],
            },
          ]);
        }
      }
      const changes = await warehouse.eraseRows(statements.map(([, statement]) => statement));
      const counts: Record<string, number> = {};
      statements.forEach(([section], i) => {
        if (section) counts[section] = (counts[section] ?? 0) + (changes[i] ?? 0);
      });
      return counts;
    },
  };
}

export function lakeStore(lake: LakeWriter, keys: KeyStore | undefined): SubjectStore {
  return {
    name: 'lake',
    verificationQuery: 'DuckDB read_parquet of every lake file: user_id|anonymous_id IN ids',
    async find(subject) {
      const found = await lake.findSubject(subject.ids);
      return { lake_events: await Promise.all(found.rows.map((row) => readableRow(keys, row))) };
    },
    async erase(subject) {
      const { rows } = await lake.eraseSubject(subject.ids);
      return { lake_events: rows };
    },
  };
}

export function realtimeStore(store: RealtimeStore, jobs: () => readonly string[]): SubjectStore {
  return {
    name: 'realtime',
    verificationQuery: 'stream:<job>:keys index members whose key names an id, and their rows',
    async find(subject) {
      const rows = await findSubjectInRealtime(store, jobs(), subject.ids);
      return { realtime_rows: rows.map((row) => ({ job: row.job, key: row.key, ...row.fields })) };
    },
    async erase(subject) {
      return { realtime_rows: await eraseSubjectFromRealtime(store, jobs(), subject.ids) };
    },
  };
}

/**
 * MetaStore rows about the subject. Consent history is the legal record of what the subject agreed to and when
 * (GDPR Art. 7(1)): it stays, minimal, under the pseudonym instead of the id. The links from anonymous ids to the
 * user identify the person and go. Earlier privacy requests keep their audit trail under the pseudonym too.
 */
export function metaStore(meta: MetaStore): SubjectStore {
  return {
    name: 'meta',
    verificationQuery:
      'MetaStore: consent_records.subject_id, consent_links.user_id|anonymous_id, dsr_requests.subject IN ids',
    keeps: ['consent_records', 'privacy_requests'],
    async find(subject) {
      const ids = subject.ids;
      return {
        consent_records: await meta
          .selectFrom('consent_records')
          .selectAll()
          .where('subject_id', 'in', ids)
          .orderBy('id')
          .execute(),
        consent_links: await meta
          .selectFrom('consent_links')
          .selectAll()
          .where((eb) => eb.or([eb('user_id', 'in', ids), eb('anonymous_id', 'in', ids)]))
          .execute(),
        privacy_requests: await meta
          .selectFrom('dsr_requests')
          .select(['id', 'kind', 'state', 'format', 'created_at', 'updated_at'])
          .where('subject', 'in', ids)
          // The request being run is the erasure itself; it takes the pseudonym once it completes.
          .where('state', '!=', 'in_progress')
          .orderBy('created_at')
          .execute(),
      };
    },
    async erase(subject) {
      const ids = subject.ids;
      return meta.transaction().execute(async (tx) => {
        const consent = await tx
          .updateTable('consent_records')
          .set({ subject_id: subject.pseudonym })
          .where('subject_id', 'in', ids)
          .executeTakeFirst();
        const links = await tx
          .deleteFrom('consent_links')
          .where((eb) => eb.or([eb('user_id', 'in', ids), eb('anonymous_id', 'in', ids)]))
          .executeTakeFirst();
        const requests = await tx
          .updateTable('dsr_requests')
          .set({ subject: subject.pseudonym })
          .where('subject', 'in', ids)
          .where('state', '!=', 'in_progress')
          .executeTakeFirst();
        return {
          consent_records: Number(consent.numUpdatedRows),
          consent_links: Number(links.numDeletedRows),
          privacy_requests: Number(requests.numUpdatedRows),
        };
      });
    },
  };
}

/** Earlier export packages of the subject; the one an erasure made just before (if asked) is kept. */
export function exportsStore(exports: ExportStore, keep: () => string | undefined): SubjectStore {
  return {
    name: 'exports',
    verificationQuery: 'MetaStore exports rows of the ids not deleted, and their sealed contents',
    async find(subject) {
      const live = await exports.listFor(subject.ids);
      return { export_packages: live.filter((e) => e.id !== keep()).map((e) => ({ id: e.id })) };
    },
    async erase(subject) {
      return { export_packages: await exports.deleteFor(subject.ids, subject.pseudonym, keep()) };
    },
  };
}

/** Crypto-shredding: the subject's data keys. Destroying them reaches every copy the rows could not (backups). */
export function keyStore(keys: KeyStore): SubjectStore {
  return {
    name: 'keys',
    verificationQuery: 'KeyStore.existingDataKey(id) for each id',
    async find(subject) {
      const held: ExportRecord[] = [];
      for (const id of subject.ids) {
        const key = await keys.existingDataKey(id);
        if (key) held.push({ subject: id === subject.userId ? 'user' : 'anonymous id', keyId: key.keyId });
      }
      return { data_keys: held };
    },
    async erase(subject) {
      let destroyed = 0;
      for (const id of subject.ids) {
        if (await keys.existingDataKey(id)) destroyed++;
        await keys.destroy(id);
      }
      return { data_keys: destroyed };
    },
  };
}
