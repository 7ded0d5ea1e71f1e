/**
 * The download route of export packages: `GET /api/v1/exports/:id/download?expires=…&signature=…`. The signed link
 * is the permission (it is what the subject receives), so the route needs no session; the zip's SHA-256 goes in
 * the `x-deepref-sha256` header, to be checked against the one the request reported.
 */
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { DeeprefError } from '../errors.ts';
import type { ExportStore } from './export-store.ts';
import { verifyDownload } from './signed-url.ts';

export interface ExportRouteDeps {
  exports: ExportStore;
  urlSecret: Buffer;
  now?: () => number;
}

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
const Query = Type.Object({
  expires: Type.Optional(Type.String({ maxLength: 20 })),
  signature: Type.Optional(Type.String({ maxLength: 100 })),
});

export async function exportRoutes(app: FastifyInstance, deps: ExportRouteDeps): Promise<void> {
  const now = deps.now ?? Date.now;
  app.get(
    '/api/v1/exports/:id/download',
    { schema: { params: Params, querystring: Query } },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const { expires, signature } = request.query as { expires?: string; signature?: string };
      verifyDownload(deps.urlSecret, id, expires, signature, now());
      const stored = await deps.exports.read(id);
      if (!stored) throw new DeeprefError('DEEPREF_EXPORT_GONE', { id });
      return reply
        .header('content-type', 'application/zip')
        .header('content-disposition', `attachment; filename="deepref-export-${id}.zip"`)
        .header('x-deepref-sha256', stored.sha256)
        .header('cache-control', 'no-store')
        .send(stored.bytes);
    },
  );
}
