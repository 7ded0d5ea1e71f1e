/**
 * Retention through the real platform, once per adapter set (DuckDB or PostgreSQL warehouse; the lake's files
 * beside the process on both): events of each data class, some past their class's retention and some within it,
 * in the warehouse and the lake; the dry run reports exactly what would go and removes nothing; the job then
 * removes exactly that, from both stores, and the rest stays.
 */
import { randomUUID } from 'node:crypto';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdapterSet, adapterSets } from '../../testing/adapter-sets.ts';
import type { TestPlatform } from '../../testing/test-platform.ts';
import type { RetentionReport } from './retention.ts';

for (const adapters of adapterSets) {
  describe(`retention (${adapters.name})`, () => retentionSuite(adapters));
}

function retentionSuite(adapters: AdapterSet) {
  let tp: TestPlatform;

  const DAY = 86_400_000;
  const daysAgo = (days: number) => new Date(Date.now() - days * DAY).toISOString();

  function event(eventName: string, days: number, properties: Record<string, unknown> = {}) {
    return {
      eventId: randomUUID(),
      eventName,
      timestamp: daysAgo(days),
      sentAt: new Date().toISOString(),
      userId: 'u-retention',
      sessionId: 's-retention',
      properties,
    };
  }

  const api = { endpoint: '/api/x', method: 'GET', status_code: 200, duration_ms: 12 };
  // Defaults: raw events 60 days, API logs 90, error logs 180, security logs 365.
  const batch = [
    event('page_view', 70, { page_url: 'https://a.example/' }), // raw, expired
    event('page_view', 50, { page_url: 'https://a.example/' }), // raw, kept
    event('api_latency', 100, api), // api log, expired
    event('api_latency', 70, api), // api log, kept
    event('javascript_error', 200, { message: 'x', error_type: 'TypeError' }), // error log, expired
    event('javascript_error', 170, { message: 'x', error_type: 'TypeError' }), // error log, kept
    event('checkout_error', 190), // custom …_error: error log, expired
    event('logout', 400, { reason: 'user' }), // security log, expired
    event('logout', 200, { reason: 'user' }), // security log, kept
  ];

  async function warehouseNames(): Promise<string[]> {
    const result = await tp.platform.warehouse.query(
      "SELECT event_name FROM events WHERE user_id = 'u-retention' ORDER BY timestamp",
    );
    return result.rows.map(([name]) => String(name));
  }

  async function lakeNames(): Promise<string[]> {
    const glob = tp.platform.lake.glob('events/');
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const reader = await connection.runAndReadAll(
        `SELECT event_name FROM read_parquet('${glob}', hive_partitioning = 1) WHERE user_id = 'u-retention' ORDER BY timestamp`,
      );
      return reader.getRowsJS().map(([name]) => String(name));
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  }

  function line(report: RetentionReport, store: string, dataClass: string) {
    return report.lines.find((l) => l.store === store && l.dataClass === dataClass);
  }

  beforeAll(async () => {
    tp = await adapters.start();
  });
  afterAll(async () => {
    await tp?.close();
  });

  describe('retention', () => {
    it('reports in a dry run, then removes, exactly the data past its class retention', async () => {
      const response = await tp.post('/api/telemetry/events', batch);
      expect(response.status).toBe(200);
      expect(response.body.results.map((r: { status: string }) => r.status)).toEqual(
        batch.map(() => 'accepted'),
      );
      await tp.platform.drain();
      const all = batch.map((e) => e.eventName);
      expect((await warehouseNames()).sort()).toEqual([...all].sort());
      expect((await lakeNames()).sort()).toEqual([...all].sort());

      const plan = await tp.platform.app.inject({ method: 'GET', url: '/api/v1/retention/plan' });
      // Served to the operator only (the control socket); over TCP it is refused.
      expect(plan.statusCode).toBe(403);

      const dry = await dryRun();
      expect(line(dry, 'warehouse.events', 'raw_events')?.found).toBe(1);
      expect(line(dry, 'warehouse.events', 'api_logs')?.found).toBe(1);
      expect(line(dry, 'warehouse.events', 'error_logs')?.found).toBe(2);
      expect(line(dry, 'warehouse.events', 'security_logs')?.found).toBe(1);
      expect(line(dry, 'lake.events', 'error_logs')?.found).toBe(2);
      expect(dry.lines.every((l) => l.removed === 0)).toBe(true);
      // Export packages are in the plan too (none made here, so none expired).
      expect(line(dry, 'exports', 'exports')).toMatchObject({ found: 0, removed: 0 });
      expect(await warehouseNames()).toHaveLength(batch.length);

      const run = await tp.platform.scheduler.run('retention');
      expect(run.status).toBe('succeeded');
      expect(run.report?.removed).toBeGreaterThanOrEqual(5 + 5); // five events from each of the two stores
      const kept = ['page_view', 'api_latency', 'javascript_error', 'logout'];
      expect((await warehouseNames()).sort()).toEqual([...kept].sort());
      expect((await lakeNames()).sort()).toEqual([...kept].sort());

      // A second run finds nothing more.
      const again = await dryRun();
      expect(again.lines.filter((l) => l.store.endsWith('events')).every((l) => l.found === 0)).toBe(true);
    });
  });

  async function dryRun(): Promise<RetentionReport> {
    const { controlRequest } = await import('../../cli/control-client.ts');
    const response = await controlRequest<RetentionReport>(tp.dataDir, 'GET', '/api/v1/retention/plan');
    expect(response.status).toBe(200);
    return response.body;
  }
}
