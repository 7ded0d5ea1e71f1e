/**
 * The reference the ingest benchmark compares with: a Fastify app of the platform's version with one route that
 * parses the JSON body (Fastify's own parser, the platform's body limit) and answers 200. Whatever the platform does
 * beyond that (authentication, validation, enrichment, the durable write, the consumers) shows up as the difference.
 * Run as a child process; prints `{"url": ...}` on stdout once listening.
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false, bodyLimit: 500 * 1024 });
app.post('/api/telemetry/events', async (request) => {
  const events = request.body as unknown[];
  return { success: true, received: events.length };
});
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : 0;
process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}`, pid: process.pid })}\n`);
process.on('SIGTERM', () => {
  app.close().then(() => process.exit(0));
});
