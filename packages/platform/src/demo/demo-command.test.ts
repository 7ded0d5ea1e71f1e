import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ControlClientError } from '../cli/control-client.ts';
import { runDemo } from '../cli/demo-command.ts';
import { hashWriteKey, Sources } from '../collector/source-registry.ts';
import { dataPaths } from '../config.ts';
import { openSqliteMetaStore } from '../storage/sqlite/sqlite-meta-store.ts';

const now = Date.UTC(2025, 2, 3, 9, 30);

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

let dataDir: string;
let server: http.Server | undefined;
let exitCode: typeof process.exitCode;

beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-demo-'));
  exitCode = process.exitCode;
});
afterEach(async () => {
  process.exitCode = exitCode;
  if (server) await new Promise((resolve) => server!.close(resolve));
  server = undefined;
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** A collector stand-in: answers every event with `status(event)` and records what it got, consent calls apart. */
async function collector(status: (event: { eventName: string }) => 'accepted' | 'rejected') {
  const seen = {
    events: 0,
    consents: [] as { userId: string; purposes: object }[],
    authorizations: new Set<string>(),
  };
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url === '/api/v1/consent') {
        seen.consents.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      const events = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        eventId: string;
        eventName: string;
      }[];
      seen.events += events.length;
      seen.authorizations.add(req.headers.authorization ?? '');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          results: events.map((e) =>
            status(e) === 'accepted'
              ? { eventId: e.eventId, status: 'accepted' }
              : { eventId: e.eventId, status: 'rejected', reason: 'consent_missing', message: 'no consent' },
          ),
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe('deepref demo', () => {
  it('finds the running platform in run/server.json, creates a demo key and sums up what was accepted', async () => {
    const { url, seen } = await collector(() => 'accepted');
    fs.mkdirSync(path.join(dataDir, 'run'));
    fs.writeFileSync(path.join(dataDir, 'run', 'server.json'), JSON.stringify({ url, pid: process.pid }));
    const stdout = new Capture();
    const stderr = new Capture();

    const summary = await runDemo({
      users: 5,
      days: 1,
      seed: 42,
      concurrency: 3,
      dataDir,
      now,
      stdout,
      stderr,
    });

    expect(summary.sent).toBe(seen.events);
    expect(summary).toMatchObject({ url, accepted: seen.events, rejected: 0, notSent: 0, duplicates: 0 });
    expect(process.exitCode).toBe(exitCode);
    expect(stdout.text).toContain(`accepted    ${seen.events.toLocaleString('en-US')}`);
    expect(stdout.text).toContain(
      'deepref query "SELECT event_name, count(*) FROM events GROUP BY 1 ORDER BY 2 DESC"',
    );

    // The key it sent with belongs to a new source named demo.
    expect(seen.authorizations.size).toBe(1);
    const [authorization] = seen.authorizations;
    const writeKey = Buffer.from(authorization!.replace('Basic ', ''), 'base64')
      .toString('utf8')
      .replace(/:$/, '');
    const db = await openSqliteMetaStore(dataPaths(dataDir).meta);
    try {
      const sources = await new Sources(db).list();
      expect(sources.map((s) => s.name)).toEqual(['demo']);
      const row = await db.selectFrom('sources').select('key_hash').executeTakeFirstOrThrow();
      expect(row.key_hash).toBe(hashWriteKey(writeKey));
    } finally {
      await db.destroy();
    }
    expect(stderr.text).toContain(`deepref keys revoke ${(await sourceIds())[0]}`);
    // Every user's consent was recorded before the traffic: analytics for all of them.
    expect(stderr.text).toContain('demo: recorded the consent of 5 users.');
    expect(new Set(seen.consents.map((c) => c.userId)).size).toBe(5);
    for (const consent of seen.consents)
      expect(consent.purposes).toMatchObject({ data_collection: true, analytics: true });
  });

  it('exits non-zero and names the reason when the collector rejects events', async () => {
    const { url } = await collector((e) => (e.eventName === 'page_view' ? 'rejected' : 'accepted'));
    const stdout = new Capture();
    const summary = await runDemo({
      users: 3,
      days: 1,
      seed: 1,
      concurrency: 2,
      dataDir,
      url,
      writeKey: 'drk_given',
      now,
      stdout,
      stderr: new Capture(),
    });
    expect(summary.rejected).toBeGreaterThan(0);
    expect(summary.rejectedByReason).toEqual({ consent_missing: summary.rejected });
    expect(stdout.text).toContain(`consent_missing: ${summary.rejected}  (e.g. no consent)`);
    expect(process.exitCode).toBe(1);
    expect(fs.existsSync(dataPaths(dataDir).meta)).toBe(false);
  });

  it('says how to start a platform when there is neither --url nor a running one', async () => {
    await expect(runDemo({ users: 1, days: 1, seed: 1, concurrency: 1, dataDir })).rejects.toThrow(
      ControlClientError,
    );
    await expect(runDemo({ users: 1, days: 1, seed: 1, concurrency: 1, dataDir })).rejects.toThrow(
      /deepref start.*--url/,
    );
  });

  it('notices a run/server.json left behind by a platform that has stopped', async () => {
    fs.mkdirSync(path.join(dataDir, 'run'));
    // Pid 2^22 + 1 is above Linux's pid_max ceiling, so no process has it.
    fs.writeFileSync(
      path.join(dataDir, 'run', 'server.json'),
      JSON.stringify({ url: 'http://127.0.0.1:9', pid: 4_194_305 }),
    );
    await expect(runDemo({ users: 1, days: 1, seed: 1, concurrency: 1, dataDir })).rejects.toThrow(
      /no longer running/,
    );
  });
});

async function sourceIds(): Promise<string[]> {
  const db = await openSqliteMetaStore(dataPaths(dataDir).meta);
  try {
    return (await new Sources(db).list()).map((s) => s.id);
  } finally {
    await db.destroy();
  }
}
