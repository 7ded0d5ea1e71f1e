/**
 * Operator routes for data subject requests, on the control socket only (the `deepref dsr` CLI): create, verify the
 * subject's identity, approve, run (here, or handed to a worker in a split deployment; the answer is the same),
 * cancel, and read a request with its audit trail. The export's download link
 * itself is public (exports/export-routes.ts): the signature is the permission.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { DeeprefError } from '../../errors.ts';
import { exportFormats } from '../../exports/export-formats.ts';
import type { DsrRequest, DsrService } from './dsr-service.ts';

export interface DsrRouteDeps {
  dsr: DsrService;
  isAdmin: (request: FastifyRequest) => boolean;
  /** The platform's base URL, for full download links. */
  baseUrl: () => string;
  /** How `run` runs a request: here (default, `dsr.run`), or handed to a worker (dsr-runner.ts `runOnWorker`). */
  run?: (id: string, actor: string) => Promise<DsrRequest>;
}

const CreateBody = Type.Object({
  kind: Type.Union([Type.Literal('export'), Type.Literal('erasure')]),
  userId: Type.String({ minLength: 1, maxLength: 256 }),
  /** Export format; for an erasure, asks for an export first. */
  format: Type.Optional(Type.Union(exportFormats.map((f) => Type.Literal(f)))),
});
const VerifyBody = Type.Object({ method: Type.String({ minLength: 1, maxLength: 500 }) });
const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });

/** Who acted, for the audit rows: the control socket is the operator. */
const operator = 'operator (control socket)';

export async function dsrRoutes(app: FastifyInstance, deps: DsrRouteDeps): Promise<void> {
  app.addHook('onRequest', async (request) => {
    if (!deps.isAdmin(request)) {
      throw new DeeprefError('DEEPREF_FORBIDDEN', {
        detail: 'Privacy requests are handled on the control socket only; use `deepref dsr` on the server.',
      });
    }
  });

  /** The request with a full download link when it holds an export. */
  const present = (request: DsrRequest) => {
    const result = request.result as { downloadPath?: string; export?: { downloadPath?: string } } | null;
    const path = result?.downloadPath ?? result?.export?.downloadPath;
    return { ...request, ...(path ? { downloadUrl: `${deps.baseUrl()}${path}` } : {}) };
  };

  app.post('/api/v1/dsr', { schema: { body: CreateBody } }, async (request, reply) => {
    const body = request.body as {
      kind: 'export' | 'erasure';
      userId: string;
      format?: (typeof exportFormats)[number];
    };
    reply.code(201);
    return present(await deps.dsr.create({ ...body, actor: operator }));
  });

  app.get('/api/v1/dsr', async () => ({ items: (await deps.dsr.list()).map(present) }));

  app.get('/api/v1/dsr/:id', { schema: { params: Params } }, async (request) => {
    const { id } = request.params as { id: string };
    return { ...present(await deps.dsr.get(id)), audit: await deps.dsr.audit(id) };
  });

  app.post('/api/v1/dsr/:id/verify', { schema: { params: Params, body: VerifyBody } }, async (request) => {
    const { id } = request.params as { id: string };
    const { method } = request.body as { method: string };
    return present(await deps.dsr.verify(id, method, operator));
  });

  const run = deps.run ?? ((id: string, actor: string) => deps.dsr.run(id, actor));
  const actions = {
    approve: (id: string, actor: string) => deps.dsr.approve(id, actor),
    run,
    cancel: (id: string, actor: string) => deps.dsr.cancel(id, actor),
  };
  for (const [action, take] of Object.entries(actions)) {
    app.post(`/api/v1/dsr/:id/${action}`, { schema: { params: Params } }, async (request) => {
      const { id } = request.params as { id: string };
      return present(await take(id, operator));
    });
  }
}
