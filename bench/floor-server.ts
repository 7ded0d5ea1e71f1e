/**
 * The second reference of the ingest benchmark: the least a durable collector can do. The bare route's HTTP and JSON
 * parsing, then each event written back as JSON text with its `receivedAt` (as any collector that adds to an event
 * must) and committed by a writer thread to SQLite in WAL mode with `synchronous=FULL`, one row an event, the answer
 * sent once its commit is done. The writer takes every batch that arrived during a commit into the next one (group
 * commit), without waiting for the main thread. No authentication, validation, enrichment, masking, deduplication or
 * consumers: whatever the platform spends beyond this floor is what those cost.
 * Run as a child process: `floor-server.ts DIR` (the folder for its file); prints `{"url": ...}` once listening.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import Fastify from 'fastify';
import { listenAndAnnounce } from './announce.ts';

/** The writer thread, as plain JavaScript so that it needs no loader. */
const writerSource = `
  const { parentPort, receiveMessageOnPort, workerData } = require('node:worker_threads');
  const Database = require('better-sqlite3');
  const db = new Database(workerData.file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS events ("offset" INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO events (body) VALUES (?)');
  const commit = db.transaction((batches) => {
    for (const batch of batches) for (const body of batch.bodies) insert.run(body);
  });
  parentPort.on('message', (first) => {
    const batches = [first];
    for (let next; (next = receiveMessageOnPort(parentPort)) !== undefined; ) batches.push(next.message);
    commit(batches);
    parentPort.postMessage(batches.map((batch) => batch.id));
  });
`;

const dir = process.argv[2];
if (!dir) throw new Error('usage: floor-server.ts DIR');
const writer = new Worker(writerSource, { eval: true, workerData: { file: path.join(dir, 'floor.db') } });
const waiting = new Map<number, () => void>();
let nextId = 0;
writer.on('message', (ids: number[]) => {
  for (const id of ids) {
    waiting.get(id)!();
    waiting.delete(id);
  }
});

const app = Fastify({ logger: false, bodyLimit: 500 * 1024 });
app.post('/api/telemetry/events', async (request) => {
  const events = request.body as Record<string, unknown>[];
  const receivedAt = new Date().toISOString();
  const bodies = events.map((event) => JSON.stringify({ ...event, receivedAt }));
  const id = nextId++;
  await new Promise<void>((committed) => {
    waiting.set(id, committed);
    writer.postMessage({ id, bodies });
  });
  return { success: true, received: events.length };
});
await listenAndAnnounce(app);
