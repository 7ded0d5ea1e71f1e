/**
 * The web dashboard (@deepref/dashboard's `dist/`) served at `/`: `index.html` for every page of the app (so a
 * reload or a shared link of `/trends?event=signup` works), and the hashed files under `/assets/`, which never
 * change under their name and are cached for a year. When the build is missing, the first request builds it
 * (Vite, a development dependency) or, when it cannot, answers a page that names the command that builds it.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { clientPaths } from '@deepref/dashboard/pages';
import type { FastifyInstance, FastifyReply } from 'fastify';
import Type from 'typebox';
import { DeeprefError } from '../errors.ts';

export interface DashboardDeps {
  /** The folder holding the build (`index.html`, `assets/`). */
  dir: string;
  /** Writes the build into `dir`; default: @deepref/dashboard's own build. */
  build?: (dir: string) => Promise<void>;
}

/** Hashed names: a changed file gets a new name, so a browser may keep each one for good. */
const assetCacheControl = 'public, max-age=31536000, immutable';
/** The page names the current hashed files, so a browser asks again each time (a 304 when unchanged). */
const pageCacheControl = 'no-cache';

const contentTypes: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
};

/** The app loads only its own files and talks only to this origin; ECharts sets inline styles. */
const pageHeaders = {
  'content-security-policy': [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'referrer-policy': 'same-origin',
  'x-content-type-options': 'nosniff',
};

/** @deepref/dashboard's `dist/`, where `npm run build -w @deepref/dashboard` writes. */
export function dashboardDistDir(): string {
  return path.dirname(fileURLToPath(import.meta.resolve('@deepref/dashboard/dist/index.html')));
}

async function buildDashboard(dir: string): Promise<void> {
  // Imported only when needed: the build pulls in Vite, which a production install may lack.
  const { buildDashboard: build } = await import('@deepref/dashboard/build');
  await build(dir);
}

const AssetParams = Type.Object({ file: Type.String({ maxLength: 128 }) });

export async function dashboardRoutes(app: FastifyInstance, deps: DashboardDeps): Promise<void> {
  const build = deps.build ?? buildDashboard;
  const indexFile = path.join(deps.dir, 'index.html');
  let building: Promise<void> | undefined;

  /**
   * Builds once when index.html is missing; requests meanwhile wait for that build, and a failed build is tried
   * again by the next request. Returns why the build failed, or undefined when the files are there.
   */
  const ensureBuilt = async (): Promise<string | undefined> => {
    if (!building && (await exists(indexFile))) return undefined;
    building ??= (async () => {
      if (!(await exists(indexFile))) await build(deps.dir);
    })().finally(() => {
      building = undefined;
    });
    try {
      await building;
      return undefined;
    } catch (error) {
      app.log.warn({ err: error, dir: deps.dir }, 'building the dashboard failed');
      return (error as Error).message;
    }
  };

  const sendPage = async (reply: FastifyReply) => {
    const failure = await ensureBuilt();
    if (failure !== undefined) {
      return reply
        .code(503)
        .headers({ ...pageHeaders, 'cache-control': 'no-store' })
        .type('text/html; charset=utf-8')
        .send(notBuiltPage(failure));
    }
    return reply
      .headers({ ...pageHeaders, 'cache-control': pageCacheControl })
      .type('text/html; charset=utf-8')
      .send(await fs.readFile(indexFile));
  };

  for (const page of clientPaths) {
    app.get(page, (_request, reply) => sendPage(reply));
    if (page !== '/') app.get(`${page}/*`, (_request, reply) => sendPage(reply));
  }

  app.get('/assets/:file', { schema: { params: AssetParams } }, async (request, reply) => {
    const { file } = request.params as { file: string };
    const type = contentTypes[path.extname(file)];
    // Names as Vite writes them; nothing that could leave the folder.
    if (!/^[\w.-]+$/.test(file) || file.startsWith('.') || type === undefined) {
      throw new DeeprefError('DEEPREF_NOT_FOUND', { what: `Dashboard file ${file.slice(0, 128)}` });
    }
    await ensureBuilt();
    const contents = await fs.readFile(path.join(deps.dir, 'assets', file)).catch(() => undefined);
    if (!contents) throw new DeeprefError('DEEPREF_NOT_FOUND', { what: `Dashboard file ${file}` });
    return reply
      .headers({ 'cache-control': assetCacheControl, 'x-content-type-options': 'nosniff' })
      .type(type)
      .send(contents);
  });
}

function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

function notBuiltPage(reason: string): string {
  const escaped = reason
    .split('\n')[0]!
    .slice(0, 300)
    .replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>DeepRef: dashboard not built</title></head>
<body><h1>The dashboard is not built</h1><p>Building it failed: ${escaped}</p>
<p>Run <code>npm run build -w @deepref/dashboard</code>, then reload this page.</p></body></html>`;
}
