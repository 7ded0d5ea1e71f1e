/**
 * Access/portability exports end to end, once per adapter set: a subject's events in through the collector, an export request driven
 * through the control socket in each format, the package downloaded over HTTP with its signed link, its checksum
 * checked, and every format parsed back (CSV by RFC 4180, XML by a strict pattern, Parquet through DuckDB) to the
 * same records as the JSON. Links that expired or were altered are refused with their codes.
 */
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlRequest } from '../cli/control-client.ts';
import { dataPaths } from '../config.ts';
import { loadOrCreateSecret } from '../secrets.ts';
import { type AdapterSet, adapterSets } from '../testing/adapter-sets.ts';
import type { TestPlatform } from '../testing/test-platform.ts';
import { downloadPath, signDownload } from './signed-url.ts';

const tag = randomUUID().slice(0, 8);
const userId = `user-export-${tag}`;
// Quotes, commas, a newline, markup and non-ASCII: what breaks a careless writer of any of the four formats.
const prompt = `Summarize "Q3", then <b>list</b> risks & costs,\nper région ${tag}`;

let tp: TestPlatform;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-export-'));

// biome-ignore lint/suspicious/noExplicitAny: the control socket answers whatever JSON the route sends
type Answer = any;

async function control(
  method: string,
  route: string,
  body?: unknown,
): Promise<{ status: number; body: Answer }> {
  return controlRequest(tp.dataDir, method, route, body);
}

/** Creates, verifies, approves and runs an export; returns the finished request. */
async function exportAs(format: string) {
  const created = await control('POST', '/api/v1/dsr', { kind: 'export', userId, format });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  expect((await control('POST', `/api/v1/dsr/${id}/verify`, { method: 'signed-in session' })).status).toBe(
    200,
  );
  expect((await control('POST', `/api/v1/dsr/${id}/approve`, {})).status).toBe(200);
  const done = await control('POST', `/api/v1/dsr/${id}/run`, {});
  expect(done.body.state).toBe('completed');
  return done.body as {
    id: string;
    downloadUrl: string;
    result: { id: string; sha256: string; sizeBytes: number };
  };
}

async function download(
  url: string,
): Promise<{ status: number; sha256: string | null; bytes: Uint8Array; body: string }> {
  const response = await fetch(url);
  const bytes = new Uint8Array(await response.arrayBuffer());
  return {
    status: response.status,
    sha256: response.headers.get('x-deepref-sha256'),
    bytes,
    body: Buffer.from(bytes).toString('utf8'),
  };
}

type Cells = Record<string, string | null>;

/** RFC 4180: quoted fields with doubled quotes; an unquoted empty field is null, a quoted one the empty string. */
function parseCsv(text: string): Cells[] {
  const rows: (string | null)[][] = [];
  let row: (string | null)[] = [];
  let i = 0;
  while (i < text.length) {
    let cell: string | null;
    if (text[i] === '"') {
      let value = '';
      i++;
      while (true) {
        if (text[i] === '"' && text[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (text[i] === '"') {
          i++;
          break;
        } else value += text[i++];
      }
      cell = value;
    } else {
      let end = i;
      while (end < text.length && text[end] !== ',' && text[end] !== '\r') end++;
      cell = end === i ? null : text.slice(i, end);
      i = end;
    }
    row.push(cell);
    if (text[i] === ',') i++;
    else if (text.startsWith('\r\n', i)) {
      rows.push(row);
      row = [];
      i += 2;
    }
  }
  const [header, ...body] = rows;
  return body.map((r) => Object.fromEntries(header!.map((h, c) => [h!, r[c] ?? null])));
}

const unescapeXml = (text: string) =>
  text.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"').replaceAll('&amp;', '&');

/** The document must be exactly sections of records of fields; anything else fails the pattern. */
function parseXml(text: string): Record<string, Cells[]> {
  const document =
    /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<subjectData subject="[^"<&]*" generatedAt="[^"<&]*">\n((?: {2}<section name="[^"<]*">\n(?: {4}<record>\n(?: {6}<field name="[^"<]*">[^<]*<\/field>\n)* {4}<\/record>\n)* {2}<\/section>\n)*)<\/subjectData>\n$/;
  const match = document.exec(text);
  expect(match, 'the XML has the documented shape').not.toBeNull();
  const sections: Record<string, Cells[]> = {};
  for (const [, name, body] of match![1]!.matchAll(
    / {2}<section name="([^"]*)">\n([\s\S]*?) {2}<\/section>\n/g,
  )) {
    sections[unescapeXml(name!)] = [...body!.matchAll(/ {4}<record>\n([\s\S]*?) {4}<\/record>\n/g)].map(
      ([, fields]) =>
        Object.fromEntries(
          [...fields!.matchAll(/<field name="([^"]*)">([^<]*)<\/field>/g)].map(([, k, v]) => [
            unescapeXml(k!),
            unescapeXml(v!),
          ]),
        ),
    );
  }
  return sections;
}

async function parseParquet(files: Record<string, Uint8Array>): Promise<Record<string, Cells[]>> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const sections: Record<string, Cells[]> = {};
  try {
    for (const [name, bytes] of Object.entries(files)) {
      if (!name.endsWith('.parquet')) continue;
      const file = path.join(scratch, `${randomUUID()}.parquet`);
      fs.writeFileSync(file, bytes);
      const rows = (
        await connection.runAndReadAll(`SELECT * FROM read_parquet('${file}')`)
      ).getRowObjectsJson();
      sections[name.replace(/\.parquet$/, '')] = rows.map((r) => {
        const { _empty, ...cells } = r as Cells & { _empty?: unknown };
        return cells;
      });
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return sections;
}

/** The JSON export in the flat form of the other formats: nested values as JSON text, nulls dropped per record. */
function flatten(
  sections: Record<string, Record<string, unknown>[]>,
  keepNulls: boolean,
): Record<string, Cells[]> {
  return Object.fromEntries(
    Object.entries(sections).map(([name, records]) => {
      const columns = [...new Set(records.flatMap((r) => Object.keys(r)))];
      return [
        name,
        records.map((r) =>
          Object.fromEntries(
            columns
              .map((c) => [
                c,
                r[c] === undefined || r[c] === null
                  ? null
                  : typeof r[c] === 'string'
                    ? r[c]
                    : JSON.stringify(r[c]),
              ])
              .filter(([, v]) => keepNulls || v !== null),
          ),
        ),
      ];
    }),
  );
}

afterAll(() => {
  fs.rmSync(scratch, { recursive: true, force: true });
});

for (const adapters of adapterSets) {
  describe(`data subject exports (${adapters.name})`, () => exportSuite(adapters));
}

function exportSuite(adapters: AdapterSet) {
  beforeAll(async () => {
    tp = await adapters.start();
    const events = [1, 2].map((n) => ({
      eventId: randomUUID(),
      eventName: 'prompt_submitted',
      timestamp: new Date(Date.now() - n * 60_000).toISOString(),
      userId,
      properties: { prompt_text: `${prompt} #${n}`, n },
    }));
    expect((await tp.post('/api/telemetry/events', events)).status).toBe(200);
    await tp.platform.drain();
  }, 60_000);

  afterAll(async () => {
    await tp?.close();
  });

  describe('data subject exports', () => {
    let json: Record<string, Record<string, unknown>[]>;

    it('exports JSON with every store’s records, the prompt decrypted, behind a checksum and a signed link', async () => {
      const done = await exportAs('json');
      const got = await download(done.downloadUrl);
      expect(got.status).toBe(200);
      const sha256 = createHash('sha256').update(got.bytes).digest('hex');
      expect(got.sha256).toBe(sha256);
      expect(done.result.sha256).toBe(sha256);
      expect(done.result.sizeBytes).toBe(got.bytes.length);
      const files = unzipSync(got.bytes);
      expect(Object.keys(files).sort()).toEqual(['data.json', 'manifest.json']);
      const manifest = JSON.parse(Buffer.from(files['manifest.json']!).toString('utf8'));
      expect(manifest.files).toEqual([
        {
          name: 'data.json',
          sizeBytes: files['data.json']!.length,
          sha256: createHash('sha256').update(files['data.json']!).digest('hex'),
        },
      ]);
      const data = JSON.parse(Buffer.from(files['data.json']!).toString('utf8'));
      expect(data.subject).toBe(userId);
      json = data.sections;
      const prompts = (rows: Record<string, unknown>[]) =>
        rows
          .map(
            (r) => (typeof r.properties === 'string' ? JSON.parse(r.properties) : r.properties).prompt_text,
          )
          .sort();
      const expected = [`${prompt} #1`, `${prompt} #2`];
      expect(prompts(json.log_events!)).toEqual(expected);
      expect(prompts(json.warehouse_events!)).toEqual(expected);
      expect(prompts(json.lake_events!)).toEqual(expected);
      expect(json.data_keys).toHaveLength(1);
    });

    it('writes CSV, XML and Parquet that parse back to the same records as the JSON', async () => {
      for (const format of ['csv', 'xml', 'parquet'] as const) {
        const done = await exportAs(format);
        const got = await download(done.downloadUrl);
        expect(got.sha256).toBe(createHash('sha256').update(got.bytes).digest('hex'));
        const files = unzipSync(got.bytes);
        let parsed: Record<string, Cells[]>;
        if (format === 'csv') {
          parsed = Object.fromEntries(
            Object.entries(files)
              .filter(([name]) => name.endsWith('.csv'))
              .map(([name, bytes]) => [
                name.replace(/\.csv$/, ''),
                parseCsv(Buffer.from(bytes).toString('utf8')),
              ]),
          );
        } else if (format === 'xml') parsed = parseXml(Buffer.from(files['data.xml']!).toString('utf8'));
        else parsed = await parseParquet(files);
        // The exports ran at different times: compare the sections whose content does not change between runs.
        for (const section of ['log_events', 'warehouse_events', 'lake_events', 'data_keys']) {
          expect(parsed[section], `${format} ${section}`).toEqual(flatten(json, format !== 'xml')[section]);
        }
      }
    }, 60_000);

    it('refuses an expired link with DEEPREF_EXPORT_LINK_EXPIRED and an altered one with DEEPREF_EXPORT_LINK_INVALID', async () => {
      const done = await exportAs('json');
      const secret = loadOrCreateSecret(dataPaths(tp.dataDir).secrets, 'export-url');
      const expired = signDownload(secret, done.result.id, Date.now() - 1000);
      const answer = await download(`${tp.url}${downloadPath(expired)}`);
      expect(answer.status).toBe(410);
      expect(JSON.parse(answer.body).error.code).toBe('DEEPREF_EXPORT_LINK_EXPIRED');

      const url = new URL(done.downloadUrl);
      const tampered = [
        // A later expiry with the old signature.
        url.href.replace(/expires=\d+/, (m) => `expires=${Number(m.slice(8)) + 86_400_000}`),
        // Another export's id.
        url.href.replace(done.result.id, randomUUID()),
        // One character of the signature changed.
        url.href.replace(/signature=(.)/, (_, c: string) => `signature=${c === 'A' ? 'B' : 'A'}`),
        // No signature.
        url.href.replace(/&signature=[^&]*/, ''),
      ];
      for (const link of tampered) {
        const refused = await download(link);
        expect(refused.status, link).toBe(403);
        expect(JSON.parse(refused.body).error.code).toBe('DEEPREF_EXPORT_LINK_INVALID');
      }
      expect((await download(done.downloadUrl)).status).toBe(200);
    });

    it('never runs an unverified request, and audits each transition', async () => {
      const created = await control('POST', '/api/v1/dsr', { kind: 'erasure', userId });
      const id = created.body.id as string;
      for (const action of ['run', 'approve']) {
        const refused = await control('POST', `/api/v1/dsr/${id}/${action}`, {});
        expect(refused.status).toBe(409);
        expect(refused.body.error.code).toBe('DEEPREF_DSR_INVALID_TRANSITION');
      }
      expect((await control('POST', `/api/v1/dsr/${id}/cancel`, {})).body.state).toBe('canceled');
      const detail = await control('GET', `/api/v1/dsr/${id}`);
      expect(detail.body.audit.map((a: { toState: string }) => a.toState)).toEqual(['received', 'canceled']);
      // The subject's data is untouched.
      expect(
        (await tp.platform.warehouse.query('SELECT count(*) FROM events WHERE user_id = $1', [userId])).rows,
      ).toEqual([[2]]);
    });

    it('answers the operator routes on the control socket only', async () => {
      const response = await fetch(`${tp.url}/api/v1/dsr`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'export', userId }),
      });
      expect(response.status).toBe(403);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('DEEPREF_FORBIDDEN');
    });
  });
}
