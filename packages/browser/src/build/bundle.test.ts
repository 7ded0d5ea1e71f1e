/**
 * The build, as CI runs it: writes dist/ (what the package ships and the platform serves), prints the sizes,
 * and fails when the core is over its 10 KB min+gzip budget.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { bundle, distDir, overBudget, sizeTable } from './bundle.ts';

it('builds the core (ESM and script tag) within 10 KB min+gzip, and the lazy chunks beside it', async () => {
  const files = await bundle(distDir);
  console.log(`@deepref/browser bundle sizes\n${sizeTable(files)}`);
  expect(overBudget(files)).toEqual([]);
  expect(files.map((file) => file.name)).toEqual([
    'autocapture.js',
    'deepref.iife.js',
    'deepref.js',
    'vitals.js',
  ]);

  const core = fs.readFileSync(path.join(distDir, 'deepref.js'), 'utf8');
  // The chunks load on demand; the schema (TypeBox) and web-vitals stay out of the core.
  expect(core).toContain('import("./autocapture.js")');
  expect(core).toContain('import("./vitals.js")');
  expect(core).not.toMatch(/onINP|TypeBox|typebox/);
  expect(fs.readFileSync(path.join(distDir, 'vitals.js'), 'utf8')).toContain('largest-contentful-paint');
});

it('reports a bundle over its budget', () => {
  const file = { name: 'deepref.js', contents: new Uint8Array(), bytes: 40_000, gzipBytes: 12_000 };
  expect(overBudget([file])).toEqual(['deepref.js is 12000 bytes min+gzip; its budget is 10240']);
});
