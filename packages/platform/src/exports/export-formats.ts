/**
 * What a subject's data looks like on the way out (reference §8.1: JSON, CSV, XML or Parquet): named sections of
 * records, written as `data.json`, one `<section>.csv` or `<section>.parquet` per section, or `data.xml`. A nested
 * value (object, array) becomes its JSON text in the flat formats, so every format holds the same information.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

export const exportFormats = ['json', 'csv', 'xml', 'parquet'] as const;
export type ExportFormat = (typeof exportFormats)[number];

/** One record: field name to value (JSON values). */
export type ExportRecord = Record<string, unknown>;

export interface SubjectData {
  subject: string;
  generatedAt: string;
  /** Section name (`events`, `dead_letters`, `consent_records`, …) to its records. */
  sections: Record<string, ExportRecord[]>;
}

export interface ExportFile {
  name: string;
  bytes: Uint8Array;
}

/** A section's columns: every field any of its records has, in order of first appearance. */
export function sectionColumns(records: readonly ExportRecord[]): string[] {
  const columns = new Set<string>();
  for (const record of records) for (const key of Object.keys(record)) columns.add(key);
  return [...columns];
}

/** A value as one flat cell: null stays null, text stays text, anything else is its JSON. */
export function flatCell(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

function csvField(text: string | null): string {
  if (text === null) return '';
  return /[",\r\n]/.test(text) || text === '' ? `"${text.replaceAll('"', '""')}"` : text;
}

/** RFC 4180 CSV with a header row; an empty string is quoted (`""`) so that it differs from null (nothing). */
export function toCsv(records: readonly ExportRecord[]): string {
  const columns = sectionColumns(records);
  const lines = [columns.map(csvField).join(',')];
  for (const record of records) lines.push(columns.map((c) => csvField(flatCell(record[c]))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

function xmlText(text: string): string {
  // Characters XML 1.0 cannot carry at all are written as U+FFFD; the rest are escaped.
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

/** `<subjectData>` with a `<section>` per section, a `<record>` per record and a `<field>` per non-null value. */
export function toXml(data: SubjectData): string {
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<subjectData subject="${xmlText(data.subject)}" generatedAt="${xmlText(data.generatedAt)}">`,
  ];
  for (const [name, records] of Object.entries(data.sections)) {
    out.push(`  <section name="${xmlText(name)}">`);
    for (const record of records) {
      out.push('    <record>');
      for (const [field, value] of Object.entries(record)) {
        const cell = flatCell(value);
        if (cell !== null) out.push(`      <field name="${xmlText(field)}">${xmlText(cell)}</field>`);
      }
      out.push('    </record>');
    }
    out.push('  </section>');
  }
  out.push('</subjectData>', '');
  return out.join('\n');
}

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** One Parquet file per section, every column VARCHAR (nested values as JSON), written by DuckDB itself. */
async function toParquet(data: SubjectData): Promise<ExportFile[]> {
  const folder = await fs.mkdtemp(path.join(os.tmpdir(), 'deepref-export-'));
  const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false' });
  const connection = await instance.connect();
  try {
    const files: ExportFile[] = [];
    for (const [name, records] of Object.entries(data.sections)) {
      const columns = sectionColumns(records);
      // A section with no records still gets a file, with a column that says so.
      const declared = columns.length ? columns : ['_empty'];
      await connection.run(
        `CREATE OR REPLACE TABLE section (${declared.map((c) => `"${c.replaceAll('"', '""')}" VARCHAR`).join(', ')})`,
      );
      const appender = await connection.createAppender('section');
      for (const record of records) {
        for (const column of declared) {
          const cell = flatCell(record[column]);
          if (cell === null) appender.appendNull();
          else appender.appendVarchar(cell);
        }
        appender.endRow();
      }
      appender.closeSync();
      const file = path.join(folder, `${name}.parquet`);
      await connection.run(`COPY section TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd)`);
      files.push({ name: `${name}.parquet`, bytes: new Uint8Array(await fs.readFile(file)) });
    }
    return files;
  } finally {
    connection.closeSync();
    instance.closeSync();
    await fs.rm(folder, { recursive: true, force: true });
  }
}

/** The files of `data` in `format`. */
export async function writeExportFiles(data: SubjectData, format: ExportFormat): Promise<ExportFile[]> {
  const text = (name: string, content: string): ExportFile => ({
    name,
    bytes: new TextEncoder().encode(content),
  });
  switch (format) {
    case 'json':
      return [text('data.json', `${JSON.stringify(data, null, 2)}\n`)];
    case 'csv':
      return Object.entries(data.sections).map(([name, records]) => text(`${name}.csv`, toCsv(records)));
    case 'xml':
      return [text('data.xml', toXml(data))];
    case 'parquet':
      return toParquet(data);
  }
}
