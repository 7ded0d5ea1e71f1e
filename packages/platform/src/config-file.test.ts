import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { envName, loadConfig, printableConfig } from './config-file.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function folderWith(files: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-config-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

describe('loadConfig', () => {
  it('layers defaults, the file, the environment and flags, and says where each value came from', async () => {
    const cwd = folderWith({
      'deepref.config.json': JSON.stringify({ port: 9000, host: '0.0.0.0', ingest: { dedupWindowDays: 14 } }),
    });
    const { config, origins, file } = await loadConfig({
      cwd,
      env: { DEEPREF_PORT: '9100', DEEPREF_INGEST_MAX_PENDING_EVENTS: '5000', DEEPREF_IP_POLICY: 'hash' },
      flags: { port: 9200 },
    });
    expect(file).toBe(path.join(cwd, 'deepref.config.json'));
    expect(config.port).toBe(9200);
    expect(config.host).toBe('0.0.0.0');
    expect(config.ingest.dedupWindowDays).toBe(14);
    expect(config.ingest.maxPendingEvents).toBe(5000);
    expect(config.ingest.ipPolicy).toBe('hash');
    expect(config.ingest.maxRequestBytes).toBe(500 * 1024);
    expect(config.dataDir).toBe(path.join(cwd, 'data'));
    expect(origins).toMatchObject({
      port: 'flag',
      host: 'file',
      'ingest.dedupWindowDays': 'file',
      'ingest.maxPendingEvents': 'env',
      'ingest.ipPolicy': 'env',
      'ingest.maxRequestBytes': 'default',
    });
  });

  it('reads a TypeScript config file', async () => {
    const cwd = folderWith({
      'deepref.config.ts': "export default { stream: { latePolicy: 'drop', alertThreshold: 50 } };\n",
    });
    const { config } = await loadConfig({ cwd, env: {} });
    expect(config.stream.latePolicy).toBe('drop');
    expect(config.stream.alertThreshold).toBe(50);
  });

  it.each([
    [
      { ingest: { ipPolicyy: 'hash' } },
      'unknown setting ingest.ipPolicyy in deepref.config.json (did you mean ingest.ipPolicy?)',
    ],
    [{ port: '8080' }, 'port in deepref.config.json must be a number, got "8080"'],
    [{ port: 70000 }, 'port in deepref.config.json must be at most 65535, got 70000'],
    [
      { adapters: { warehouse: 'snowflake' } },
      'adapters.warehouse in deepref.config.json must be one of duckdb, postgres',
    ],
    [{ role: 'worker' }, 'role worker runs one part of the platform in this process'],
  ])('refuses %j naming the bad key', async (content, message) => {
    const cwd = folderWith({ 'deepref.config.json': JSON.stringify(content) });
    await expect(loadConfig({ cwd, env: {} })).rejects.toMatchObject({
      code: 'DEEPREF_CONFIG_INVALID',
      message: expect.stringContaining(message),
    });
  });

  it('refuses a bad environment value, naming the variable path', async () => {
    await expect(
      loadConfig({ cwd: folderWith(), env: { DEEPREF_INGEST_MAX_EVENT_BYTES: 'lots' } }),
    ).rejects.toMatchObject({
      message: expect.stringContaining('ingest.maxEventBytes in the environment must be a finite number'),
    });
  });

  it('refuses an explicit config file that does not exist', async () => {
    await expect(loadConfig({ cwd: folderWith(), env: {}, file: 'nope.json' })).rejects.toMatchObject({
      code: 'DEEPREF_CONFIG_INVALID',
    });
  });

  it('accepts a role with the scale-out adapters', async () => {
    const cwd = folderWith({
      'deepref.config.json': JSON.stringify({
        role: 'worker',
        adapters: { eventLog: 'jetstream', warehouse: 'postgres', meta: 'postgres' },
      }),
    });
    expect((await loadConfig({ cwd, env: {} })).config.role).toBe('worker');
  });
});

describe('printableConfig', () => {
  it('hides passwords in connection strings and secret-named settings', async () => {
    const loaded = await loadConfig({
      cwd: folderWith(),
      env: {
        DEEPREF_POSTGRES_CONNECTION_STRING: 'postgres://deepref:s3cr3t-pw@db.internal:5432/deepref',
        DEEPREF_REDIS_URL: 'redis://:redis-pass@cache:6379',
      },
    });
    const printed = printableConfig(loaded);
    expect(printed['postgres.connectionString']).toEqual({
      value: 'postgres://deepref:***@db.internal:5432/deepref',
      from: 'env',
    });
    expect(printed['redis.url']?.value).toBe('redis://:***@cache:6379');
    expect(JSON.stringify(printed)).not.toContain('s3cr3t-pw');
    expect(JSON.stringify(printed)).not.toContain('redis-pass');
  });
});

describe('envName', () => {
  it('spells each setting path as a DEEPREF_ variable', () => {
    expect(envName('port')).toBe('DEEPREF_PORT');
    expect(envName('dataDir')).toBe('DEEPREF_DATA_DIR');
    expect(envName('ingest.maxRequestBytes')).toBe('DEEPREF_INGEST_MAX_REQUEST_BYTES');
    expect(envName('stream.lateArrivalToleranceMs')).toBe('DEEPREF_STREAM_LATE_ARRIVAL_TOLERANCE_MS');
  });
});
