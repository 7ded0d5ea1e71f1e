/**
 * `npm run bench:ingest`: durable ingest throughput of the collector, and the same load against two references
 * measured in the same run: a bare Fastify route that only parses the JSON (`bare-server.ts`), and the floor of a
 * durable collector, which parses, writes each event back as JSON and group commits it to SQLite, nothing else
 * (`floor-server.ts`). Batches of 50 realistic events (unique ids) over HTTP at
 * several concurrencies, with autocannon in this process and each server in a child process of its own.
 *
 * Durable events/s counts the events each 200 answer reports `accepted` (the collector answers only once they are
 * in the log on disk); the log's head, read from the SQLite file after each step, must confirm them.
 *
 *   npx tsx bench/ingest.ts [--quick] [--duration 10] [--warmup 3] [--concurrency 8,32,64] [--batch 50]
 *                           [--cpu-prof] [--data-dir DIR] [--only platform,floor,bare] [--node-options="--flag ..."]
 *                           [--attempts 3]
 *
 * `--node-options` passes V8/Node flags to both servers (`--node-options=--max-semi-space-size=64`), for
 * experiments. A step that other processes disturbed (more than a quarter of a core) is measured again, up to
 * `--attempts` times (default 3, 1 with --quick), and the least disturbed attempt is kept; the report names what
 * disturbed it. The platform and the floor get a fresh server and data folder for every measurement.
 *
 * Results go to bench/results/ingest-latest.json (and CPU profiles to bench/results/profiles/ with --cpu-prof).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { openSqliteEventLogReader } from '../packages/platform/src/bus/sqlite/sqlite-event-log.ts';
import { Sources } from '../packages/platform/src/collector/source-registry.ts';
import { dataPaths } from '../packages/platform/src/config.ts';
import { openSqliteMetaStore } from '../packages/platform/src/storage/sqlite/sqlite-meta-store.ts';
import {
  type CallFrame,
  type CpuProfile,
  formatSummary,
  type ProfileSummary,
  type StackClassifier,
  summarizeProfile,
} from './cpu-profile.ts';
import { eventBatches } from './event-batches.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');
const resultsDir = path.join(repoRoot, 'bench', 'results');
const route = '/api/telemetry/events';
const targets = { durableEventsPerS: 100_000, ratioToBare: 0.5 };

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    concurrency: { type: 'string' },
    batch: { type: 'string', default: '50' },
    'cpu-prof': { type: 'boolean', default: false },
    'data-dir': { type: 'string' },
    only: { type: 'string' },
    'node-options': { type: 'string' },
    attempts: { type: 'string' },
  },
});
const quick = args.quick ?? false;
const durationS = Number(args.duration ?? (quick ? 2 : 10));
const warmupS = Number(args.warmup ?? (quick ? 1 : 3));
const concurrencies = (args.concurrency ?? (quick ? '8,32' : '8,32,64')).split(',').map(Number);
const batchSize = Number(args.batch);
const profiling = args['cpu-prof'] ?? false;
type Target = 'platform' | 'floor' | 'bare';
const targetNames: Target[] = ['platform', 'floor', 'bare'];
const only = (args.only?.split(',') ?? targetNames) as Target[];
for (const name of only) {
  if (!targetNames.includes(name)) throw new Error(`--only takes ${targetNames.join(', ')}, not ${name}`);
}
const attempts = Number(args.attempts ?? (quick ? 1 : 3));
/** Cores used by other processes during a step above which it is measured again. */
const disturbedCores = 0.25;
const serverNodeOptions = (args['node-options'] ?? '').split(/\s+/).filter(Boolean);

const thousands = (n: number) => Math.round(n).toLocaleString('en-US');
const cores = (n: number) => n.toFixed(2);

// ---- machine and process measurements -------------------------------------------------------------------------

const clockTicks = 100; // USER_HZ on Linux

function machine() {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot }).toString().trim();
    const changes = execFileSync('git', ['status', '--porcelain', '--', 'packages'], { cwd: repoRoot });
    if (changes.length > 0) commit += ' + uncommitted changes';
  } catch {}
  const fastify = JSON.parse(
    fs.readFileSync(path.join(repoRoot, 'node_modules', 'fastify', 'package.json'), 'utf8'),
  ) as { version: string };
  return {
    cpus: os.availableParallelism(),
    cpuModel: model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    fastify: fastify.version,
    platform: `${os.platform()} ${os.release()}`,
    commit,
    loadAverageAtStart: os.loadavg().map((n) => Number(n.toFixed(2))),
  };
}

/**
 * CPU seconds a process has used so far, all its threads together; with `thread`, that thread's alone (the process's
 * own id is its main thread, the one that runs the event loop).
 */
function processCpuSeconds(pid: number, thread?: number): number {
  const stat = fs.readFileSync(
    thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`,
    'utf8',
  );
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks; // utime, stime
}

/** CPU seconds the whole machine has been busy so far (all cores, idle and iowait excluded). */
function machineBusySeconds(): number {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [user, nice, system, , , irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) / clockTicks;
}

/**
 * CPU seconds used so far by every process on the machine, by pid, with its name. A process that starts and ends
 * within a step is in neither snapshot: its CPU counts in `others` without a name.
 */
function allProcessesCpu(): Map<number, { name: string; seconds: number }> {
  const usage = new Map<number, { name: string; seconds: number }>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      usage.set(Number(entry), { name, seconds: (Number(fields[11]) + Number(fields[12])) / clockTicks });
    } catch {} // exited meanwhile
  }
  return usage;
}

/** The processes other than ours that used the most CPU between two snapshots, as `name pid: cores`. */
function otherConsumers(
  before: Map<number, { name: string; seconds: number }>,
  after: Map<number, { name: string; seconds: number }>,
  ours: number[],
  elapsed: number,
): string[] {
  return [...after]
    .filter(([pid]) => !ours.includes(pid))
    .map(([pid, { name, seconds }]) => ({
      pid,
      name,
      cores: (seconds - (before.get(pid)?.seconds ?? 0)) / elapsed,
    }))
    .filter((p) => p.cores >= 0.05)
    .sort((a, b) => b.cores - a.cores)
    .slice(0, 4)
    .map((p) => `${p.name} ${p.pid}: ${p.cores.toFixed(2)}`);
}

// ---- children ---------------------------------------------------------------------------------------------------

interface Server {
  name: Target;
  url: string;
  child: ChildProcess;
  output: () => string;
  /** The platform's data folder, whose log's head the steps read. */
  dataDir?: string;
  /** The floor server's folder. */
  folder?: string;
  writeKey?: string;
  profileDir?: string;
  /** Profiles taken so far (the profiled platform numbers them from 1). */
  profiles?: number;
}

function spawnNode(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(process.execPath, [...serverNodeOptions, ...args], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  return { child, output: () => output };
}

async function until<T>(what: string, child: ChildProcess, probe: () => T | undefined, output: () => string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      throw new Error(`${what} did not come up:\n${output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A reference server (`bare-server.ts`, `floor-server.ts`), which prints its address as its first line. */
async function startReference(name: 'bare' | 'floor'): Promise<Server> {
  const parent = args['data-dir'] ? path.resolve(args['data-dir']) : os.tmpdir();
  const folder = name === 'floor' ? fs.mkdtempSync(path.join(parent, 'deepref-floor-')) : undefined;
  const { child, output } = spawnNode([
    '--import',
    'tsx',
    path.join('bench', `${name}-server.ts`),
    ...(folder ? [folder] : []),
  ]);
  const url = await until(
    name === 'bare' ? 'the bare Fastify route' : 'the floor server',
    child,
    () => {
      const line = output().split('\n')[0];
      return line?.startsWith('{') && output().includes('\n')
        ? (JSON.parse(line) as { url: string }).url
        : undefined;
    },
    output,
  );
  return { name, url, child, output, ...(folder ? { folder } : {}) };
}

let profiledServers = 0;

async function startPlatformChild(): Promise<Server> {
  const parent = args['data-dir'] ? path.resolve(args['data-dir']) : os.tmpdir();
  fs.mkdirSync(parent, { recursive: true });
  const dataDir = fs.mkdtempSync(path.join(parent, 'deepref-bench-'));
  const meta = await openSqliteMetaStore(dataPaths(dataDir).meta);
  const { writeKey } = await new Sources(meta).create({ name: `bench-${Date.now()}` });
  await meta.destroy();
  // The lake writer stages files in the OS temp folder; keep them with the data, removed with it.
  const tmp = path.join(dataDir, 'tmp');
  fs.mkdirSync(tmp, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp };
  const startArgs = ['start', '--data-dir', dataDir, '--port', '0', '--log-level', 'warn'];
  let profileDir: string | undefined;
  let nodeArgs: string[];
  if (profiling) {
    if (profiledServers === 0) fs.rmSync(path.join(resultsDir, 'profiles'), { recursive: true, force: true });
    profileDir = path.join(resultsDir, 'profiles', `server-${++profiledServers}`);
    fs.mkdirSync(profileDir, { recursive: true });
    env.DEEPREF_BENCH_PROFILE_DIR = profileDir;
    nodeArgs = ['--import', 'tsx', path.join('bench', 'profiled-platform.ts'), ...startArgs];
  } else {
    nodeArgs = [path.join('packages', 'platform', 'bin', 'deepref.js'), ...startArgs];
  }
  const { child, output } = spawnNode(nodeArgs, env);
  const runFile = path.join(dataDir, 'run', 'server.json');
  const url = await until(
    'the platform',
    child,
    () => {
      try {
        const run = JSON.parse(fs.readFileSync(runFile, 'utf8')) as { url: string; pid: number };
        return run.pid === child.pid ? run.url : undefined;
      } catch {
        return undefined;
      }
    },
    output,
  );
  return { name: 'platform', url, child, output, dataDir, writeKey, ...(profileDir ? { profileDir } : {}) };
}

async function stop(server: Server): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = once(server.child, 'exit');
  // The platform is killed rather than stopped: a graceful stop would first drain the consumers' backlog,
  // which is no part of what is measured (and its data folder is deleted next).
  server.child.kill(server.name === 'platform' ? 'SIGKILL' : 'SIGTERM');
  await exited;
}

/** The log's head as the file says (max offset committed), read by a second process as `deepref` tools do. */
async function logHead(dataDir: string): Promise<number> {
  const reader = openSqliteEventLogReader(dataPaths(dataDir).eventLog);
  try {
    return await reader.head();
  } finally {
    await reader.close();
  }
}

// ---- where the platform's main thread goes ----------------------------------------------------------------------

const inFile = (frame: CallFrame, file: string) => frame.url.endsWith(file);
const inPackage = (frame: CallFrame, name: string) => frame.url.includes(`/node_modules/${name}/`);

/**
 * The stages of the platform, in the order they claim a sample: the first whose test matches any frame of the
 * stack wins, so the consumers' reads of the log count as consumers, not as the log.
 */
const stages: [string, (frame: CallFrame) => boolean][] = [
  ['consumers: warehouse load (DuckDB appender)', (f) => inFile(f, 'storage/duckdb/duckdb-warehouse.ts')],
  ['consumers: lake write (DuckDB, Parquet)', (f) => inFile(f, 'storage/lake-writer.ts')],
  ['consumers: log read (SQLite, JSON.parse)', (f) => inFile(f, 'storage/log-consumer.ts')],
  [
    'log: group commit (SQLite inserts, fsync)',
    (f) => f.functionName === 'flush' && inFile(f, 'sqlite-event-log.ts'),
  ],
  [
    'log: append (JSON.stringify, keys)',
    (f) => f.functionName === 'append' && inFile(f, 'sqlite-event-log.ts'),
  ],
  ['collector: body decode + JSON.parse', (f) => inFile(f, 'collector/body.ts')],
  ['collector: map + validate (wire, TypeBox)', (f) => inFile(f, 'collector/wire.ts')],
  ['collector: enrich (skew, user agent, ip)', (f) => inFile(f, 'collector/enrich.ts')],
  ['collector: store (results, metrics)', (f) => inFile(f, 'collector/pipeline.ts')],
  [
    'collector: write key',
    (f) => inFile(f, 'collector/source-registry.ts') || inFile(f, 'collector/write-key.ts'),
  ],
  ['collector: route, CORS hooks', (f) => inFile(f, 'collector/routes.ts') || inFile(f, 'collector/cors.ts')],
  [
    'fastify (routing, hooks, reply serialization)',
    (f) =>
      inPackage(f, 'fastify') ||
      inPackage(f, 'fast-json-stringify') ||
      inPackage(f, 'find-my-way') ||
      inPackage(f, 'avvio'),
  ],
  ['metrics (prom-client)', (f) => inPackage(f, 'prom-client')],
  [
    'node: HTTP and sockets',
    (f) =>
      /^node:(_http|http|net|internal\/(http|stream|streams|net|js_stream))/.test(f.url) ||
      f.url.startsWith('node:internal/streams'),
  ],
];

const classifyStack: StackClassifier = (stack) => {
  const leaf = stack[0]!;
  if (leaf.functionName === '(garbage collector)') return 'garbage collection';
  if (leaf.functionName === '(idle)') return 'idle (waiting for I/O)';
  if (leaf.functionName === '(program)') return '(program: V8 and native work outside JavaScript)';
  for (const [stage, test] of stages) if (stack.some(test)) return stage;
  return 'other';
};

/**
 * The head once it stopped moving: requests cut off when a step ends may still commit, and must count in that
 * step rather than the next.
 */
async function settledLogHead(dataDir: string): Promise<number> {
  let head = await logHead(dataDir);
  for (let stable = 0, tries = 0; stable < 2 && tries < 100; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const next = await logHead(dataDir);
    stable = next === head ? stable + 1 : 0;
    head = next;
  }
  return head;
}

// ---- one measured step ------------------------------------------------------------------------------------------

export interface StepResult {
  target: Target;
  concurrency: number;
  seconds: number;
  requests2xx: number;
  requestsOther: number;
  errors: number;
  timeouts: number;
  /** Events the 200 answers reported accepted (platform), or events in the 2xx requests (bare). */
  events: number;
  eventsPerS: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** Offsets the log's head moved by during the step (platform). */
  logHeadDelta?: number;
  /**
   * Cores used on average: by the server child (all threads), by this load generator, by anything else (other
   * processes, and kernel threads such as the file system's journal, which work for the server's fsyncs), with the
   * largest of those others; and the server's main thread alone (its event loop: when it is near 1, the event loop
   * is what limits; when it is well below while the machine is full, only less CPU in all helps).
   */
  cpu: { server: number; loadGenerator: number; other: number; others: string[]; serverMainThread: number };
  profile?: ProfileSummary;
  profileFile?: string;
  /** The server's event-loop delay over the step, in ms (with --cpu-prof). */
  eventLoopDelayMs?: { p50: number; p99: number; max: number; mean: number };
}

function countAccepted(body: string): number {
  let count = 0;
  for (let at = body.indexOf('"accepted"'); at >= 0; at = body.indexOf('"accepted"', at + 10)) count++;
  return count;
}

async function waitForFile(file: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!fs.existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`${file} was not written`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function measure(server: Server, concurrency: number, seconds: number, profile: boolean) {
  const bodies = eventBatches(batchSize);
  let requests2xx = 0;
  let requestsOther = 0;
  let accepted = 0;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (server.writeKey)
    headers.authorization = `Basic ${Buffer.from(`${server.writeKey}:`).toString('base64')}`;
  const headBefore = server.dataDir ? await settledLogHead(server.dataDir) : 0;

  if (profile && server.profileDir) {
    server.profiles = (server.profiles ?? 0) + 1;
    server.child.kill('SIGUSR2');
    await waitForFile(path.join(server.profileDir, `started-${server.profiles}`));
  }
  const pid = server.child.pid!;
  const cpuBefore = {
    server: processCpuSeconds(pid),
    serverMainThread: processCpuSeconds(pid, pid),
    self: process.cpuUsage(),
    machine: machineBusySeconds(),
    processes: allProcessesCpu(),
  };
  const started = performance.now();
  const result = await autocannon({
    url: server.url,
    connections: concurrency,
    duration: seconds,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        path: route,
        headers,
        setupRequest: (request) => {
          request.body = bodies.next();
          return request;
        },
        onResponse: (status: number, body: string) => {
          if (status >= 200 && status < 300) {
            requests2xx++;
            accepted += server.name === 'platform' ? countAccepted(body) : batchSize;
          } else {
            requestsOther++;
          }
        },
      },
    ],
  });
  const elapsed = (performance.now() - started) / 1000;
  const selfCpu = process.cpuUsage(cpuBefore.self);
  const serverCpu = processCpuSeconds(pid) - cpuBefore.server;
  const serverMainThreadCpu = processCpuSeconds(pid, pid) - cpuBefore.serverMainThread;
  const loadGeneratorCpu = (selfCpu.user + selfCpu.system) / 1e6;
  const machineCpu = machineBusySeconds() - cpuBefore.machine;
  const others = otherConsumers(cpuBefore.processes, allProcessesCpu(), [pid, process.pid], elapsed);

  let profileSummary: ProfileSummary | undefined;
  let profileFile: string | undefined;
  let eventLoopDelayMs: StepResult['eventLoopDelayMs'];
  if (profile && server.profileDir) {
    server.child.kill('SIGUSR2');
    profileFile = path.join(server.profileDir, `profile-${server.profiles}.cpuprofile`);
    await waitForFile(profileFile);
    eventLoopDelayMs = JSON.parse(
      fs.readFileSync(path.join(server.profileDir, `loop-${server.profiles}.json`), 'utf8'),
    ) as StepResult['eventLoopDelayMs'];
    profileSummary = summarizeProfile(
      JSON.parse(fs.readFileSync(profileFile, 'utf8')) as CpuProfile,
      25,
      classifyStack,
    );
  }
  let logHeadDelta: number | undefined;
  if (server.dataDir) logHeadDelta = (await settledLogHead(server.dataDir)) - headBefore;
  const step: StepResult = {
    target: server.name,
    concurrency,
    seconds: elapsed,
    requests2xx,
    requestsOther,
    errors: result.errors,
    timeouts: result.timeouts,
    events: accepted,
    eventsPerS: accepted / elapsed,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
    ...(logHeadDelta === undefined ? {} : { logHeadDelta }),
    cpu: {
      server: serverCpu / elapsed,
      serverMainThread: serverMainThreadCpu / elapsed,
      loadGenerator: loadGeneratorCpu / elapsed,
      other: Math.max(0, machineCpu - serverCpu - loadGeneratorCpu) / elapsed,
      others,
    },
    ...(profileSummary ? { profile: profileSummary } : {}),
    ...(profileFile ? { profileFile: path.relative(repoRoot, profileFile) } : {}),
    ...(eventLoopDelayMs ? { eventLoopDelayMs } : {}),
  };
  return step;
}

/**
 * Measures every concurrency on servers from `start`, warmed up first. The platform gets a fresh server (and data
 * folder) for every measurement, so that no step inherits the consumers' backlog of the one before, and so does the
 * floor, whose file then grows as the platform's does; the bare route, which keeps nothing, is started once.
 */
async function runTarget(target: Server['name'], start: () => Promise<Server>): Promise<StepResult[]> {
  const fresh = target !== 'bare';
  let server: Server | undefined;
  const ready = async () => {
    if (server && !fresh) return server;
    if (server) await discard(server);
    server = await start();
    process.stdout.write(`${server.name}: ${server.url}, warming up ${warmupS} s\n`);
    await measure(server, 16, warmupS, false);
    return server;
  };
  try {
    const steps: StepResult[] = [];
    for (const concurrency of concurrencies) {
      let step: StepResult | undefined;
      // On a shared machine another process may take a core in the middle of a step: measure again (up to
      // --attempts) and keep the attempt that others disturbed least.
      for (let attempt = 1; attempt <= attempts; attempt++) {
        const result = await measure(
          await ready(),
          concurrency,
          durationS,
          profiling && target === 'platform',
        );
        process.stdout.write(
          `  ${target} c=${concurrency}: ${thousands(result.eventsPerS)} events/s, ` +
            `p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, ` +
            `server ${cores(result.cpu.server)} cores (main thread ${cores(result.cpu.serverMainThread)}), ` +
            `others ${cores(result.cpu.other)}\n`,
        );
        if (step === undefined || result.cpu.other < step.cpu.other) step = result;
        if (step.cpu.other <= disturbedCores) break;
      }
      steps.push(step!);
    }
    return steps;
  } finally {
    if (server) await discard(server);
  }
}

async function discard(server: Server): Promise<void> {
  await stop(server);
  for (const folder of [server.dataDir, server.folder]) {
    if (folder) fs.rmSync(folder, { recursive: true, force: true });
  }
}

// ---- report -----------------------------------------------------------------------------------------------------

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows
    .map((row, r) =>
      [
        row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '),
        ...(r === 0 ? [widths.map((w) => '-'.repeat(w)).join('  ')] : []),
      ].join('\n'),
    )
    .join('\n');
}

const info = machine();
process.stdout.write(
  `ingest benchmark: ${info.cpus} × ${info.cpuModel}, Node ${info.node}, Fastify ${info.fastify}; ` +
    `batches of ${batchSize}, ${durationS} s per step, concurrency ${concurrencies.join(', ')}` +
    `${profiling ? ', CPU profiles of the platform' : ''}` +
    `${serverNodeOptions.length ? `, servers run with ${serverNodeOptions.join(' ')}` : ''}\n` +
    `load average at start: ${info.loadAverageAtStart.join(' ')}\n`,
);

const bare = only.includes('bare') ? await runTarget('bare', () => startReference('bare')) : [];
const floor = only.includes('floor') ? await runTarget('floor', () => startReference('floor')) : [];
const platform = only.includes('platform') ? await runTarget('platform', startPlatformChild) : [];

const rows = [
  [
    'concurrency',
    'durable events/s',
    'p50 ms',
    'p99 ms',
    'floor events/s',
    'bare events/s',
    'p50 ms',
    'p99 ms',
    'ratio',
    'floor ratio',
    'cores: platform',
    'floor',
    'bare',
    'ratio per core',
    'others: platform',
    'bare',
  ],
];
/** Events per CPU-second of the server process (all its threads): a figure other processes barely move. */
const perCore = (step: StepResult) => step.eventsPerS / step.cpu.server;
const dash = <T>(step: T | undefined, show: (step: T) => string) => (step === undefined ? '-' : show(step));
const comparisons = concurrencies.map((concurrency) => {
  const p = platform.find((s) => s.concurrency === concurrency);
  const f = floor.find((s) => s.concurrency === concurrency);
  const b = bare.find((s) => s.concurrency === concurrency);
  const ratio = p && b ? p.eventsPerS / b.eventsPerS : undefined;
  const floorRatio = f && b ? f.eventsPerS / b.eventsPerS : undefined;
  const ratioPerCore = p && b ? perCore(p) / perCore(b) : undefined;
  rows.push([
    String(concurrency),
    dash(p, (p) => thousands(p.eventsPerS)),
    dash(p, (p) => String(p.latencyMs.p50)),
    dash(p, (p) => String(p.latencyMs.p99)),
    dash(f, (f) => thousands(f.eventsPerS)),
    dash(b, (b) => thousands(b.eventsPerS)),
    dash(b, (b) => String(b.latencyMs.p50)),
    dash(b, (b) => String(b.latencyMs.p99)),
    dash(ratio, (r) => r.toFixed(2)),
    dash(floorRatio, (r) => r.toFixed(2)),
    dash(p, (p) => cores(p.cpu.server)),
    dash(f, (f) => cores(f.cpu.server)),
    dash(b, (b) => cores(b.cpu.server)),
    dash(ratioPerCore, (r) => r.toFixed(2)),
    dash(p, (p) => cores(p.cpu.other)),
    dash(b, (b) => cores(b.cpu.other)),
  ]);
  return { concurrency, ratio, floorRatio, ratioPerCore };
});
process.stdout.write(
  `\n${table(rows)}\n` +
    'floor: parse, each event written back as JSON, group committed to SQLite (FULL), answered; nothing else\n' +
    'ratio: platform over bare; floor ratio: floor over bare\n' +
    'cores: CPU used by each server process (all threads); ratio per core: platform over bare in events per ' +
    'CPU-second;\nothers: cores used meanwhile by other processes and kernel threads (contention, and the file ' +
    "system's journal working for the log's fsyncs)\n\n",
);

const problems: string[] = [];
for (const step of [...bare, ...floor, ...platform]) {
  if (step.requestsOther || step.errors || step.timeouts) {
    problems.push(
      `${step.target} c=${step.concurrency}: ${step.requestsOther} non-2xx, ${step.errors} errors, ` +
        `${step.timeouts} timeouts`,
    );
  }
  if (step.logHeadDelta !== undefined) {
    // Every accepted event moved the head; requests cut off at the end of the step may add up to one batch each.
    const inFlight = step.concurrency * batchSize;
    if (step.logHeadDelta < step.events || step.logHeadDelta > step.events + inFlight) {
      problems.push(
        `platform c=${step.concurrency}: ${step.events} events answered accepted, the log head moved ` +
          `${step.logHeadDelta}`,
      );
    }
  }
  if (step.cpu.other > disturbedCores) {
    problems.push(
      `${step.target} c=${step.concurrency}: other processes and kernel threads used ${cores(step.cpu.other)} ` +
        `cores during the step (${step.cpu.others.join(', ') || 'short-lived processes, none above 0.05 on its own'})`,
    );
  }
}

const best = platform.reduce<StepResult | undefined>(
  (top, step) => (top === undefined || step.eventsPerS > top.eventsPerS ? step : top),
  undefined,
);
const verdicts: string[] = [];
if (best) {
  verdicts.push(
    `${best.eventsPerS >= targets.durableEventsPerS ? 'PASS' : 'FAIL'}  durable throughput ≥ ` +
      `${thousands(targets.durableEventsPerS)} events/s: best ${thousands(best.eventsPerS)} events/s ` +
      `(concurrency ${best.concurrency}, log head confirms ${thousands(best.logHeadDelta ?? 0)})`,
  );
}
const rated = comparisons.filter((c) => c.ratio !== undefined);
if (rated.length > 0) {
  const atBest = rated.find((c) => c.concurrency === best?.concurrency) ?? rated[0]!;
  verdicts.push(
    `${atBest.ratio! >= targets.ratioToBare ? 'PASS' : 'FAIL'}  ≥ ${targets.ratioToBare} of the bare route: ` +
      `${atBest.ratio!.toFixed(2)} at concurrency ${atBest.concurrency} ` +
      `(all: ${rated.map((c) => `${c.concurrency}→${c.ratio!.toFixed(2)}`).join(', ')})`,
  );
}
const bestFloor = floor.reduce<StepResult | undefined>(
  (top, step) => (top === undefined || step.eventsPerS > top.eventsPerS ? step : top),
  undefined,
);
if (bestFloor) {
  const ratio = comparisons.find((c) => c.concurrency === bestFloor.concurrency)?.floorRatio;
  verdicts.push(
    `info  the floor (the least a durable collector does) reached ${thousands(bestFloor.eventsPerS)} events/s ` +
      `at concurrency ${bestFloor.concurrency}${ratio === undefined ? '' : `, ${ratio.toFixed(2)} of the bare route`}`,
  );
}
process.stdout.write(`${verdicts.join('\n')}\n`);
if (problems.length) process.stdout.write(`\nnotes:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);

for (const step of platform) {
  const { profile, eventLoopDelayMs: delay } = step;
  if (profile) {
    const shown = {
      ...profile,
      selfByFunction: profile.selfByFunction.slice(0, 20),
      inclusiveByFunction: profile.inclusiveByFunction.slice(0, 20),
      selfByModule: profile.selfByModule.slice(0, 12),
    };
    process.stdout.write(
      `\nCPU profile of the platform's main thread, concurrency ${step.concurrency} (${step.profileFile}):\n` +
        `event loop delay: p50 ${delay?.p50} ms, p99 ${delay?.p99} ms, max ${delay?.max} ms\n` +
        `${formatSummary(shown)}\n`,
    );
  }
}

fs.mkdirSync(resultsDir, { recursive: true });
const output = path.join(resultsDir, 'ingest-latest.json');
fs.writeFileSync(
  output,
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      machine: info,
      settings: {
        batchSize,
        durationS,
        warmupS,
        concurrencies,
        attempts,
        quick,
        profiling,
        serverNodeOptions,
      },
      targets,
      platform,
      floor,
      bare,
      comparisons,
      verdicts,
      notes: problems,
    },
    null,
    2,
  )}\n`,
);
process.stdout.write(`\nresults: ${path.relative(repoRoot, output)}\n`);
