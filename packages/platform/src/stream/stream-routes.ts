/**
 * The live figures of the stream jobs and their alerts:
 *   GET /api/realtime/active-users        the latest distinct-user count of the last 5 minutes
 *   GET /api/realtime/jobs/:job           each key's latest window of a job (keys seen within `sinceMs`)
 *   GET /api/realtime/jobs/:job/:key      one key's latest window
 *   GET /api/alerts                       the latest alerts, newest first
 */
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { DeeprefError } from '../errors.ts';
import type { Warehouse } from '../storage/warehouse.ts';
import type { RealtimeStore } from './realtime/realtime-store.ts';
import { streamAlertsTableSql } from './sinks/alert-sink.ts';
import { realtimeIndexKey, realtimeRowKey, rowFromFields } from './sinks/realtime-sink.ts';

export interface StreamRoutesDeps {
  realtime: RealtimeStore;
  warehouse: Pick<Warehouse, 'query'>;
  /** Names of the jobs whose rows go to the real-time store. */
  realtimeJobs: readonly string[];
}

const JobParams = Type.Object({ job: Type.String({ maxLength: 64 }) });
const KeyParams = Type.Object({ job: Type.String({ maxLength: 64 }), key: Type.String({ maxLength: 1024 }) });
const JobQuery = Type.Object({
  sinceMs: Type.Optional(Type.Integer({ minimum: 0 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000 })),
});
const AlertsQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000 })) });

export async function streamRoutes(app: FastifyInstance, deps: StreamRoutesDeps): Promise<void> {
  const known = (job: string) => {
    if (!deps.realtimeJobs.includes(job)) {
      throw new DeeprefError('DEEPREF_NOT_FOUND', { what: `A real-time stream job named ${job}` });
    }
  };

  app.get('/api/realtime/active-users', async () => {
    const row = rowFromFields(
      'active_users',
      '',
      await deps.realtime.hgetall(realtimeRowKey('active_users', '')),
    );
    return {
      activeUsers: row?.values.activeUsers ?? 0,
      windowEnd: row ? new Date(row.windowEnd).toISOString() : null,
    };
  });

  app.get(
    '/api/realtime/jobs/:job',
    { schema: { params: JobParams, querystring: JobQuery } },
    async (request) => {
      const { job } = request.params as { job: string };
      const { sinceMs = 0, limit = 100 } = request.query as { sinceMs?: number; limit?: number };
      known(job);
      const keys = await deps.realtime.zrangeByScore(
        realtimeIndexKey(job),
        sinceMs,
        Number.POSITIVE_INFINITY,
        limit,
      );
      const rows = [];
      for (const key of keys) {
        const row = rowFromFields(job, key, await deps.realtime.hgetall(realtimeRowKey(job, key)));
        if (row) rows.push(row);
      }
      return { job, rows };
    },
  );

  app.get('/api/realtime/jobs/:job/:key', { schema: { params: KeyParams } }, async (request) => {
    const { job, key } = request.params as { job: string; key: string };
    known(job);
    const row = rowFromFields(job, key, await deps.realtime.hgetall(realtimeRowKey(job, key)));
    if (!row) throw new DeeprefError('DEEPREF_NOT_FOUND', { what: `A live window of ${job} for ${key}` });
    return row;
  });

  // The table is made once per process, not per request: a DDL on every read raced the alert sink's own.
  let alertsTable: Promise<unknown> | undefined;
  app.get('/api/alerts', { schema: { querystring: AlertsQuery } }, async (request) => {
    const { limit = 100 } = request.query as { limit?: number };
    alertsTable ??= deps.warehouse.query(streamAlertsTableSql).catch((error) => {
      alertsTable = undefined;
      throw error;
    });
    await alertsTable;
    const result = await deps.warehouse.query(
      `SELECT job, group_key, window_start, window_end, group_values, result, raised_at
       FROM stream_alerts ORDER BY window_end_ms DESC, job, group_key LIMIT $1`,
      [limit],
    );
    return {
      alerts: result.rows.map(([job, key, windowStart, windowEnd, group, values, raisedAt]) => ({
        job,
        key,
        windowStart,
        windowEnd,
        group: JSON.parse(String(group)),
        values: JSON.parse(String(values)),
        raisedAt,
      })),
    };
  });
}
