/**
 * The scale-out deployment as separate processes: two ingest processes and two workers (`deepref start --role`)
 * on one JetStream stream and one PostgreSQL database. Both ingest processes take load at once; one worker and one
 * ingest process are killed (SIGKILL) part way. Afterwards every event that was acknowledged is in the PostgreSQL
 * warehouse exactly once, and each user's events are in the order the user sent them.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { postgresSchemas } from '../adapters.ts';
import { natsReach, natsUrl } from '../bus/jetstream/nats-test-server.ts';
import { Sources } from '../collector/source-registry.ts';
import { defaultConfig } from '../config.ts';
import { openPostgresMetaStore } from '../storage/postgres/postgres-meta-store.ts';
import { dropScaleOutEngines } from './adapter-sets.ts';
import { type RoleProcess, type SplitDeployment, startRoleProcess } from './role-process.ts';
import { describeWithService, type ServiceReach } from './services.ts';
import { postgresReachability, postgresUrl } from './warehouses.ts';

const nats = await natsReach();
const both: ServiceReach = {
  service: 'NATS JetStream and PostgreSQL',
  url: `${natsUrl}, ${postgresUrl}`,
  unreachable: nats.unreachable ?? postgresReachability.unreachable,
};

const users = 24;
const batchesPerUser = 12;
const eventsPerBatch = 10;

/** The engines of the deployment; the real-time store in memory, which this test does not read. */
const engines = {
  adapters: { eventLog: 'jetstream', warehouse: 'postgres', meta: 'postgres', realtime: 'memory' },
};

function kill(processes: RoleProcess[], name: string): void {
  const target = processes.find((p) => p.name === name)!;
  target.child.kill('SIGKILL');
}

describeWithService(both, 'several processes on one JetStream stream and one PostgreSQL', () => {
  const id = randomBytes(5).toString('hex');
  const deployment: SplitDeployment = {
    redisKeyPrefix: `deepref-test-${id}:`,
    stream: `DEEPREF_TEST_${id.toUpperCase()}`,
    schema: `deepref_test_${id}`,
    root: fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-multi-')),
  };
  const processes: RoleProcess[] = [];
  let writeKey = '';

  beforeAll(async () => {
    // Ingest first: it creates the stream, the schemas and the write key's tables, which the workers then share.
    processes.push(await startRoleProcess(deployment, 'ingest-1', 'ingest', engines));
    processes.push(await startRoleProcess(deployment, 'ingest-2', 'ingest', engines));
    processes.push(await startRoleProcess(deployment, 'worker-1', 'worker', engines));
    processes.push(await startRoleProcess(deployment, 'worker-2', 'worker', engines));
    const config = defaultConfig({ postgres: { connectionString: postgresUrl, schema: deployment.schema } });
    const meta = await openPostgresMetaStore({
      connectionString: postgresUrl,
      schema: postgresSchemas(config).meta,
    });
    try {
      ({ writeKey } = await new Sources(meta).create({ name: 'multi-process', allowedOrigins: ['*'] }));
    } finally {
      await meta.destroy();
    }
  }, 240_000);

  afterAll(async () => {
    for (const p of processes) p.child.kill('SIGKILL');
    await dropScaleOutEngines(deployment.stream, deployment.schema);
    fs.rmSync(deployment.root, { recursive: true, force: true });
  });

  it('stores every acknowledged event once, in each user’s order, through killed workers and ingest processes', async () => {
    const authorization = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
    const acked = new Set<string>();
    let batchesSent = 0;
    let killed = false;

    /** Posts one batch, to ingest-1 or ingest-2; a refused or broken request goes to the other one (a retry). */
    async function send(batch: object[], first: number): Promise<void> {
      const ingest = [processes[0]!, processes[1]!];
      for (let attempt = 0; attempt < 20; attempt++) {
        const target = ingest[(first + attempt) % 2]!;
        if (target.child.exitCode !== null || target.child.signalCode !== null) continue;
        try {
          const response = await fetch(`${target.url}/api/telemetry/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization },
            body: JSON.stringify({ batch }),
          });
          if (response.ok) {
            const body = (await response.json()) as { results?: { eventId: string; status: string }[] };
            for (const item of batch as { eventId: string }[]) acked.add(item.eventId);
            expect(body).toBeDefined();
            return;
          }
        } catch {
          // The process died under the request: nothing was acknowledged, so the retry decides.
        }
      }
      throw new Error('no ingest process took the batch');
    }

    async function user(u: number): Promise<void> {
      let seq = 0;
      for (let b = 0; b < batchesPerUser; b++) {
        const batch = Array.from({ length: eventsPerBatch }, () => ({
          eventId: randomUUID(),
          eventName: 'multi_process_probe',
          timestamp: new Date(Date.UTC(2026, 2, 1, 12, 0, 0, seq)).toISOString(),
          userId: `multi-user-${u}`,
          properties: { seq: seq++ },
        }));
        await send(batch, (u + b) % 2);
        batchesSent++;
        // Part way, kill one worker and one ingest process while the others keep going.
        if (!killed && batchesSent >= (users * batchesPerUser) / 3) {
          killed = true;
          kill(processes, 'worker-1');
          kill(processes, 'ingest-2');
        }
      }
    }
    await Promise.all(Array.from({ length: users }, (_, u) => user(u)));
    expect(killed).toBe(true);
    expect(acked.size).toBe(users * batchesPerUser * eventsPerBatch);

    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    try {
      const table = `${postgresSchemas(defaultConfig({ postgres: { connectionString: postgresUrl, schema: deployment.schema } })).warehouse}.events`;
      // worker-2 takes worker-1's partitions over once their leases expire (15 s), then loads what is left.
      const deadline = Date.now() + 120_000;
      let stored = 0;
      while (Date.now() < deadline) {
        const result = await client.query<{ n: string }>(
          `SELECT count(DISTINCT event_id) AS n FROM ${table} WHERE event_name = 'multi_process_probe'`,
        );
        stored = Number(result.rows[0]!.n);
        if (stored >= acked.size) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      const rows = await client.query<{ event_id: string; user_id: string; seq: string }>(
        `SELECT event_id, user_id, properties->>'seq' AS seq FROM ${table}
         WHERE event_name = 'multi_process_probe' ORDER BY log_offset`,
      );
      const ids = rows.rows.map((row) => row.event_id);
      const missing = [...acked].filter((eventId) => !ids.includes(eventId));
      expect(missing, processes.map((p) => `${p.name}:\n${p.output.join('')}`).join('\n')).toEqual([]);
      expect(new Set(ids).size).toBe(ids.length);
      // Per user, in log order, the sequence numbers ascend without a gap.
      const byUser = new Map<string, number[]>();
      for (const row of rows.rows) {
        byUser.set(row.user_id, [...(byUser.get(row.user_id) ?? []), Number(row.seq)]);
      }
      expect(byUser.size).toBe(users);
      for (const [, seqs] of byUser) {
        expect(seqs).toEqual(Array.from({ length: batchesPerUser * eventsPerBatch }, (_, i) => i));
      }
      // The survivor loaded every partition by the end: its own, and worker-1's once taken over.
      const metrics = await (await fetch(`${processes[3]!.url}/metrics`)).text();
      const loaded = [...metrics.matchAll(/^deepref_consumer_offset\{consumer="warehouse\.p(\d+)"\}/gm)].map(
        (m) => Number(m[1]),
      );
      expect(loaded.sort()).toEqual([0, 1, 2, 3]);
    } finally {
      await client.end();
    }
  }, 300_000);
});
