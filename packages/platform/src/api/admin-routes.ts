/**
 * Operator routes: read-only SQL over the warehouse and the dead letters. Reachable only by an admin — for now
 * through the control socket, which the CLI uses; accounts and API keys for programs come with the dashboard.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import type { DeadLetter, EventLog } from '../bus/event-log.ts';
import { DeeprefError, deadLetterReasons } from '../errors.ts';
import type { Warehouse } from '../storage/warehouse.ts';

export interface ReplayOutcome {
  status: 'accepted' | 'duplicate' | 'rejected';
  detail?: string;
}

export interface AdminDeps {
  log: EventLog;
  warehouse: Warehouse;
  isAdmin: (request: FastifyRequest) => boolean;
  /**
   * Sends a dead letter's payload through the collector again. One refused again stays pending (and is not
   * dead-lettered a second time); one accepted or found to be a duplicate is marked replayed.
   */
  replay: (deadLetter: DeadLetter) => Promise<ReplayOutcome>;
}

const QueryBody = Type.Object({ sql: Type.String({ minLength: 1, maxLength: 100_000 }) });
const DeadLetterListQuery = Type.Object({
  reason: Type.Optional(Type.Union(deadLetterReasons.map((r) => Type.Literal(r)))),
  pending: Type.Optional(Type.Boolean()),
  // A dead letter's id is a log sequence, a safe integer; JetStream refuses a start sequence beyond 2^64 outright.
  afterId: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
});
const ReplayBody = Type.Object({
  ids: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }), { maxItems: 10_000 })),
  reason: Type.Optional(Type.Union(deadLetterReasons.map((r) => Type.Literal(r)))),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
});

export async function adminRoutes(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  app.addHook('onRequest', async (request) => {
    if (!deps.isAdmin(request)) {
      throw new DeeprefError('DEEPREF_FORBIDDEN', {
        detail: 'Admin routes are served on the control socket only; use the `deepref` CLI on the server.',
      });
    }
  });

  app.post('/api/v1/query', { schema: { body: QueryBody } }, async (request) => {
    const { sql } = request.body as { sql: string };
    return deps.warehouse.queryReadOnly(sql);
  });

  app.get('/api/v1/deadletters', { schema: { querystring: DeadLetterListQuery } }, async (request) => {
    const query = request.query as {
      reason?: (typeof deadLetterReasons)[number];
      pending?: boolean;
      afterId?: number;
      limit?: number;
    };
    const [items, counts] = await Promise.all([
      deps.log.deadLetters.list({ ...query, limit: query.limit ?? 100 }),
      deps.log.deadLetters.countByReason(),
    ]);
    return { items, counts };
  });

  app.post('/api/v1/deadletters/replay', { schema: { body: ReplayBody } }, async (request) => {
    const body = request.body as {
      ids?: number[];
      reason?: (typeof deadLetterReasons)[number];
      limit?: number;
    };
    const targets: DeadLetter[] = [];
    if (body.ids) {
      for (const id of body.ids) {
        const deadLetter = await deps.log.deadLetters.get(id);
        if (!deadLetter) throw new DeeprefError('DEEPREF_NOT_FOUND', { what: `Dead letter ${id}` });
        targets.push(deadLetter);
      }
    } else {
      targets.push(
        ...(await deps.log.deadLetters.list({
          reason: body.reason,
          pending: true,
          limit: body.limit ?? 1000,
        })),
      );
    }
    // All at once, so the replays share the event log's group commits instead of paying one commit each.
    const results: ({ id: number } & ReplayOutcome)[] = await Promise.all(
      targets.map(async (deadLetter) => {
        const outcome = await deps.replay(deadLetter);
        if (outcome.status !== 'rejected')
          await deps.log.deadLetters.markReplayed(deadLetter.id, outcome.status);
        return { id: deadLetter.id, ...outcome };
      }),
    );
    return { replayed: results.filter((r) => r.status !== 'rejected').length, results };
  });
}
