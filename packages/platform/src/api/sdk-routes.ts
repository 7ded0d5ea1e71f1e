/**
 * The browser SDK served by the platform under `/sdk/`, so that a page can load it from its collector
 * (`<script src="https://telemetry.example.com/sdk/deepref.iife.js">`) and the example page can use it. The files
 * are @deepref/browser's `dist/`; when they are missing, the first request builds them (esbuild, a development
 * dependency) or, when it cannot, answers DEEPREF_SDK_NOT_BUILT with the command that builds them.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { DeeprefError } from '../errors.ts';

export interface SdkDeps {
  /** The folder holding the built files. */
  dir: string;
  /** Writes the bundles into `dir`; default: @deepref/browser's own build. */
  build?: (dir: string) => Promise<void>;
}

/** The built files, by name; the source maps come with them. */
const builtFiles = ['deepref.js', 'deepref.iife.js', 'autocapture.js', 'vitals.js'];
const servedFiles = builtFiles.flatMap((name) => [name, `${name}.map`]);

/**
 * The URLs carry no version, so browsers keep a file five minutes and then revalidate it (ETag): a rebuilt SDK
 * reaches pages within minutes, and an unchanged one costs a 304.
 */
const cacheControl = 'public, max-age=300';

/** @deepref/browser's `dist/`, where `npm run build -w @deepref/browser` writes. */
export function browserDistDir(): string {
  return path.dirname(fileURLToPath(import.meta.resolve('@deepref/browser/dist/deepref.js')));
}

async function buildBrowserSdk(dir: string): Promise<void> {
  // Imported only when needed: the build pulls in esbuild, which a production install may lack.
  const { bundle } = await import('@deepref/browser/build');
  await bundle(dir);
}

const FileParams = Type.Object({ file: Type.String({ maxLength: 64 }) });

export async function sdkRoutes(app: FastifyInstance, deps: SdkDeps): Promise<void> {
  const build = deps.build ?? buildBrowserSdk;
  let building: Promise<void> | undefined;

  /** Builds the SDK once when a file is missing; a failed build is tried again by the next request. */
  const ensureBuilt = async (): Promise<void> => {
    const missing = await firstMissing(deps.dir);
    if (missing === undefined) return;
    building ??= build(deps.dir).finally(() => {
      building = undefined;
    });
    try {
      await building;
    } catch (error) {
      app.log.warn({ err: error, dir: deps.dir }, 'building the browser SDK failed');
      throw new DeeprefError('DEEPREF_SDK_NOT_BUILT', {
        detail: `${missing} is missing and building it failed: ${oneLine((error as Error).message)}`,
      });
    }
  };

  app.get('/sdk/:file', { schema: { params: FileParams } }, async (request, reply) => {
    const { file } = request.params as { file: string };
    if (!servedFiles.includes(file)) {
      throw new DeeprefError('DEEPREF_NOT_FOUND', { what: `SDK file ${file.slice(0, 64)}` });
    }
    await ensureBuilt();
    const filePath = path.join(deps.dir, file);
    const stat = await fs.stat(filePath).catch(() => undefined);
    if (!stat) throw new DeeprefError('DEEPREF_NOT_FOUND', { what: `SDK file ${file}` });
    const etag = `W/"${stat.size.toString(16)}-${Math.trunc(stat.mtimeMs).toString(16)}"`;
    reply.headers({
      'cache-control': cacheControl,
      etag,
      // Any site may load the SDK, also as a module script or under Cross-Origin-Embedder-Policy.
      'access-control-allow-origin': '*',
      'cross-origin-resource-policy': 'cross-origin',
      'x-content-type-options': 'nosniff',
    });
    const cached = request.headers['if-none-match']?.split(',').map((tag) => tag.trim());
    if (cached?.includes(etag)) return reply.code(304).send();
    return reply
      .type(file.endsWith('.map') ? 'application/json; charset=utf-8' : 'text/javascript; charset=utf-8')
      .send(await fs.readFile(filePath));
  });
}

async function firstMissing(dir: string): Promise<string | undefined> {
  for (const name of builtFiles) {
    const found = await fs.access(path.join(dir, name)).then(
      () => true,
      () => false,
    );
    if (!found) return name;
  }
  return undefined;
}

/** esbuild reports each error on its own lines, often repeated; an error message wants one short line. */
function oneLine(message: string): string {
  const lines = [...new Set(message.split('\n').map((line) => line.trim()))].filter(Boolean);
  const text = lines.join(' ');
  return text.length > 300 ? `${text.slice(0, 299)}…` : text;
}
