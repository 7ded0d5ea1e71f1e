/**
 * How the ingest benchmark's reference servers start: listen on a free port of 127.0.0.1, print `{"url", "pid"}` as
 * the first line of stdout (which `bench/ingest.ts` waits for), and close on SIGTERM.
 */
import type { FastifyInstance } from 'fastify';

export async function listenAndAnnounce(app: FastifyInstance): Promise<void> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}`, pid: process.pid })}\n`);
  process.on('SIGTERM', () => {
    app.close().then(() => process.exit(0));
  });
}
