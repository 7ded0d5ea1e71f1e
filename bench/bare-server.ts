/**
 * The reference the ingest benchmark compares with: a Fastify app of the platform's version with one route that
 * parses the JSON body (Fastify's own parser, the platform's body limit) and answers 200. Whatever the platform does
 * beyond that (authentication, validation, enrichment, the durable write, the consumers) shows up as the difference.
 * Run as a child process; prints `{"url": ...}` on stdout once listening.
 */
import Fastify from 'fastify';
import { listenAndAnnounce } from './announce.ts';

const app = Fastify({ logger: false, bodyLimit: 500 * 1024 });
app.post('/api/telemetry/events', async (request) => {
  const events = request.body as unknown[];
  return { success: true, received: events.length };
});
await listenAndAnnounce(app);
