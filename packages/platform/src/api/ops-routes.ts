/** Liveness, readiness and Prometheus metrics: what an orchestrator and a scraper need. */
import type { FastifyInstance } from 'fastify';
import type { EventLog } from '../bus/event-log.ts';
import type { Metrics } from '../ops/metrics.ts';

export interface OpsDeps {
  log: EventLog;
  metrics: Metrics;
  /** Names the stores that are not open yet, or an empty list when all are. */
  notReady: () => Promise<string[]>;
}

export async function opsRoutes(app: FastifyInstance, deps: OpsDeps): Promise<void> {
  app.get('/health', async () => ({ status: 'ok' }));

  app.get('/ready', async (_request, reply) => {
    const waiting = await deps.notReady();
    if (waiting.length > 0) return reply.code(503).send({ status: 'starting', waiting });
    return { status: 'ready' };
  });

  app.get('/metrics', async (_request, reply) => {
    const head = await deps.log.head();
    deps.metrics.logHead.set(head);
    for (const [consumer, offset] of Object.entries(await deps.log.consumerOffsets())) {
      deps.metrics.consumerOffset.set({ consumer }, offset);
      deps.metrics.consumerLag.set({ consumer }, Math.max(0, head - offset));
    }
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
}
