/**
 * The dashboard's production build (Vite): `index.html` plus hashed files under `assets/`, one chunk per page
 * so that a page loads only its own code (ECharts only with the pages that draw charts). Used by
 * `npm run build -w @deepref/dashboard` and by the platform when it finds no build to serve.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import react from '@vitejs/plugin-react';
import { build, type InlineConfig } from 'vite';

export const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const distDir = path.join(packageDir, 'dist');

export interface BuiltFile {
  /** Path inside the output folder, with `/` separators. */
  name: string;
  bytes: number;
  gzipBytes: number;
}

export function viteConfig(outDir = distDir): InlineConfig {
  return {
    root: packageDir,
    configFile: false,
    base: '/',
    logLevel: 'warn',
    plugins: [react()],
    build: {
      outDir,
      emptyOutDir: true,
      target: 'es2022',
      assetsDir: 'assets',
      reportCompressedSize: false,
      // ECharts (line charts, axes, tooltip, legend) is one lazy chunk of about 500 KB, 170 KB gzipped.
      chunkSizeWarningLimit: 600,
    },
  };
}

/** Builds into `outDir` and lists what it wrote, largest gzip first. */
export async function buildDashboard(outDir = distDir): Promise<BuiltFile[]> {
  await build(viteConfig(outDir));
  return listFiles(outDir).sort((a, b) => b.gzipBytes - a.gzipBytes);
}

function listFiles(dir: string, prefix = ''): BuiltFile[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const name = `${prefix}${entry.name}`;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return listFiles(full, `${name}/`);
    const contents = fs.readFileSync(full);
    return [{ name, bytes: contents.length, gzipBytes: gzipSync(contents, { level: 9 }).length }];
  });
}

export function sizeTable(files: readonly BuiltFile[]): string {
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
  const width = Math.max(4, ...files.map((file) => file.name.length));
  const total = files.reduce((sum, file) => sum + file.gzipBytes, 0);
  return [
    `${'file'.padEnd(width)} ${'min'.padStart(10)} ${'gzip'.padStart(10)}`,
    ...files.map(
      (file) =>
        `${file.name.padEnd(width)} ${kb(file.bytes).padStart(10)} ${kb(file.gzipBytes).padStart(10)}`,
    ),
    `${'total'.padEnd(width)} ${''.padStart(10)} ${kb(total).padStart(10)}`,
  ].join('\n');
}
