/**
 * Test support for a split deployment: `deepref start --role ROLE` in a process of its own, on one JetStream stream,
 * one PostgreSQL schema and one Redis key prefix, each process with its own data directory under the deployment's root and one shared
 * `secrets/` folder.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { natsUrl } from '../bus/jetstream/nats-test-server.ts';
import { redisUrl } from './redis.ts';
import { postgresUrl } from './warehouses.ts';

const bin = fileURLToPath(new URL('../../bin/deepref.js', import.meta.url));

export interface SplitDeployment {
  stream: string;
  schema: string;
  /** Before every key the deployment writes to Redis (the real-time store). */
  redisKeyPrefix: string;
  /** The folder that holds every process's data directory and config file. */
  root: string;
}

export interface RoleProcess {
  name: string;
  child: ChildProcess;
  url: string;
  dataDir: string;
  /** Everything it printed, for failure messages. */
  output: string[];
}

/**
 * Links `dataDir`'s `secrets/` to the one under `root`: the processes of a deployment share it (the master key that
 * wraps the shared data keys), as docs/deployment.md says.
 */
export function shareSecrets(root: string, dataDir: string): void {
  const secrets = path.join(root, 'secrets');
  fs.mkdirSync(secrets, { recursive: true, mode: 0o700 });
  fs.symlinkSync(secrets, path.join(dataDir, 'secrets'));
}

/**
 * Starts `deepref start` with `role` (and `extra` config merged at the top level); resolves with its URL once it
 * listens, or rejects with its output when it exits or takes longer than 60 s.
 */
export async function startRoleProcess(
  deployment: SplitDeployment,
  name: string,
  role: string,
  extra: Record<string, unknown> = {},
): Promise<RoleProcess> {
  const dataDir = path.join(deployment.root, name);
  fs.mkdirSync(dataDir, { recursive: true });
  shareSecrets(deployment.root, dataDir);
  const file = path.join(deployment.root, `${name}.json`);
  const config = {
    role,
    port: 0,
    dataDir,
    logLevel: 'warn',
    adapters: { eventLog: 'jetstream', warehouse: 'postgres', meta: 'postgres', realtime: 'redis' },
    nats: { servers: natsUrl, stream: deployment.stream, partitions: 4 },
    postgres: { connectionString: postgresUrl, schema: deployment.schema },
    redis: { url: redisUrl, keyPrefix: deployment.redisKeyPrefix },
    ...extra,
  };
  fs.writeFileSync(file, JSON.stringify(config));
  const child = spawn(process.execPath, [bin, 'start', '--config', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DEEPREF_CONFIG: '' },
  });
  const output: string[] = [];
  child.stdout!.on('data', (chunk) => output.push(String(chunk)));
  child.stderr!.on('data', (chunk) => output.push(String(chunk)));
  const runFile = path.join(dataDir, 'run', 'server.json');
  const deadline = Date.now() + 60_000;
  while (!fs.existsSync(runFile)) {
    if (child.exitCode !== null)
      throw new Error(`${name} exited with ${child.exitCode}:\n${output.join('')}`);
    if (Date.now() > deadline) throw new Error(`${name} did not start in 60 s:\n${output.join('')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const { url } = JSON.parse(fs.readFileSync(runFile, 'utf8')) as { url: string };
  return { name, child, url, dataDir, output };
}
