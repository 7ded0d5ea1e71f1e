/**
 * A real platform for end-to-end tests: its own data directory, a random port, a write key, and a small client.
 * Tests go through HTTP exactly as an SDK does.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  type ConsentConfig,
  defaultConfig,
  type IngestConfig,
  type PlatformConfig,
  type StreamConfig,
} from '../config.ts';
import { type RunningPlatform, startPlatform } from '../platform.ts';

export interface TestPlatform {
  platform: RunningPlatform;
  url: string;
  dataDir: string;
  writeKey: string;
  /** The id of the source `writeKey` belongs to, as stored events carry it in `sourceId`. */
  sourceId: string;
  /** POSTs a body (objects as JSON; strings and Buffers as they are) with the write key as Basic user. */
  post(route: string, body: unknown, options?: PostOptions): Promise<TestResponse>;
  /** Stops the platform and removes its data directory unless `keepData`. */
  close(options?: { keepData?: boolean }): Promise<void>;
}

export interface PostOptions {
  contentType?: string;
  headers?: Record<string, string>;
  gzip?: boolean;
  /** Send without the write key header (`null`) or with another one. */
  writeKey?: string | null;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the route answers
  body: any;
}

export interface TestPlatformOptions {
  ingest?: Partial<IngestConfig>;
  consent?: Partial<ConsentConfig>;
  /** The live stream's event-time policy and alerting. */
  stream?: Partial<StreamConfig>;
  dataDir?: string;
  allowedOrigins?: string[];
  /** Where `/sdk/` serves the browser SDK from (see `StartOptions`). */
  browserSdkDir?: string;
  /** Where `/` serves the dashboard from (see `StartOptions`). */
  dashboardDir?: string;
  /** The platform's clock for sessions and sign-in limits (see `StartOptions`). */
  now?: () => Date;
  /** Receives the admin password made on the first start; default: nowhere (tests set their own). */
  announceAdminPassword?: (message: string) => void;
  /** The adapters and their engines' settings (the scale-out adapter set, testing/adapter-sets.ts). */
  engines?: Pick<Partial<PlatformConfig>, 'adapters' | 'nats' | 'postgres' | 'redis'>;
}

export async function startTestPlatform(options: TestPlatformOptions = {}): Promise<TestPlatform> {
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-e2e-'));
  const base = defaultConfig();
  const platform = await startPlatform(
    defaultConfig({
      ...options.engines,
      port: 0,
      dataDir,
      ingest: { ...base.ingest, ...options.ingest },
      consent: { ...base.consent, ...options.consent },
      stream: { ...base.stream, ...options.stream },
    }),
    {
      logger: false,
      browserSdkDir: options.browserSdkDir,
      dashboardDir: options.dashboardDir,
      now: options.now,
      announceAdminPassword: options.announceAdminPassword ?? (() => {}),
    },
  );
  const { source, writeKey } = await platform.sources.create({
    name: `test-${Date.now()}`,
    allowedOrigins: options.allowedOrigins ?? ['*'],
  });

  const post = async (route: string, body: unknown, opts: PostOptions = {}): Promise<TestResponse> => {
    let payload: string | Buffer =
      typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    const headers: Record<string, string> = { 'content-type': opts.contentType ?? 'application/json' };
    const key = opts.writeKey === undefined ? writeKey : opts.writeKey;
    if (key !== null) headers.authorization = `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
    if (opts.gzip) {
      payload = gzipSync(payload);
      headers['content-encoding'] = 'gzip';
    }
    const response = await fetch(`${platform.url}${route}`, {
      method: 'POST',
      headers: { ...headers, ...opts.headers },
      body: typeof payload === 'string' ? payload : new Uint8Array(payload),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {}
    return { status: response.status, headers: response.headers, body: parsed };
  };

  return {
    platform,
    url: platform.url,
    dataDir,
    writeKey,
    sourceId: source.id,
    post,
    close: async ({ keepData = false } = {}) => {
      await platform.close();
      if (!keepData && !options.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
