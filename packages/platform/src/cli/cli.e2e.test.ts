/**
 * The `deepref` command as a user runs it: `start` in its own process, `keys`, `query` and `deadletters` against
 * it while it runs, a replay after a configuration fix, and a graceful SIGTERM that drains the log into the stores.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/deepref.js');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-cli-'));

async function deepref(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [bin, ...args, '--data-dir', dataDir], { timeout: 30_000 });
}

async function start(...flags: string[]): Promise<{ child: ChildProcess; url: string }> {
  const runFile = path.join(dataDir, 'run', 'server.json');
  fs.rmSync(runFile, { force: true });
  const child = spawn(process.execPath, [bin, 'start', '--port', '0', '--data-dir', dataDir, ...flags], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DEEPREF_LOG_LEVEL: 'warn' },
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  for (let i = 0; i < 600 && !output.includes('DeepRef is running at'); i++) {
    if (child.exitCode !== null) throw new Error(`deepref start exited: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const { url } = JSON.parse(fs.readFileSync(runFile, 'utf8')) as { url: string };
  return { child, url };
}

async function stop(child: ChildProcess): Promise<number | null> {
  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  return code as number | null;
}

function send(url: string, writeKey: string, events: unknown[]) {
  return fetch(`${url}/api/telemetry/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Basic ${btoa(`${writeKey}:`)}` },
    body: JSON.stringify(events),
  }).then((response) => response.json() as Promise<{ results: { status: string; reason?: string }[] }>);
}

const event = (n: number, eventName: string) => ({
  eventId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  eventName,
  timestamp: '2026-11-20T10:00:00.000Z',
  userId: `user-${n}`,
  properties: { n },
});

afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

describe('deepref CLI', () => {
  it('prints help that names every command', async () => {
    const { stdout } = await run(process.execPath, [bin, '--help']);
    for (const command of ['start', 'keys', 'query', 'deadletters', 'demo'])
      expect(stdout).toContain(command);
  });

  it('creates keys, queries, lists and replays dead letters, and drains on SIGTERM', async () => {
    const { stdout: key } = await deepref('keys', 'create', '--name', 'cli-test');
    const writeKey = key.trim();
    expect(writeKey).toMatch(/^drk_/);

    // Strict mode: the custom event becomes a dead letter.
    const strict = await start('--strict');
    const answer = await send(strict.url, writeKey, [event(1, 'page_view'), event(2, 'my_custom_event')]);
    expect(answer.results.map((r) => r.status)).toEqual(['accepted', 'rejected']);
    expect(answer.results[1]?.reason).toBe('unknown_event');

    const listed = await deepref('deadletters', 'list');
    expect(listed.stdout).toContain('unknown_event 1');
    expect(listed.stdout).toMatch(/#1 .* unknown_event my_custom_event pending/);

    const keys = await deepref('keys', 'list');
    expect(keys.stdout).toContain('cli-test');
    expect(keys.stdout).not.toContain(writeKey);

    // A replay under the same setting is refused again and stays pending.
    const again = await deepref('deadletters', 'replay', '--id', '1');
    expect(again.stdout).toContain('#1 rejected: unknown_event');
    expect(await stop(strict.child)).toBe(0);

    // After the fix (strict off), the replay stores it.
    const relaxed = await start();
    const replayed = await deepref('deadletters', 'replay', '--reason', 'unknown_event');
    expect(replayed.stdout).toContain('#1 accepted');
    expect(replayed.stdout).toContain('Replayed 1 of 1.');
    expect((await deepref('deadletters', 'list', '--pending')).stdout).not.toContain('#1 ');

    const refused = await deepref('query', 'DELETE FROM events').catch((error: { stderr: string }) => error);
    expect((refused as { stderr: string }).stderr).toContain('Only read-only statements');

    // SIGTERM stops the platform only after the log has drained into the warehouse.
    expect(await stop(relaxed.child)).toBe(0);
    const final = await start();
    const { stdout } = await deepref(
      'query',
      'SELECT event_name, count(*) AS n FROM events GROUP BY 1 ORDER BY 1',
      '--format',
      'json',
    );
    expect(JSON.parse(stdout)).toEqual([
      { event_name: 'my_custom_event', n: 1 },
      { event_name: 'page_view', n: 1 },
    ]);
    expect(await stop(final.child)).toBe(0);
  });

  it('tells the user when no platform runs on the data directory', async () => {
    const failure = await deepref('query', 'SELECT 1').catch(
      (error: { stderr: string; code: number }) => error,
    );
    expect((failure as { code: number }).code).toBe(1);
    expect((failure as { stderr: string }).stderr).toContain('No platform is running');
  });
});
