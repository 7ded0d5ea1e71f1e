/**
 * A subject's rows in the real-time store, found and erased for privacy requests. The stream jobs keep each key's
 * latest row as a hash `stream:<job>:<key>` and the keys in an index (sorted set, score = window end); a key names
 * the subject when one of its parts (`userId`, `userId␟sessionId`) is one of the subject's ids. The port has no
 * ZREM, so an index that lists the subject is rebuilt from the other members, each scored by its row's window end.
 */
import { realtimeIndexKey, realtimeRowKey } from '../sinks/realtime-sink.ts';
import type { RealtimeStore } from './realtime-store.ts';

export interface RealtimeSubjectRow {
  job: string;
  key: string;
  fields: Record<string, string>;
}

/** Group keys join their values with U+001F (see `StreamEngine`). */
function namesSubject(key: string, ids: ReadonlySet<string>): boolean {
  return key.split('\u001f').some((part) => ids.has(part));
}

async function members(store: RealtimeStore, job: string): Promise<string[]> {
  return store.zrangeByScore(realtimeIndexKey(job), Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);
}

export async function findSubjectInRealtime(
  store: RealtimeStore,
  jobs: readonly string[],
  ids: readonly string[],
): Promise<RealtimeSubjectRow[]> {
  const wanted = new Set(ids);
  const rows: RealtimeSubjectRow[] = [];
  for (const job of jobs) {
    for (const key of await members(store, job)) {
      if (!namesSubject(key, wanted)) continue;
      rows.push({ job, key, fields: await store.hgetall(realtimeRowKey(job, key)) });
    }
  }
  return rows;
}

/** Deletes the subject's rows and takes its keys out of each job's index; returns how many rows went. */
export async function eraseSubjectFromRealtime(
  store: RealtimeStore,
  jobs: readonly string[],
  ids: readonly string[],
): Promise<number> {
  const wanted = new Set(ids);
  let erased = 0;
  for (const job of jobs) {
    const keys = await members(store, job);
    const subjectKeys = keys.filter((key) => namesSubject(key, wanted));
    if (subjectKeys.length === 0) continue;
    for (const key of subjectKeys) await store.del(realtimeRowKey(job, key));
    erased += subjectKeys.length;
    const kept: [string, number][] = [];
    for (const key of keys) {
      if (namesSubject(key, wanted)) continue;
      const end = Number((await store.hgetall(realtimeRowKey(job, key))).windowEnd);
      if (Number.isFinite(end)) kept.push([key, end]);
    }
    await store.del(realtimeIndexKey(job));
    // Rows expire after the sink's retention; an index rebuilt without expiry would outlive them.
    for (const [key, end] of kept) await store.zadd(realtimeIndexKey(job), end, key, 3_600);
  }
  return erased;
}
