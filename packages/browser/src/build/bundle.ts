/**
 * The browser bundles, built with esbuild: the core as ESM (`deepref.js`) and for a script tag
 * (`deepref.iife.js`, global `deepref`), and the lazily loaded chunks `autocapture.js` and `vitals.js`, which
 * both core builds load from beside themselves. The core must stay within 10 KB minified and gzipped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { type BuildOptions, build, type Plugin } from 'esbuild';

export const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const distDir = path.join(packageDir, 'dist');

/** Bytes of minified code after gzip, per file with a budget. */
export const gzipBudgets: Record<string, number> = {
  'deepref.js': 10 * 1024,
  'deepref.iife.js': 10 * 1024,
};

export interface BundleFile {
  name: string;
  contents: Uint8Array;
  bytes: number;
  gzipBytes: number;
}

/** In the core builds, each lazy `import()` becomes a request for the chunk file next to the core. */
const chunkFiles: Plugin = {
  name: 'deepref-chunk-files',
  setup(on) {
    on.onResolve({ filter: /^\.\/(autocapture|vitals)\/index\.ts$/ }, (args) => ({
      path: `./${args.path.split('/')[1]}.js`,
      external: true,
    }));
  },
};

/** The script-tag build cannot use relative `import()`: it loads the chunks by URL instead. */
const scriptTagChunks: Plugin = {
  name: 'deepref-script-tag-chunks',
  setup(on) {
    on.onResolve({ filter: /^\.\/chunks\.ts$/ }, (args) => ({
      path: path.join(args.resolveDir, 'chunks-script-tag.ts'),
    }));
  },
};

/** Builds every bundle; with `outdir`, writes them there (with source maps), else keeps them in memory. */
export async function bundle(outdir?: string): Promise<BundleFile[]> {
  const version = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8'))
    .version as string;
  const src = path.join(packageDir, 'src');
  const common: BuildOptions = {
    bundle: true,
    minify: true,
    target: ['es2020'],
    platform: 'browser',
    legalComments: 'none',
    define: { __DEEPREF_VERSION__: JSON.stringify(version) },
    outdir: outdir ?? distDir,
    write: outdir !== undefined,
    sourcemap: outdir === undefined ? false : 'linked',
    logLevel: 'silent',
  };
  const builds: BuildOptions[] = [
    { entryPoints: { deepref: path.join(src, 'index.ts') }, format: 'esm', plugins: [chunkFiles] },
    {
      entryPoints: { 'deepref.iife': path.join(src, 'script-tag.ts') },
      format: 'iife',
      globalName: 'deepref',
      plugins: [scriptTagChunks],
    },
    { entryPoints: { autocapture: path.join(src, 'autocapture/index.ts') }, format: 'esm' },
    { entryPoints: { vitals: path.join(src, 'vitals/index.ts') }, format: 'esm' },
  ];
  const results = await Promise.all(builds.map((options) => build({ ...common, ...options })));
  const files: BundleFile[] = [];
  for (const result of results) {
    for (const output of result.outputFiles ?? []) {
      if (output.path.endsWith('.map')) continue;
      files.push(describe(path.basename(output.path), output.contents));
    }
  }
  if (outdir !== undefined) {
    for (const name of ['deepref.js', 'deepref.iife.js', 'autocapture.js', 'vitals.js']) {
      files.push(describe(name, fs.readFileSync(path.join(outdir, name))));
    }
  }
  return files.sort((a, b) => a.name.localeCompare(b.name));
}

function describe(name: string, contents: Uint8Array): BundleFile {
  return { name, contents, bytes: contents.length, gzipBytes: gzipSync(contents, { level: 9 }).length };
}

/** What is over its budget, as sentences; empty when all is within. */
export function overBudget(files: readonly BundleFile[]): string[] {
  return files
    .filter((file) => file.gzipBytes > (gzipBudgets[file.name] ?? Number.POSITIVE_INFINITY))
    .map(
      (file) => `${file.name} is ${file.gzipBytes} bytes min+gzip; its budget is ${gzipBudgets[file.name]}`,
    );
}

export function sizeTable(files: readonly BundleFile[]): string {
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(2)} KB`;
  const rows = files.map((file) => {
    const budget = gzipBudgets[file.name];
    return `${file.name.padEnd(18)} ${kb(file.bytes).padStart(10)} ${kb(file.gzipBytes).padStart(10)}   ${budget ? kb(budget) : '-'}`;
  });
  return [`${'file'.padEnd(18)} ${'min'.padStart(10)} ${'min+gzip'.padStart(10)}   budget`, ...rows].join(
    '\n',
  );
}
