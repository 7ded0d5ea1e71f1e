/**
 * Sign-in, sessions, password changes and read API keys through the real HTTP server and the control socket,
 * with the platform's clock moved by the test instead of waiting.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { controlRequest } from '../../cli/control-client.ts';
import { defaultConfig } from '../../config.ts';
import { startPlatform } from '../../platform.ts';
import { startTestPlatform, type TestPlatform } from '../../testing/test-platform.ts';
import { sessionIdleMs, sessionMaxAgeMs } from './accounts.ts';

const platforms: TestPlatform[] = [];
afterEach(async () => {
  for (const platform of platforms.splice(0)) await platform.close();
});

/** A platform whose clock the test moves, and the admin password it announced. */
async function start(options: { dataDir?: string } = {}) {
  let time = Date.parse('2026-11-20T10:00:00Z');
  const announced: string[] = [];
  const t = await startTestPlatform({
    ...options,
    now: () => new Date(time),
    announceAdminPassword: (message) => announced.push(message),
  });
  platforms.push(t);
  const password = /password: (\S+)/.exec(announced[0] ?? '')?.[1] ?? '';
  return {
    t,
    password,
    announced,
    advance: (ms: number) => {
      time += ms;
    },
  };
}

interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the route answers
  body: any;
}

async function call(
  t: TestPlatform,
  method: string,
  route: string,
  options: { body?: unknown; cookie?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const response = await fetch(`${t.url}${route}`, {
    method,
    headers: {
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(options.cookie ? { cookie: options.cookie } : {}),
      ...options.headers,
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

async function signIn(
  t: TestPlatform,
  password: string,
  username = 'admin',
): Promise<Answer & { cookie: string }> {
  const answer = await call(t, 'POST', '/api/v1/auth/login', { body: { username, password } });
  const cookie = (answer.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  return { ...answer, cookie };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('the admin account', () => {
  it('is made on the first start with a password announced once and stored only as an scrypt hash', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-auth-'));
    const logFile = path.join(dataDir, 'platform.log');
    const announced: string[] = [];
    const config = defaultConfig({ port: 0, dataDir });
    // A real pino log at the most verbose level, to show the password never reaches it.
    const logger = { level: 'trace', file: logFile } as { level: string };
    let platform = await startPlatform(config, { logger, announceAdminPassword: (m) => announced.push(m) });
    try {
      expect(announced).toHaveLength(1);
      const password = /password: (\S+)/.exec(announced[0]!)![1]!;
      expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
      const [user] = await platform.meta.selectFrom('users').selectAll().execute();
      expect(user?.username).toBe('admin');
      expect(user?.password_hash).toMatch(/^scrypt\$32768\$8\$3\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
      expect(user?.password_hash).not.toContain(password);

      const login = await fetch(`${platform.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password }),
      });
      expect(login.status).toBe(200);
      await platform.close();
      expect(fs.readFileSync(logFile, 'utf8')).not.toContain(password);

      // The second start finds the account and announces nothing.
      platform = await startPlatform(config, {
        logger: false,
        announceAdminPassword: (m) => announced.push(m),
      });
      expect(announced).toHaveLength(1);
    } finally {
      await platform.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('sessions', () => {
  it('signs in with a Secure, HttpOnly, SameSite=Strict cookie, answers /me, and signs out', async () => {
    const { t, password } = await start();
    const login = await signIn(t, password);
    expect(login.status).toBe(200);
    expect(login.body).toEqual({ user: { id: expect.any(String), username: 'admin' } });
    const setCookie = login.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^deepref_session=[A-Za-z0-9_-]{43}; /);
    expect(setCookie.split('; ').slice(1).sort()).toEqual(
      ['HttpOnly', 'Max-Age=604800', 'Path=/', 'SameSite=Strict', 'Secure'].sort(),
    );

    // Only the token's hash is kept.
    const token = login.cookie.split('=')[1]!;
    const rows = await t.platform.meta.selectFrom('sessions').select('token_hash').execute();
    expect(rows).toEqual([{ token_hash: sha256(token) }]);

    const me = await call(t, 'GET', '/api/v1/auth/me', { cookie: login.cookie });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ user: login.body.user, via: 'session' });

    const logout = await call(t, 'POST', '/api/v1/auth/logout', { cookie: login.cookie });
    expect(logout.status).toBe(204);
    expect(logout.headers.get('set-cookie')).toMatch(/^deepref_session=; Max-Age=0; /);
    const after = await call(t, 'GET', '/api/v1/auth/me', { cookie: login.cookie });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('DEEPREF_SESSION_EXPIRED');
    expect(await t.platform.meta.selectFrom('sessions').selectAll().execute()).toEqual([]);
  });

  it('leaves Secure off for plain http to a host that is not loopback, where a browser would drop it', async () => {
    const { t, password } = await start();
    const { port } = new URL(t.url);
    const setCookie = await new Promise<string>((resolve, reject) => {
      const body = JSON.stringify({ username: 'admin', password });
      const request = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/api/v1/auth/login',
          headers: { host: `analytics.internal:${port}`, 'content-type': 'application/json' },
        },
        (response) => {
          response.resume();
          resolve(String(response.headers['set-cookie']));
        },
      );
      request.on('error', reject);
      request.end(body);
    });
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).not.toContain('Secure');
  });

  it('refuses a wrong password and an unknown user with the same answer', async () => {
    const { t, password } = await start();
    const wrong = await signIn(t, `${password}x`);
    const unknown = await signIn(t, password, 'nobody');
    for (const answer of [wrong, unknown]) {
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual({
        error: { code: 'DEEPREF_LOGIN_FAILED', message: 'The username or the password is wrong.' },
      });
      expect(answer.headers.get('set-cookie')).toBeNull();
    }
    expect((await call(t, 'GET', '/api/v1/auth/me')).body.error.code).toBe('DEEPREF_NOT_SIGNED_IN');
  });

  it('refuses sign-in after 5 failures for a username, even with the right password, until 15 minutes pass', async () => {
    const { t, password, advance } = await start();
    for (let i = 0; i < 5; i++) expect((await signIn(t, 'wrong password')).status).toBe(401);
    advance(60_000);
    const limited = await signIn(t, password);
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('DEEPREF_LOGIN_RATE_LIMITED');
    expect(limited.body.error.message).toBe(
      'Too many failed sign-ins for this username. Retry after 840 seconds.',
    );
    expect(limited.headers.get('retry-after')).toBe('840');
    advance(840_000);
    expect((await signIn(t, password)).status).toBe(200);
  });

  it('ends a session after 8 idle hours', async () => {
    const { t, password, advance } = await start();
    const { cookie } = await signIn(t, password);
    advance(sessionIdleMs - 1000);
    expect((await call(t, 'GET', '/api/v1/auth/me', { cookie })).status).toBe(200);
    advance(sessionIdleMs - 1000); // idle again, but counted from the request above
    expect((await call(t, 'GET', '/api/v1/auth/me', { cookie })).status).toBe(200);
    advance(sessionIdleMs);
    const idle = await call(t, 'GET', '/api/v1/auth/me', { cookie });
    expect(idle.status).toBe(401);
    expect(idle.body.error).toEqual({
      code: 'DEEPREF_SESSION_EXPIRED',
      message: 'The session has ended (idle for too long). Sign in again with POST /api/v1/auth/login.',
    });
  });

  it('ends a session 7 days after sign-in however active it is', async () => {
    const { t, password, advance } = await start();
    const { cookie } = await signIn(t, password);
    const step = 6 * 3_600_000;
    let elapsed = 0;
    while (elapsed + step < sessionMaxAgeMs) {
      advance(step);
      elapsed += step;
      expect((await call(t, 'GET', '/api/v1/analytics/events', { cookie })).status).toBe(200);
    }
    advance(sessionMaxAgeMs - elapsed);
    const old = await call(t, 'GET', '/api/v1/analytics/events', { cookie });
    expect(old.status).toBe(401);
    expect(old.body.error.message).toContain('past its maximum age');
  });
});

describe('passwords', () => {
  it('changes with the old one, signs the other sessions out and keeps this one', async () => {
    const { t, password } = await start();
    const mine = await signIn(t, password);
    const other = await signIn(t, password);
    const change = (oldPassword: string, newPassword: string) =>
      call(t, 'POST', '/api/v1/auth/password', { cookie: mine.cookie, body: { oldPassword, newPassword } });

    const short = await change(password, 'short');
    expect(short.status).toBe(400);
    expect(short.body.error.code).toBe('DEEPREF_WEAK_PASSWORD');
    const wrongOld = await change('not the password', 'a long enough new one');
    expect(wrongOld.status).toBe(401);
    expect(wrongOld.body.error.code).toBe('DEEPREF_LOGIN_FAILED');

    expect((await change(password, 'a long enough new one')).status).toBe(204);
    expect((await call(t, 'GET', '/api/v1/auth/me', { cookie: mine.cookie })).status).toBe(200);
    expect((await call(t, 'GET', '/api/v1/auth/me', { cookie: other.cookie })).status).toBe(401);
    expect((await signIn(t, password)).status).toBe(401);
    expect((await signIn(t, 'a long enough new one')).status).toBe(200);
  });

  it('is reset by the operator on the control socket (and by `deepref admin reset-password`), never over HTTP', async () => {
    const { t, password } = await start();
    const { cookie } = await signIn(t, password);
    const overHttp = await call(t, 'POST', '/api/v1/auth/admin/reset-password', { cookie, body: {} });
    expect(overHttp.status).toBe(403);

    const reset = await controlRequest<{ username: string; password: string }>(
      t.dataDir,
      'POST',
      '/api/v1/auth/admin/reset-password',
      {},
    );
    expect(reset.status).toBe(200);
    expect(reset.body.username).toBe('admin');
    expect((await call(t, 'GET', '/api/v1/auth/me', { cookie })).status).toBe(401);
    expect((await signIn(t, password)).status).toBe(401);
    expect((await signIn(t, reset.body.password)).status).toBe(200);

    const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/deepref.js');
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [bin, 'admin', 'reset-password', '--data-dir', t.dataDir],
      { timeout: 60_000 },
    );
    const printed = stdout.trim();
    expect(printed).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(stderr).toContain('shown only now');
    expect((await signIn(t, reset.body.password)).status).toBe(401);
    expect((await signIn(t, printed)).status).toBe(200);
  });
});

describe('read API keys', () => {
  it('are made by a signed-in admin, read as Bearer tokens, are stored hashed and stop at revocation', async () => {
    const { t, password } = await start();
    const { cookie } = await signIn(t, password);
    const made = await call(t, 'POST', '/api/v1/auth/api-keys', { cookie, body: { name: 'grafana' } });
    expect(made.status).toBe(201);
    expect(made.body).toEqual({
      id: expect.any(String),
      name: 'grafana',
      key: expect.stringMatching(/^drk_read_[A-Za-z0-9_-]{32}$/),
      prefix: made.body.key.slice(0, 15),
      createdAt: '2026-11-20T10:00:00.000Z',
      lastUsedAt: null,
      revokedAt: null,
    });
    const stored = await t.platform.meta.selectFrom('api_keys').select('key_hash').execute();
    expect(stored).toEqual([{ key_hash: sha256(made.body.key) }]);

    const bearer = { authorization: `Bearer ${made.body.key}` };
    for (const route of ['/api/v1/analytics/events', '/api/realtime/active-users', '/api/alerts']) {
      expect((await call(t, 'GET', route, { headers: bearer })).status, route).toBe(200);
    }
    expect((await call(t, 'GET', '/api/v1/auth/me', { headers: bearer })).body).toEqual({
      user: null,
      via: 'api-key',
      apiKey: { id: made.body.id, name: 'grafana' },
    });
    // A program's key cannot mint more keys.
    const minted = await call(t, 'POST', '/api/v1/auth/api-keys', {
      headers: bearer,
      body: { name: 'more' },
    });
    expect(minted.status).toBe(403);

    const list = await call(t, 'GET', '/api/v1/auth/api-keys', { cookie });
    expect(list.body.apiKeys).toEqual([
      {
        id: made.body.id,
        name: 'grafana',
        prefix: made.body.prefix,
        createdAt: '2026-11-20T10:00:00.000Z',
        lastUsedAt: '2026-11-20T10:00:00.000Z',
        revokedAt: null,
      },
    ]);
    expect(JSON.stringify(list.body)).not.toContain(made.body.key);

    expect((await call(t, 'DELETE', `/api/v1/auth/api-keys/${made.body.id}`, { cookie })).status).toBe(204);
    expect((await call(t, 'DELETE', `/api/v1/auth/api-keys/${made.body.id}`, { cookie })).status).toBe(404);
    const revoked = await call(t, 'GET', '/api/v1/analytics/events', { headers: bearer });
    expect(revoked.status).toBe(401);
    expect(revoked.body.error.code).toBe('DEEPREF_UNKNOWN_API_KEY');
  });

  it('are made, listed and revoked by the operator on the control socket', async () => {
    const { t } = await start();
    const made = await controlRequest<{ id: string; key: string }>(
      t.dataDir,
      'POST',
      '/api/v1/auth/api-keys',
      {
        name: 'cron',
      },
    );
    expect(made.status).toBe(201);
    const bearer = { authorization: `Bearer ${made.body.key}` };
    expect((await call(t, 'GET', '/api/v1/analytics/events', { headers: bearer })).status).toBe(200);
    const list = await controlRequest<{ apiKeys: { name: string }[] }>(
      t.dataDir,
      'GET',
      '/api/v1/auth/api-keys',
    );
    expect(list.body.apiKeys.map((k) => k.name)).toEqual(['cron']);
    const revoke = await controlRequest(t.dataDir, 'DELETE', `/api/v1/auth/api-keys/${made.body.id}`);
    expect(revoke.status).toBe(204);
    expect((await call(t, 'GET', '/api/v1/analytics/events', { headers: bearer })).status).toBe(401);
  });
});
