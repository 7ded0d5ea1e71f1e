/**
 * The erasure proof, end to end through the real server and CLI, once per adapter set: subjects X and Y send events
 * carrying unique canaries (email, phone, prompt text, and a plain marker the PII policy keeps in clear); the stores
 * are built, both are exported, the data folder is backed up with `deepref backup` (embedded engines: the scale-out
 * engines have their own backups); then X is erased with `deepref dsr erase`. A byte scan of every file (data
 * folder, backup, and on scale-out the JetStream stream's files where the NATS store folder is local) and a read of
 * every store through its own engine (the event log, the warehouse's tables and, on PostgreSQL, the MetaStore's
 * tables, read after their VACUUM FULL) find none of X's canaries in clear, X's `enc:v1:` values no longer decrypt,
 * and Y's canaries are still found both ways, so neither scan is blind.
 */
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlRequest } from '../../cli/control-client.ts';
import { dataPaths } from '../../config.ts';
import { ExportStore } from '../../exports/export-store.ts';
import { type AdapterSet, adapterSets } from '../../testing/adapter-sets.ts';
import type { TestPlatform } from '../../testing/test-platform.ts';
import { decryptEventFields } from '../pii/encrypted-fields.ts';
import type { ErasureProof } from './dsr-service.ts';
import { engineRecords, fileBytes, jetStreamStoreFiles, type ScannedRecord } from './store-scan.ts';

const run = promisify(execFile);
const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/deepref.js');

for (const adapters of adapterSets) {
  describe(`erasure canary (${adapters.name})`, () => erasureCanarySuite(adapters));
}

function erasureCanarySuite(adapters: AdapterSet) {
  const tag = randomUUID().slice(0, 8);
  function person(name: string) {
    return {
      userId: `user-${name}-${tag}`,
      anonymousId: `anon-${name}-${tag}`,
      email: `canary.${name}.${tag}@example.org`,
      phone: name === 'x' ? '+1 415 555 0142' : '+1 415 555 0187',
      prompt: `canary prompt of ${name} ${tag}: my secret plan is zebra-${name}-${tag}`,
      marker: `canary-marker-${name}-${tag}`,
    };
  }
  const x = person('x');
  const y = person('y');
  /** What must be gone for X and present for Y, in clear text (the phone is a pseudonym on disk either way). */
  const clearCanaries = (p: typeof x) => [p.email, p.prompt, `zebra-${p === x ? 'x' : 'y'}-${tag}`];

  let tp: TestPlatform;
  /** The `deepref backup` copy, made on engines whose files are in the data folder (embedded); else undefined. */
  let backupDir: string | undefined;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-erasure-'));

  function eventsOf(p: typeof x, minutesAgo: number) {
    const at = (m: number) => new Date(Date.now() - m * 60_000).toISOString();
    return [
      // Before signing in: the anonymous id only.
      {
        eventId: randomUUID(),
        eventName: 'page_view',
        timestamp: at(minutesAgo + 2),
        anonymousId: p.anonymousId,
        sessionId: `s-${p.userId}`,
        properties: { plan: p.marker },
      },
      {
        eventId: randomUUID(),
        eventName: 'signup_completed',
        timestamp: at(minutesAgo + 1),
        userId: p.userId,
        anonymousId: p.anonymousId,
        sessionId: `s-${p.userId}`,
        properties: { email: p.email, phone: p.phone, plan: p.marker },
      },
      {
        eventId: randomUUID(),
        eventName: 'prompt_submitted',
        timestamp: at(minutesAgo),
        userId: p.userId,
        sessionId: `s-${p.userId}`,
        properties: { prompt_text: p.prompt, plan: p.marker },
      },
    ];
  }

  async function control<T = Record<string, unknown>>(method: string, route: string, body?: unknown) {
    const response = await controlRequest<T>(tp.dataDir, method, route, body);
    return response;
  }

  async function deepref(...args: string[]) {
    return run(process.execPath, [bin, ...args, '--data-dir', tp.dataDir], { timeout: 60_000 });
  }

  /**
   * Every record of the live stores through their engines: the data folder's files, the event log (events and dead
   * letters), the warehouse's tables, the MetaStore's tables where they are not a file of the folder, and the live
   * export packages, opened (they are sealed in the MetaStore) and read as zips.
   */
  async function liveRecords(): Promise<ScannedRecord[]> {
    const warehouseFile = dataPaths(tp.dataDir).warehouse;
    const records = await engineRecords(tp.dataDir, [warehouseFile]);
    const { log, warehouse, meta, config } = tp.platform;
    for (let after = 0; ; ) {
      const page = await log.read(after, 1_000);
      for (const record of page) records.push({ where: 'event log', text: JSON.stringify(record.event) });
      if (page.length < 1_000) break;
      after = page.at(-1)!.offset;
    }
    for (const letter of await log.deadLetters.list())
      records.push({ where: 'event log dead letters', text: JSON.stringify(letter) });
    const here = 'SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()';
    for (const [table] of (await warehouse.query(here)).rows) {
      const result = await warehouse.query(`SELECT * FROM "${table}"`);
      for (const row of result.rows) records.push({ where: `warehouse ${table}`, text: JSON.stringify(row) });
    }
    if (config.adapters.meta === 'postgres') {
      const tables = await sql<{ table_name: string }>`${sql.raw(here)}`.execute(meta);
      for (const { table_name } of tables.rows) {
        const result = await sql`SELECT * FROM ${sql.table(table_name)}`.execute(meta);
        for (const row of result.rows)
          records.push({ where: `meta ${table_name}`, text: JSON.stringify(row) });
      }
    }
    records.push(...(await packageRecords()));
    return records;
  }

  /** The live export packages, opened through the ExportStore, as `<scratch>/packages/<id>.zip` records. */
  async function packageRecords(): Promise<ScannedRecord[]> {
    const folder = path.join(scratch, 'packages');
    fs.rmSync(folder, { recursive: true, force: true });
    fs.mkdirSync(folder);
    const packages = new ExportStore(tp.platform.meta, tp.platform.keyStore, Buffer.alloc(0));
    const live = await tp.platform.meta
      .selectFrom('exports')
      .select('id')
      .where('deleted_at', 'is', null)
      .execute();
    for (const { id } of live) {
      const opened = await packages.read(id);
      if (opened) fs.writeFileSync(path.join(folder, `${id}.zip`), opened.bytes);
    }
    return engineRecords(folder);
  }

  /** The backup's records through its engines; none without a backup. */
  async function backupRecords(): Promise<ScannedRecord[]> {
    return backupDir ? engineRecords(backupDir) : [];
  }

  /** Files holding `needle`, by byte scan: the data folder's, and the JetStream stream's where its folder is local. */
  function liveBytesContaining(needle: string): string[] {
    const stream =
      tp.platform.config.adapters.eventLog === 'jetstream' ? tp.platform.config.nats.stream : undefined;
    const logFiles = stream ? (jetStreamStoreFiles(stream) ?? []) : [];
    return [
      ...bytesContaining(tp.dataDir, needle),
      ...logFiles.filter((file) => fs.readFileSync(file).includes(needle)).map((file) => `jetstream ${file}`),
    ];
  }

  function bytesContaining(dir: string, needle: string): string[] {
    return fileBytes(dir)
      .filter(({ bytes }) => bytes.includes(needle))
      .map(({ file }) => path.relative(dir, file));
  }

  function recordsContaining(records: ScannedRecord[], needle: string): string[] {
    return [...new Set(records.filter((r) => r.text.includes(needle)).map((r) => r.where))];
  }

  /** Event-shaped records (log bodies, warehouse and lake rows) that hold `enc:v1:` values, with their subject. */
  function encryptedEvents(records: ScannedRecord[]) {
    const events: { where: string; event: Record<string, unknown> }[] = [];
    for (const record of records) {
      if (!record.text.includes('enc:v1:')) continue;
      let row: Record<string, unknown>;
      try {
        row = JSON.parse(record.text);
      } catch {
        continue;
      }
      const body =
        typeof row.body === 'string' && row.body.startsWith('{') ? JSON.parse(row.body) : undefined;
      const parse = (v: unknown) => (typeof v === 'string' && v.startsWith('{') ? JSON.parse(v) : v);
      const event = body ?? {
        userId: row.user_id ?? row.userId,
        anonymousId: row.anonymous_id ?? row.anonymousId,
        properties: parse(row.properties),
        traits: parse(row.traits),
        context: parse(row.context),
      };
      if (event.properties || event.traits || event.context) events.push({ where: record.where, event });
    }
    return events;
  }

  async function decryptOutcome(event: Record<string, unknown>): Promise<string> {
    try {
      return JSON.stringify(await decryptEventFields(event, tp.platform.keyStore));
    } catch (error) {
      return `failed: ${(error as { code?: string }).code}`;
    }
  }

  beforeAll(async () => {
    tp = await adapters.start();
    const answer = await tp.post('/api/telemetry/events', [...eventsOf(x, 10), ...eventsOf(y, 10)]);
    expect(answer.status).toBe(200);
    expect(answer.body.results.map((r: { status: string }) => r.status)).toEqual(Array(6).fill('accepted'));
    // A later event moves event time on, so the stream windows holding X and Y close and write their results.
    const later = {
      eventId: randomUUID(),
      eventName: 'page_view',
      timestamp: new Date().toISOString(),
      userId: `z-${tag}`,
    };
    expect((await tp.post('/api/telemetry/events', [later])).status).toBe(200);
    await tp.platform.drain();

    // Exports of both, through the CLI (X as JSON, Y as Parquet).
    await deepref('dsr', 'export', '--user-id', x.userId, '--format', 'json');
    await deepref('dsr', 'export', '--user-id', y.userId, '--format', 'parquet');
    if (tp.platform.config.adapters.warehouse === 'duckdb') {
      backupDir = path.join(scratch, 'backup');
      const backup = await deepref('backup', '--to', backupDir);
      expect(backup.stdout).toContain('Backed up');
    }
  }, 180_000);

  afterAll(async () => {
    await tp?.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  describe('erasing subject X', () => {
    it('holds both subjects everywhere before the erasure (the scans are not blind)', async () => {
      const records = [...(await liveRecords()), ...(await backupRecords())];
      for (const p of [x, y]) {
        expect(recordsContaining(records, p.marker).length).toBeGreaterThan(0);
        // The export zips hold the decrypted prompt.
        expect(recordsContaining(records, p.prompt).some((w) => w.includes('.zip'))).toBe(true);
        // Clear-text PII never reached a store: only the export has the prompt, nothing has the email.
        expect(recordsContaining(records, p.prompt).every((w) => w.includes('.zip'))).toBe(true);
        expect(recordsContaining(records, p.email)).toEqual([]);
      }
      const decrypted = await Promise.all(encryptedEvents(records).map((e) => decryptOutcome(e.event)));
      expect(decrypted.some((d) => d.includes(x.prompt))).toBe(true);
      expect(decrypted.some((d) => d.includes(y.prompt))).toBe(true);
    });

    it('erases X with a verified proof report, and keeps Y', async () => {
      const erased = await deepref('dsr', 'erase', '--user-id', x.userId, '--yes');
      expect(erased.stdout).toContain('Proof report');
      const list = await control<{ items: { id: string; kind: string; state: string; subject: string }[] }>(
        'GET',
        '/api/v1/dsr',
      );
      const erasure = list.body.items.find((r) => r.kind === 'erasure')!;
      expect(erasure.state).toBe('completed');
      expect(erasure.subject).toMatch(/^erased:/);
      // X's earlier export request now names the pseudonym too; Y's still names Y.
      expect(list.body.items.filter((r) => r.subject === x.userId)).toEqual([]);
      expect(list.body.items.filter((r) => r.subject === y.userId)).toHaveLength(1);

      const detail = await control<{
        result: ErasureProof;
        audit: { fromState: string | null; toState: string }[];
      }>('GET', `/api/v1/dsr/${erasure.id}`);
      const proof = detail.body.result;
      expect(proof.verified).toBe(true);
      const bySection = Object.fromEntries(proof.stores.map((s) => [`${s.store}.${s.section}`, s]));
      expect(bySection['keys.data_keys']).toMatchObject({ found: 1, removed: 1 });
      expect(bySection['event_log.log_events']).toMatchObject({ found: 3, removed: 3 });
      expect(bySection['warehouse.warehouse_events']).toMatchObject({ found: 3, removed: 3 });
      expect(bySection['lake.lake_events']).toMatchObject({ found: 3, removed: 3 });
      expect(bySection['exports.export_packages']).toMatchObject({ found: 1, removed: 1 });
      for (const s of proof.stores) expect(s.verification.remaining, `${s.store}.${s.section}`).toBe(0);
      expect(detail.body.audit.map((a) => a.toState)).toEqual([
        'received',
        'identity_verified',
        'approved',
        'in_progress',
        'completed',
      ]);
    }, 120_000);

    it('asks to type the user id back, and changes nothing when it differs', async () => {
      const child = spawn(process.execPath, [
        bin,
        'dsr',
        'erase',
        '--user-id',
        y.userId,
        '--data-dir',
        tp.dataDir,
      ]);
      let stderr = '';
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
      });
      child.stdin.end(`${x.userId}\n`);
      const [code] = await once(child, 'exit');
      expect(code).toBe(1);
      expect(stderr).toContain('Type the user id again to confirm');
      expect(stderr).toContain('not confirmed; nothing was changed');
      const list = await control<{ items: { kind: string }[] }>('GET', '/api/v1/dsr');
      expect(list.body.items.filter((r) => r.kind === 'erasure')).toHaveLength(1);
    });

    it('leaves none of X in clear text in any file of the data folder or the backup, byte for byte', async () => {
      for (const canary of clearCanaries(x)) {
        expect(liveBytesContaining(canary), canary).toEqual([]);
        if (backupDir) expect(bytesContaining(backupDir, canary), `backup: ${canary}`).toEqual([]);
      }
      // The live stores were rewritten: not even X's plain marker is left in a file (free pages, old blocks, WAL).
      expect(liveBytesContaining(x.marker)).toEqual([]);
      // Y's marker is found the same way: the scan is not blind (on scale-out, the lake and the JetStream files).
      expect(liveBytesContaining(y.marker).length).toBeGreaterThan(0);
      // X's ids are gone from every store file, the stream engine's checkpoint of its open windows included.
      expect(liveBytesContaining(x.userId)).toEqual([]);
      expect(liveBytesContaining(x.anonymousId)).toEqual([]);
    });

    it('finds none of X through any engine, and X’s encrypted values no longer decrypt', async () => {
      const live = await liveRecords();
      const backup = await backupRecords();
      for (const canary of clearCanaries(x)) {
        expect(recordsContaining(live, canary), canary).toEqual([]);
        expect(recordsContaining(backup, canary), canary).toEqual([]);
      }
      expect(recordsContaining(live, x.marker)).toEqual([]);
      if (!backupDir) return;
      // The backup was made before the erasure: it still has X's rows, but only as values that no longer decrypt.
      const xEvents = encryptedEvents(backup).filter((e) => JSON.stringify(e.event).includes(x.userId));
      expect(xEvents.length).toBeGreaterThan(0);
      for (const e of xEvents)
        expect(await decryptOutcome(e.event), e.where).toBe('failed: DEEPREF_SUBJECT_ERASED');
    });

    it('still finds Y both ways: in clear where kept, and by decrypting Y’s values', async () => {
      const live = await liveRecords();
      expect(recordsContaining(live, y.marker).length).toBeGreaterThan(0);
      expect(bytesContaining(tp.dataDir, y.marker).length).toBeGreaterThan(0);
      expect(recordsContaining(live, y.prompt).some((w) => w.includes('.zip'))).toBe(true);
      for (const records of backupDir ? [live, await backupRecords()] : [live]) {
        const yEvents = encryptedEvents(records).filter((e) => JSON.stringify(e.event).includes(y.userId));
        expect(yEvents.length).toBeGreaterThan(0);
        const outcomes = await Promise.all(yEvents.map((e) => decryptOutcome(e.event)));
        expect(outcomes.some((o) => o.includes(y.prompt))).toBe(true);
      }
    });
  });
}
