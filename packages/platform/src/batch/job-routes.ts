/** Operator routes for scheduled jobs: list them with their latest runs, and run one now (control socket only). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { DeeprefError } from '../errors.ts';
import type { Scheduler } from './scheduler.ts';

export interface JobRoutesDeps {
  scheduler: Scheduler;
  isAdmin: (request: FastifyRequest) => boolean;
}

const RunParams = Type.Object({ name: Type.String({ pattern: '^[a-z][a-z0-9-]{0,62}$' }) });

export async function jobRoutes(app: FastifyInstance, deps: JobRoutesDeps): Promise<void> {
  app.addHook('onRequest', async (request) => {
    if (!deps.isAdmin(request)) {
      throw new DeeprefError('DEEPREF_FORBIDDEN', {
        detail: 'Job routes are served on the control socket only; use `deepref jobs` on the server.',
      });
    }
  });

  app.get('/api/v1/jobs', async () => ({
    jobs: deps.scheduler.jobs(),
    runs: await deps.scheduler.runs({ limit: 50 }),
  }));

  app.post('/api/v1/jobs/:name/run', { schema: { params: RunParams } }, async (request) => {
    const { name } = request.params as { name: string };
    return deps.scheduler.run(name, 'manual');
  });
}
