/**
 * Window results into the `RealtimeStore` for the live dashboard cards: each job's latest row per key as a hash
 * `stream:<job>:<key>`, and an index `stream:<job>:keys` (sorted set, score = window end) of the keys seen,
 * trimmed to the last `retentionSeconds`. Rewriting a row writes the same fields, so a replay changes nothing.
 */
import type { RealtimeStore } from '../realtime/realtime-store.ts';
import type { WindowResult } from '../stream-job.ts';
import type { StreamSink } from '../stream-processor.ts';

export const realtimeRowKey = (job: string, key: string): string => `stream:${job}:${key}`;
export const realtimeIndexKey = (job: string): string => `stream:${job}:keys`;

/** A row as the store keeps it: every value a string; `group` and `values` as JSON. */
export function rowFields(row: WindowResult): Record<string, string> {
  return {
    windowStart: String(row.windowStart),
    windowEnd: String(row.windowEnd),
    group: JSON.stringify(row.group),
    values: JSON.stringify(row.values),
  };
}

export function rowFromFields(
  job: string,
  key: string,
  fields: Record<string, string>,
): WindowResult | undefined {
  if (fields.windowEnd === undefined) return undefined;
  return {
    job,
    key,
    windowStart: Number(fields.windowStart),
    windowEnd: Number(fields.windowEnd),
    group: JSON.parse(fields.group ?? '{}'),
    values: JSON.parse(fields.values ?? '{}'),
  };
}

export class RealtimeResultSink implements StreamSink {
  constructor(
    private readonly store: RealtimeStore,
    private readonly retentionSeconds = 3_600,
  ) {}

  async write(rows: readonly WindowResult[]): Promise<void> {
    // Only the latest window of each key is shown live.
    const latest = new Map<string, WindowResult>();
    for (const row of rows) {
      const id = `${row.job}\u0000${row.key}`;
      const seen = latest.get(id);
      if (!seen || seen.windowEnd <= row.windowEnd) latest.set(id, row);
    }
    const newest = new Map<string, number>();
    for (const row of latest.values()) {
      const current = await this.store.hgetall(realtimeRowKey(row.job, row.key));
      if (current.windowEnd !== undefined && Number(current.windowEnd) > row.windowEnd) continue;
      await this.store.hset(realtimeRowKey(row.job, row.key), rowFields(row), this.retentionSeconds);
      await this.store.zadd(realtimeIndexKey(row.job), row.windowEnd, row.key, this.retentionSeconds);
      newest.set(row.job, Math.max(newest.get(row.job) ?? 0, row.windowEnd));
    }
    for (const [job, end] of newest) {
      await this.store.zremRangeByScore(
        realtimeIndexKey(job),
        Number.NEGATIVE_INFINITY,
        end - this.retentionSeconds * 1000,
      );
    }
  }
}
