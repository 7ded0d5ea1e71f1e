/** `GET /api/v1/retention/plan`: what retention would remove now, removing nothing (control socket only). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DeeprefError } from '../../errors.ts';
import { enforceRetention, type RetentionStores } from './retention.ts';
import type { RetentionConfig } from './retention-policy.ts';

export interface RetentionRoutesDeps {
  stores: RetentionStores;
  config: RetentionConfig;
  isAdmin: (request: FastifyRequest) => boolean;
}

export async function retentionRoutes(app: FastifyInstance, deps: RetentionRoutesDeps): Promise<void> {
  app.get('/api/v1/retention/plan', async (request) => {
    if (!deps.isAdmin(request)) {
      throw new DeeprefError('DEEPREF_FORBIDDEN', {
        detail: 'Retention is operated on the control socket only; use `deepref retention` on the server.',
      });
    }
    return { policy: deps.config, ...(await enforceRetention(deps.stores, deps.config, { dryRun: true })) };
  });
}
