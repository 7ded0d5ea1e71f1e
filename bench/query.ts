/**
 * Dashboard query benchmark: generates realistic events (default 10 million from 100,000 users over 90 days)
 * straight into a DuckDB warehouse with one INSERT … SELECT, times every analytics query of the dashboard there
 * (median of 3 runs after a warm-up), and, when PostgreSQL answers, copies the same rows into a fresh PostgreSQL
 * warehouse schema (CSV through COPY), times the same queries and prints the PostgreSQL / DuckDB ratio.
 *
 *   npm run bench:query                       # 10M events; the DuckDB file is kept and reused
 *   npx tsx bench/query.ts --events 1000000 --no-postgres
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { aiMetrics } from '../packages/platform/src/analytics/ai-metrics.ts';
import { behaviourCohorts } from '../packages/platform/src/analytics/behaviour-cohorts.ts';
import { featureAdoption } from '../packages/platform/src/analytics/feature-adoption.ts';
import { onboardingFunnel, trialToPaidFunnel } from '../packages/platform/src/analytics/funnels.ts';
import { paths } from '../packages/platform/src/analytics/paths.ts';
import { performanceReport } from '../packages/platform/src/analytics/performance.ts';
import { realtimeCards } from '../packages/platform/src/analytics/realtime.ts';
import { retention } from '../packages/platform/src/analytics/retention.ts';
import { revenue } from '../packages/platform/src/analytics/revenue.ts';
import { duckdbDialect, postgresDialect, type SqlDialect } from '../packages/platform/src/analytics/sql.ts';
import { trends } from '../packages/platform/src/analytics/trends.ts';
import { userProfile } from '../packages/platform/src/analytics/user-profile.ts';
import { openDuckdbWarehouse } from '../packages/platform/src/storage/duckdb/duckdb-warehouse.ts';
import { eventColumns } from '../packages/platform/src/storage/event-columns.ts';
import { partitionSql } from '../packages/platform/src/storage/postgres/postgres-event-rows.ts';
import { openPostgresWarehouse } from '../packages/platform/src/storage/postgres/postgres-warehouse.ts';
import type { Warehouse } from '../packages/platform/src/storage/warehouse.ts';

const { values: options } = parseArgs({
  options: {
    events: { type: 'string', default: '10000000' },
    users: { type: 'string', default: '100000' },
    days: { type: 'string', default: '90' },
    runs: { type: 'string', default: '3' },
    file: { type: 'string', default: path.join('bench', 'results', 'query.duckdb') },
    'no-postgres': { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const events = Number(options.events);
const users = Number(options.users);
const days = Number(options.days);
const runs = Number(options.runs);
const start = new Date('2026-08-01T00:00:00Z');
const end = new Date(start.getTime() + days * 86_400_000);
const iso = (t: Date) => t.toISOString();
const daysBefore = (n: number) => iso(new Date(end.getTime() - n * 86_400_000));
const last30 = { from: daysBefore(30), to: iso(end) };
const all = { from: iso(start), to: iso(end) };

interface DashboardQuery {
  name: string;
  run: (warehouse: Warehouse, dialect: SqlDialect) => Promise<unknown>;
}

/** The dashboard's queries, as its pages call them. */
const dashboardQueries: DashboardQuery[] = [
  {
    name: 'trends page_view 30d + previous',
    run: (w, d) => trends(w, { ...last30, event: 'page_view', interval: 'day', compare: true }, d),
  },
  {
    name: 'trends feature_used by feature',
    run: (w, d) => trends(w, { ...last30, event: 'feature_used', interval: 'day', breakdown: 'feature' }, d),
  },
  { name: 'funnel trial-to-paid 90d', run: (w, d) => trialToPaidFunnel(w, all, d) },
  { name: 'funnel onboarding 90d', run: (w, d) => onboardingFunnel(w, all, d) },
  { name: 'retention 90d', run: (w, d) => retention(w, { ...all, observedUntil: iso(end) }, d) },
  { name: 'real-time cards (warehouse)', run: (w, d) => realtimeCards({ warehouse: w, now: end }, d) },
  { name: 'behaviour cohorts 30d', run: (w, d) => behaviourCohorts(w, last30, d) },
  {
    name: 'paths after search_query, depth 5',
    run: (w, d) => paths(w, { ...last30, event: 'search_query', direction: 'after', depth: 5 }, d),
  },
  { name: 'feature adoption 30d', run: (w, d) => featureAdoption(w, last30, d) },
  { name: 'revenue 90d', run: (w, d) => revenue(w, all, d) },
  { name: 'performance 30d', run: (w, d) => performanceReport(w, last30, d) },
  { name: 'AI metrics 30d', run: (w, d) => aiMetrics(w, last30, d) },
  {
    name: 'user profile (heavy user)',
    run: (w, d) => userProfile(w, { person: 'user-3', now: iso(end) }, d),
  },
];
const queries = dashboardQueries.filter((q) => options.only === undefined || q.name.includes(options.only));

/**
 * The activity: sessions of 25 events (`i // 25`), each owned by a user drawn with a square skew (a few heavy
 * users, a long tail), starting at a random second of the period, one event every 40 s. The first event of a
 * session is `session_start`, the second an `identify`; the rest are drawn by weight (page views 30%, API calls
 * 12%, prompts 12%, responses 10%, features 10%, web vitals 6%, …). Deterministic: `hash` of the row number.
 */
function activitySql(n: number): string {
  const h = (salt: number) => `hash(i * 7919 + ${salt})`;
  const pick = (list: string[], salt: number) =>
    `[${list.map((x) => `'${x}'`).join(', ')}][CAST(${h(salt)} % ${list.length} AS INTEGER) + 1]`;
  const paths = [
    '/dashboard',
    '/documents',
    '/documents/:id',
    '/assistant',
    '/search',
    '/settings',
    '/pricing',
  ];
  const features = [
    'ai_assistant',
    'search',
    'export',
    'templates',
    'sharing',
    'comments',
    'versions',
    'import',
  ];
  const endpoints = ['/api/documents', '/api/documents/:id', '/api/search', '/api/ai/complete', '/api/me'];
  const models = ['gpt-4o', 'claude-sonnet-4', 'llama-3-70b'];
  const seconds = days * 86_400 - 3_600;
  return `
    WITH rows AS (
      SELECT i, i // 25 AS s, i % 25 AS j, hash(i * 7919 + 1) % 1000 AS k FROM range(${n}) t(i)
    ),
    named AS (
      SELECT i, s, j,
        CAST(floor(${users} * pow((hash(s * 31 + 2) % 1000000) / 1e6, 2)) AS BIGINT) AS u,
        TIMESTAMPTZ '${iso(start)}' + to_seconds(CAST(hash(s * 31 + 3) % ${seconds} + j * 40 AS DOUBLE)) AS ts,
        CASE WHEN j = 0 THEN 'session_start' WHEN j = 1 THEN 'identify'
          WHEN k < 300 THEN 'page_view' WHEN k < 420 THEN 'api_latency' WHEN k < 540 THEN 'prompt_submission'
          WHEN k < 640 THEN 'response_received' WHEN k < 660 THEN 'response_regenerated'
          WHEN k < 680 THEN 'response_edited' WHEN k < 710 THEN 'ai_feedback' WHEN k < 810 THEN 'feature_used'
          WHEN k < 870 THEN 'web_vital' WHEN k < 920 THEN 'search_query' WHEN k < 960 THEN 'document_edit'
          ELSE 'search_result_clicked' END AS name
      FROM rows
    )
    SELECT i + 1, 'e-' || i, CASE WHEN name = 'identify' THEN 'identify' ELSE 'track' END, name,
      ts, ts, ts, ts, CAST(ts AS DATE), 's-' || s, 'user-' || u, 'anon-' || u, NULL, NULL, 'bench',
      CASE name
        WHEN 'page_view' THEN json_object('path', ${pick(paths, 4)})
        WHEN 'api_latency' THEN json_object('endpoint', ${pick(endpoints, 5)}, 'method', ${pick(['GET', 'GET', 'POST'], 6)},
          'status_code', CASE WHEN ${h(7)} % 100 < 2 THEN 500 WHEN ${h(7)} % 100 < 5 THEN 404 ELSE 200 END,
          'duration_ms', 5 + pow((${h(8)} % 1000) / 1000.0, 3) * 2000)
        WHEN 'prompt_submission' THEN json_object('prompt_id', 'p-' || i, 'model_used', ${pick(models, 9)},
          'prompt_length', ${h(10)} % 800)
        WHEN 'response_received' THEN json_object('prompt_id', 'p-' || (i - 1), 'response_id', 'r-' || i,
          'model_used', ${pick(models, 9)}, 'success', ${h(11)} % 20 <> 0,
          'generation_time_ms', 300 + ${h(12)} % 5000, 'prompt_tokens', 40 + ${h(13)} % 400,
          'completion_tokens', ${h(14)} % 900)
        WHEN 'web_vital' THEN json_object('name', ${pick(['FCP', 'LCP', 'INP', 'CLS', 'TTFB'], 15)},
          'value', (${h(16)} % 4000) / 1.0, 'path', ${pick(paths, 4)})
        WHEN 'feature_used' THEN json_object('feature', ${pick(features, 17)})
        WHEN 'search_query' THEN json_object('search_id', 'q-' || i, 'query_length', 12, 'result_count', 9)
        WHEN 'document_edit' THEN json_object('document_id', 'd-' || (${h(18)} % 50000))
        WHEN 'search_result_clicked' THEN json_object('search_id', 'q-' || (i - 1), 'result_id', 'x', 'position', 1)
        WHEN 'session_start' THEN json_object('landing_path', '/dashboard')
        WHEN 'identify' THEN json_object()
        ELSE json_object('response_id', 'r-' || (i - 1 - ${h(19)} % 4), 'rating', 1 + ${h(20)} % 5,
          'attempt', 2)
      END,
      CASE WHEN name = 'identify' THEN json_object('account_type', ${pick(['free', 'free', 'free', 'trial', 'pro', 'pro', 'enterprise'], 21)}) END,
      json_object('locale', ${pick(['en-US', 'de-DE', 'fr-FR', 'en-GB'], 22)}, 'timezone', 'Europe/Berlin'),
      ${pick(['Chrome', 'Firefox', 'Safari', 'Edge'], 23)}, '1', ${pick(['Windows', 'macOS', 'Linux', 'iOS', 'Android'], 24)}, '1',
      ${pick(['desktop', 'desktop', 'mobile', 'tablet'], 25)}, NULL
    FROM named`;
}

/**
 * The business events, per user: signup at a random time with the onboarding steps after it; 30% start a trial;
 * 15% subscribe 10 days after signup (a third of them annually) and pay every period until the end; a fifth of
 * the subscribers cancel 45 days in, one in ten upgrade 20 days in. Offsets continue after the activity's.
 */
function businessSql(n: number): string {
  const seconds = days * 86_400;
  const at = (offsetSeconds: string) => `signup_at + to_seconds(CAST(${offsetSeconds} AS DOUBLE))`;
  const row = (slot: number, name: string, time: string, properties: string, where = 'TRUE') =>
    `SELECT ${n} + u * 16 + ${slot} AS o, '${name}' AS name, ${time} AS ts, ${properties} AS p, u FROM people WHERE ${where}`;
  const subscribed = 'hash(u * 13 + 5) % 100 < 15';
  const annual = 'hash(u * 13 + 6) % 3 = 0';
  const amount = `CASE WHEN ${annual} THEN 290 ELSE 29 END`;
  const interval = `CASE WHEN ${annual} THEN 'annual' ELSE 'monthly' END`;
  const sub = `json_object('plan', 'pro', 'interval', ${interval}, 'amount', ${amount}, 'currency', 'USD')`;
  const payment = `json_object('plan', 'pro', 'interval', ${interval}, 'amount', ${amount}, 'currency', 'USD', 'status', 'succeeded')`;
  const period = `CASE WHEN ${annual} THEN 365 ELSE 30 END * 86400`;
  return `
    WITH people AS (
      SELECT u, TIMESTAMPTZ '${iso(start)}' + to_seconds(CAST(hash(u * 13 + 1) % ${seconds} AS DOUBLE)) AS signup_at
      FROM range(${users}) t(u)
    ),
    business AS (
      ${row(0, 'signup', 'signup_at', `json_object('method', 'email', 'plan', 'free')`)}
      UNION ALL ${row(1, 'email_verify', at('300'), 'json_object()', 'hash(u * 13 + 2) % 100 < 85')}
      UNION ALL ${row(2, 'first_login', at('900'), 'json_object()', 'hash(u * 13 + 2) % 100 < 75')}
      UNION ALL ${row(3, 'tutorial', at('1200'), `json_object('tutorial_id', 'intro', 'status', 'started')`, 'hash(u * 13 + 2) % 100 < 55')}
      UNION ALL ${row(4, 'first_action', at('1800'), `json_object('action', 'reference_created')`, 'hash(u * 13 + 2) % 100 < 40')}
      UNION ALL ${row(5, 'trial_signup', at('60'), `json_object('plan', 'pro')`, 'hash(u * 13 + 3) % 100 < 30')}
      UNION ALL ${row(6, 'trial_start', at('61'), `json_object('plan', 'pro', 'trial_days', 14)`, 'hash(u * 13 + 3) % 100 < 30')}
      UNION ALL ${row(7, 'first_ai_interaction', at('3600'), `json_object('model_used', 'gpt-4o')`, 'hash(u * 13 + 3) % 100 < 28')}
      UNION ALL ${row(8, 'feature_exploration', at('7200'), `json_object('feature', 'templates')`, 'hash(u * 13 + 3) % 100 < 25')}
      UNION ALL ${row(9, 'payment_page_view', at('86400 * 9'), `json_object('plan', 'pro')`, `hash(u * 13 + 3) % 100 < 20 OR ${subscribed}`)}
      UNION ALL ${row(10, 'subscription_complete', at('86400 * 10'), sub, subscribed)}
      UNION ALL ${row(11, 'subscription_upgrade', at('86400 * 20'), `json_object('from_plan', 'pro', 'to_plan', 'enterprise', 'mrr_change', 40)`, `${subscribed} AND hash(u * 13 + 7) % 10 = 0`)}
      UNION ALL ${row(12, 'subscription_cancel', at('86400 * 45'), `json_object('plan', 'pro', 'reason', 'too_expensive')`, `${subscribed} AND hash(u * 13 + 8) % 5 = 0`)}
      UNION ALL SELECT ${n} + u * 16 + 13 + k, 'payment', ${at(`86400 * 10 + k * ${period}`)}, ${payment}, u
        FROM people, range(3) r(k) WHERE ${subscribed}
    )
    SELECT o, 'e-b-' || o, 'track', name, ts, ts, ts, ts, CAST(ts AS DATE), NULL, 'user-' || u, 'anon-' || u,
      NULL, NULL, 'bench', p, NULL, json_object('locale', 'en-US'), NULL, NULL, NULL, NULL, 'desktop', NULL
    FROM business WHERE ts < TIMESTAMPTZ '${iso(end)}'`;
}

async function generate(file: string): Promise<Warehouse> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const warehouse = await openDuckdbWarehouse(file);
  const existing = await warehouse.query('SELECT count(*) AS n FROM events WHERE source_id = $1', ['bench']);
  const have = Number(existing.rows[0]?.[0] ?? 0);
  if (have >= events) {
    console.log(`reusing ${have.toLocaleString('en-US')} events in ${file}`);
    return warehouse;
  }
  await warehouse.query('DELETE FROM events');
  console.log(`generating ${events.toLocaleString('en-US')} activity events + business events in ${file}…`);
  const t0 = performance.now();
  await warehouse.query(`INSERT INTO events ${activitySql(events)}`);
  await warehouse.query(`INSERT INTO events ${businessSql(events)}`);
  await warehouse.query('CHECKPOINT');
  const total = Number((await warehouse.query('SELECT count(*) FROM events')).rows[0]?.[0]);
  console.log(
    `  ${total.toLocaleString('en-US')} events in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  return warehouse;
}

interface Timing {
  /** Median wall-clock milliseconds. */
  wall: number;
  /**
   * Median CPU milliseconds of this process (DuckDB's worker threads included; for PostgreSQL only the client's):
   * on a shared machine the wall time mostly measures the neighbours, the CPU time much less so.
   */
  cpu: number;
}

/** Medians of `runs` runs after one warm-up. */
async function time(run: () => Promise<unknown>): Promise<Timing> {
  await run();
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await run();
    const c = process.cpuUsage(c0);
    walls.push(performance.now() - t0);
    cpus.push((c.user + c.system) / 1000);
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  return { wall: median(walls), cpu: median(cpus) };
}

async function timeAll(warehouse: Warehouse, dialect: SqlDialect): Promise<Map<string, Timing>> {
  const result = new Map<string, Timing>();
  for (const q of queries) {
    const timing = await time(() => q.run(warehouse, dialect));
    result.set(q.name, timing);
    console.log(
      `  ${q.name.padEnd(36)} ${timing.wall.toFixed(0).padStart(7)} ms wall ${timing.cpu.toFixed(0).padStart(7)} ms CPU`,
    );
  }
  return result;
}

const postgresUrl = process.env.DEEPREF_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';

async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The same rows in a fresh PostgreSQL warehouse schema, through a CSV file and a server-side COPY. */
/**
 * Copies the DuckDB file's events into a fresh PostgreSQL warehouse schema. The warehouse adapter forbids file
 * access (`enable_external_access = false`), so the CSV is written by a plain read-only DuckDB instance after the
 * warehouse has closed the file.
 */
async function copyToPostgres(file: string, schema: string): Promise<Warehouse> {
  const csv = path.join(os.tmpdir(), `deepref-bench-${process.pid}.csv`);
  const columns = eventColumns.map((c) => `"${c.name}"`).join(', ');
  const t0 = performance.now();
  const instance = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
  const connection = await instance.connect();
  try {
    await connection.run(`COPY (SELECT ${columns} FROM events) TO '${csv}' (FORMAT csv, HEADER false)`);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  await fs.chmod(csv, 0o644);
  const warehouse = await openPostgresWarehouse({ connectionString: postgresUrl, schema });
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    await client.query(`SET search_path TO ${schema}`);
    for (let d = 0; d < days; d++) {
      await client.query(partitionSql(new Date(start.getTime() + d * 86_400_000).toISOString().slice(0, 10)));
    }
    await client.query(`COPY events (${columns}) FROM '${csv}' WITH (FORMAT csv)`);
    await client.query('ANALYZE events');
  } finally {
    await client.end();
    await fs.rm(csv, { force: true });
  }
  console.log(`  copied to PostgreSQL schema ${schema} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return warehouse;
}

const duck = await generate(options.file);
console.log(`DuckDB (${os.cpus().length} cores, median of ${runs}):`);
const duckTimes = await timeAll(duck, duckdbDialect);
await duck.close();
let pgTimes: Map<string, Timing> | undefined;
if (!options['no-postgres'] && (await postgresReachable())) {
  const schema = 'deepref_bench_query';
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
  const pgWarehouse = await copyToPostgres(options.file, schema);
  console.log('PostgreSQL:');
  pgTimes = await timeAll(pgWarehouse, postgresDialect);
  await pgWarehouse.close();
} else {
  console.log('PostgreSQL: not run (unreachable, or --no-postgres)');
}

console.log(
  `\nload average during the run: ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(', ')}`,
);
console.log('\n| query | DuckDB wall ms | DuckDB CPU ms | PostgreSQL wall ms | PostgreSQL / DuckDB (wall) |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const q of queries) {
  const d = duckTimes.get(q.name);
  const p = pgTimes?.get(q.name);
  const cells = [
    q.name,
    d?.wall.toFixed(0) ?? '–',
    d?.cpu.toFixed(0) ?? '–',
    p?.wall.toFixed(0) ?? '–',
    p === undefined || d === undefined ? '–' : (p.wall / d.wall).toFixed(1),
  ];
  console.log(`| ${cells.join(' | ')} |`);
}
