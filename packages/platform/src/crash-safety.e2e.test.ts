/**
 * Ack means durable, and every sink stores each event once, on every adapter set (embedded; scale-out: JetStream
 * and PostgreSQL): the platform (the CLI) runs in a child process under HTTP load and is killed with SIGKILL while
 * requests are in flight; then children die on purpose inside the consumers' crash windows (inside a warehouse load
 * transaction, after a load before its offset reached the log, a lake batch half put, a lake compaction half done;
 * on JetStream also an append acknowledged by the stream before its ids were marked seen; see
 * testing/crash-child.ts). A last, in-process start on the same deployment retries the batches whose fate was
 * unknown, drains, and the log, the warehouse and the lake must each hold every acknowledged event exactly once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMetaStore } from './adapters.ts';
import { Sources } from './collector/source-registry.ts';
import { defaultConfig } from './config.ts';
import { type RunningPlatform, startPlatform } from './platform.ts';
import { type AdapterSet, adapterSets, type EngineDeployment } from './testing/adapter-sets.ts';
import type { CrashMode } from './testing/crash-child.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const platformDir = path.resolve(here, '..');
const cliBin = path.join(platformDir, 'bin', 'deepref.js');
const crashChild = path.join(here, 'testing', 'crash-child.ts');

const batchSize = 50;
const senders = 8;
/** Acked events after which the first child is killed. */
const killAfterAcked = 6_000;
/** Batches the warehouse crash child stores before it starts loading. */
const backlogBatches = 100;
const dayMs = 86_400_000;

type WireEvent = Record<string, unknown> & { eventId: string };

/** Events with ids unique to this run, spread over five UTC days so that a lake batch spans five partitions. */
function eventFactory() {
  const run = randomBytes(4).toString('hex');
  const now = Date.now();
  let next = 0;
  const event = (n: number): WireEvent => ({
    eventId: `${run}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`,
    eventName: n % 4 === 0 ? 'api_latency' : 'page_view',
    timestamp: new Date(now - (n % 5) * dayMs - n).toISOString(),
    sessionId: `session-${n % 101}`,
    userId: `user-${n % 37}`,
    properties:
      n % 4 === 0
        ? { endpoint: '/api/documents/:id', method: 'GET', status_code: 200, duration_ms: n % 300 }
        : { path: `/docs/${n % 17}`, title: 'Docs' },
    context: { page: { url: `https://app.example.com/docs/${n % 17}` }, locale: 'en-US' },
  });
  return { batch: (): WireEvent[] => Array.from({ length: batchSize }, () => event(next++)) };
}

function post(url: string, writeKey: string, batch: WireEvent[]): Promise<Response> {
  return fetch(`${url}/api/telemetry/events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
    },
    body: JSON.stringify(batch),
  });
}

interface Results {
  success: boolean;
  results: { eventId: string; status: string }[];
}

/** Each acked event id (accepted or duplicate); throws on anything else in a 200 answer. */
function ackedIds(body: Results): string[] {
  return body.results.map((result) => {
    if (result.status !== 'accepted' && result.status !== 'duplicate') {
      throw new Error(`event ${result.eventId} was ${result.status}: ${JSON.stringify(result)}`);
    }
    return result.eventId;
  });
}

interface Child {
  process: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnChild(args: string[], env: NodeJS.ProcessEnv): Child {
  const child = spawn(process.execPath, args, { cwd: platformDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = once(child, 'exit').then(([code, signal]) => ({ code, signal }));
  return { process: child, output: () => output, exited };
}

/** The URL the CLI child listens on, from the run file it writes once listening. */
async function listeningUrl(child: Child, dataDir: string): Promise<string> {
  const runFile = path.join(dataDir, 'run', 'server.json');
  let exited = false;
  void child.exited.then(() => {
    exited = true;
  });
  for (;;) {
    if (exited) throw new Error(`the platform exited before listening:\n${child.output()}`);
    try {
      const run = JSON.parse(fs.readFileSync(runFile, 'utf8')) as { url: string; pid: number };
      if (run.pid === child.process.pid) return run.url;
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface LoadOutcome {
  acked: Set<string>;
  /** Batches whose request got no 2xx answer: each was stored whole, or not at all. */
  unknown: WireEvent[][];
  inFlightAtKill: number;
  /** Retries of acked batches whose events did not all come back `duplicate`. */
  retriesNotDuplicate: number;
}

/**
 * Concurrent senders post batches of new events (and now and then an acked batch again) until `killAfterAcked`
 * events are acked; then the child is killed from inside a response handler, with the other senders' requests in
 * flight.
 */
async function loadUntilKilled(url: string, writeKey: string, child: Child): Promise<LoadOutcome> {
  const events = eventFactory();
  const outcome: LoadOutcome = { acked: new Set(), unknown: [], inFlightAtKill: 0, retriesNotDuplicate: 0 };
  let killed = false;
  let inFlight = 0;

  const sender = async () => {
    let lastAcked: WireEvent[] | undefined;
    for (let sent = 0; !killed; sent++) {
      const retry = sent % 5 === 4 ? lastAcked : undefined;
      const batch = retry ?? events.batch();
      let body: Results;
      inFlight++;
      try {
        const response = await post(url, writeKey, batch);
        if (response.status !== 200) {
          outcome.unknown.push(batch);
          continue;
        }
        body = (await response.json()) as Results;
      } catch (error) {
        if (!killed) throw error;
        outcome.unknown.push(batch);
        return;
      } finally {
        inFlight--;
      }
      for (const id of ackedIds(body)) outcome.acked.add(id);
      if (retry && body.results.some((result) => result.status !== 'duplicate'))
        outcome.retriesNotDuplicate++;
      lastAcked = batch;
      if (!killed && outcome.acked.size >= killAfterAcked) {
        killed = true;
        outcome.inFlightAtKill = inFlight;
        child.process.kill('SIGKILL');
      }
    }
  };
  await Promise.all(Array.from({ length: senders }, sender));
  return outcome;
}

async function runCrashChild(
  mode: CrashMode,
  dataDir: string,
  deployment: EngineDeployment,
  env: NodeJS.ProcessEnv,
  extra: string[] = [],
) {
  // The process killed before still holds its work leases; the next one takes the partitions at once.
  await deployment.expireLeases();
  const child = spawnChild(['--import', 'tsx', crashChild, mode, dataDir, ...extra], env);
  const { signal } = await child.exited;
  const point = /crashing: (.*)/.exec(child.output())?.[1];
  if (signal !== 'SIGKILL' || point === undefined) {
    throw new Error(`crash child ${mode} did not die at its crash point (${signal}):\n${child.output()}`);
  }
  return point;
}

/** How many times each id occurs. */
function occurrences(ids: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

function repeated(counts: Map<string, number>): string[] {
  return [...counts].filter(([, n]) => n > 1).map(([id]) => id);
}

function missing(acked: Set<string>, counts: Map<string, number>): string[] {
  return [...acked].filter((id) => !counts.has(id));
}

for (const adapters of adapterSets) crashSafetySuite(adapters);

function crashSafetySuite(adapters: AdapterSet) {
  describe(`crash safety (${adapters.name}): SIGKILL under load and inside the consumers’ batches`, () => {
    let root: string;
    let dataDir: string;
    // Names only: nothing is made in the engines until a process opens them.
    const deployment = adapters.deploy();
    const jetstream = deployment.engines.adapters?.eventLog === 'jetstream';
    let platform: RunningPlatform | undefined;
    let load: LoadOutcome;
    const crashPoints: string[] = [];
    const acked = new Set<string>();
    let retriedAfterRestart = 0;
    /** The statuses answered to the batch JetStream held but whose ids the log had not marked seen, sent again. */
    let republished: string[] = [];

    // The timeout is a ceiling, not a budget: the setup takes under a minute of CPU, but minutes of wall clock on a
    // machine shared by many processes.
    beforeAll(async () => {
      root = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-crash-'));
      dataDir = path.join(root, 'data');
      const config = defaultConfig({ ...deployment.engines, port: 0, dataDir });
      // The children's temporary files (the lake writer's staging folder) stay inside the test's folder; the
      // deployment's engines reach them as DEEPREF_* variables, as they would reach a real process.
      const tmp = path.join(root, 'tmp');
      fs.mkdirSync(tmp, { recursive: true });
      const env = { ...process.env, TMPDIR: tmp, ...deployment.env };

      const meta = await openMetaStore(config);
      const { writeKey } = await new Sources(meta).create({ name: 'crash-test' });
      await meta.destroy();

      // 1. The real platform (the CLI) under HTTP load, killed with requests in flight.
      const cli = spawnChild(
        [cliBin, 'start', '--data-dir', dataDir, '--port', '0', '--log-level', 'warn'],
        env,
      );
      const url = await listeningUrl(cli, dataDir);
      load = await loadUntilKilled(url, writeKey, cli);
      expect((await cli.exited).signal).toBe('SIGKILL');
      for (const id of load.acked) acked.add(id);

      // 2. A backlog, then a kill inside the warehouse loader's first load transaction.
      const events = eventFactory();
      const backlog = path.join(root, 'backlog.json');
      const backlogAcked = path.join(root, 'backlog-acked.json');
      fs.writeFileSync(backlog, JSON.stringify(Array.from({ length: backlogBatches }, () => events.batch())));
      crashPoints.push(
        await runCrashChild('warehouse-mid-load', dataDir, deployment, env, [
          backlog,
          backlogAcked,
          writeKey,
        ]),
      );
      for (const id of JSON.parse(fs.readFileSync(backlogAcked, 'utf8')) as string[]) acked.add(id);

      // 3. A kill once a load committed in the warehouse, before the loader moved its offset in the log.
      crashPoints.push(await runCrashChild('warehouse-after-load', dataDir, deployment, env));

      // 4. and 5. Kills in the lake writer: a batch with some of its files in the lake, a compaction half done.
      crashPoints.push(await runCrashChild('lake-mid-batch', dataDir, deployment, env));
      crashPoints.push(await runCrashChild('lake-mid-compaction', dataDir, deployment, env));

      // 6. JetStream: a kill between the stream's acknowledgement of a batch and the marks of its ids, last so that
      // its retry comes within JetStream's duplicate window (2 minutes).
      let unanswered: WireEvent[] | undefined;
      if (jetstream) {
        unanswered = events.batch();
        const batches = path.join(root, 'unanswered.json');
        fs.writeFileSync(batches, JSON.stringify([unanswered]));
        const none = path.join(root, 'unanswered-acked.json');
        crashPoints.push(
          await runCrashChild('log-after-publish', dataDir, deployment, env, [batches, none, writeKey]),
        );
      }

      // 7. A normal start: the batches of unknown fate are sent again, as a client would, then everything drains.
      await deployment.expireLeases();
      platform = await startPlatform(config, { logger: false });
      if (unanswered) {
        const response = await post(platform.url, writeKey, unanswered);
        expect(response.status).toBe(200);
        const body = (await response.json()) as Results;
        for (const id of ackedIds(body)) acked.add(id);
        republished = body.results.map((result) => result.status);
      }
      for (const batch of load.unknown) {
        const response = await post(platform.url, writeKey, batch);
        expect(response.status).toBe(200);
        for (const id of ackedIds((await response.json()) as Results)) acked.add(id);
        retriedAfterRestart++;
      }
      await platform.drain();
    }, 420_000);

    afterAll(async () => {
      await platform?.close();
      await deployment.drop();
      if (root) fs.rmSync(root, { recursive: true, force: true });
    });

    it('acked thousands of events, killed the platform with requests in flight and each consumer mid-batch', () => {
      expect(load.acked.size).toBeGreaterThanOrEqual(killAfterAcked);
      expect(load.inFlightAtKill).toBeGreaterThan(0);
      expect(load.retriesNotDuplicate).toBe(0);
      expect(retriedAfterRestart).toBe(load.unknown.length);
      expect(acked.size).toBeGreaterThanOrEqual(load.acked.size + backlogBatches * batchSize);
      expect(crashPoints).toEqual([
        expect.stringMatching(/^warehouse load of warehouse(\.p\d+)? up to offset \d+: rows inserted/),
        expect.stringMatching(/^warehouse(\.p\d+)? loaded up to \d+, not committed/),
        expect.stringMatching(/^first file of a batch put/),
        expect.stringMatching(/^compaction put/),
        ...(jetstream ? [expect.stringMatching(/^events acknowledged by JetStream/)] : []),
      ]);
    });

    it.runIf(jetstream)(
      'answers a resent batch that JetStream held before its ids were marked seen as duplicates',
      () => {
        expect(republished).toEqual(Array.from({ length: batchSize }, () => 'duplicate'));
      },
    );

    it('keeps every acked event in the log exactly once, and no event twice', async () => {
      const ids: string[] = [];
      for (let after = 0; ; ) {
        const records = await platform!.log.read(after, 10_000);
        if (records.length === 0) break;
        for (const record of records) ids.push(record.event.eventId);
        after = records.at(-1)!.offset;
      }
      const counts = occurrences(ids);
      expect(repeated(counts)).toEqual([]);
      expect(missing(acked, counts)).toEqual([]);
      // Nothing unacked was invented either: every event in the log was sent by this test and answered 2xx.
      expect(ids.length).toBe(acked.size);
    });

    it('loads every logged event into the warehouse exactly once', async () => {
      const twice = await platform!.warehouse.query(
        'SELECT event_id, count(*) FROM events GROUP BY 1 HAVING count(*) > 1',
      );
      expect(twice.rows).toEqual([]);
      const { rows } = await platform!.warehouse.query('SELECT event_id FROM events');
      const counts = occurrences(rows.map((row) => row[0] as string));
      expect(missing(acked, counts)).toEqual([]);
      expect(rows.length).toBe(acked.size);
    });

    it('writes every logged event to the lake exactly once', async () => {
      const instance = await DuckDBInstance.create(':memory:');
      const connection = await instance.connect();
      try {
        const glob = path.join(dataDir, 'lake', 'events', '**', '*.parquet').replaceAll("'", "''");
        const reader = await connection.runAndReadAll(
          `SELECT event_id, count(*)::INTEGER FROM read_parquet('${glob}', hive_partitioning = 1) GROUP BY 1`,
        );
        const rows = reader.getRows() as [string, number][];
        const counts = new Map(rows.map(([id, n]) => [id, n]));
        expect(repeated(counts)).toEqual([]);
        expect(missing(acked, counts)).toEqual([]);
        expect(rows.length).toBe(acked.size);
      } finally {
        connection.closeSync();
        instance.closeSync();
      }
    });
  });
}
