/**
 * The sinks against real parts: each warehouse (DuckDB, PostgreSQL) for the result and alert tables, the
 * in-memory real-time store, a local HTTP server as the alert webhook, and the routes through Fastify.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuckdbWarehouse } from '../../storage/duckdb/duckdb-warehouse.ts';
import type { Warehouse } from '../../storage/warehouse.ts';
import { describeEachWarehouse, useWarehouse } from '../../testing/warehouses.ts';
import { MemoryRealtimeStore } from '../realtime/memory/memory-realtime-store.ts';
import type { WindowResult } from '../stream-job.ts';
import { streamRoutes } from '../stream-routes.ts';
import { AlertSink } from './alert-sink.ts';
import { RealtimeResultSink } from './realtime-sink.ts';
import { WarehouseResultSink } from './warehouse-result-sink.ts';

let dir: string;
let warehouse: Warehouse;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-stream-sinks-'));
  warehouse = await openDuckdbWarehouse(path.join(dir, 'w.duckdb'));
});
afterAll(async () => {
  await warehouse.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const row = (key: string, end: number, n: number, job = 'api_metrics'): WindowResult => ({
  job,
  key,
  group: { endpoint: key },
  windowStart: end - 60_000,
  windowEnd: end,
  values: { requests: n },
});
const end = Date.UTC(2026, 2, 1, 10, 1, 0);

describeEachWarehouse('stream sinks', (engine) => {
  const db = useWarehouse(engine);

  describe('warehouse result sink', () => {
    it('stores each job, key and window end once, however often it is written', async () => {
      const warehouse = db.warehouse;
      const sink = new WarehouseResultSink(warehouse);
      await sink.write([row('/a', end, 1), row('/b', end, 2)]);
      await sink.write([row('/a', end, 1), row('/a', end + 60_000, 3)]);
      const result = await warehouse.query(
        'SELECT group_key, window_end, result FROM stream_results ORDER BY group_key, window_end_ms',
      );
      expect(result.rows).toEqual([
        ['/a', '2026-03-01T10:01:00.000Z', '{"requests":1}'],
        ['/a', '2026-03-01T10:02:00.000Z', '{"requests":3}'],
        ['/b', '2026-03-01T10:01:00.000Z', '{"requests":2}'],
      ]);
    });

    it('stores a row per group whose key holds a NUL or a lone surrogate, each keyed apart', async () => {
      // Found by acked-events-load.e2e.test.ts: a user id with a NUL made PostgreSQL refuse the window's row, and
      // two endpoints differing only in a lone surrogate (U+FFFD to any UTF-8 engine) made one statement update a
      // row twice, which both engines refuse; the stream processor retried the batch for ever.
      const warehouse = db.warehouse;
      const sink = new WarehouseResultSink(warehouse);
      const keys = ['nul\u0000', 'lone\ud800', 'lone\udfff', 'lone\ufffd', '"lone\\ud800"'];
      const at = end + 3_600_000;
      await sink.write(keys.map((key, i) => row(key, at, i)));
      const result = await warehouse.query(
        'SELECT group_key, group_values, result FROM stream_results WHERE window_end_ms = $1 ORDER BY result',
        [at],
      );
      expect(result.rows.map(([, group]) => JSON.parse(group as string).endpoint)).toEqual(keys);
      expect(new Set(result.rows.map(([key]) => key)).size).toBe(keys.length);
      expect(result.rows.map(([key]) => key)).toEqual([
        '"nul\\u0000"',
        '"lone\\ud800"',
        '"lone\\udfff"',
        'lone\ufffd',
        '"\\"lone\\\\ud800\\""',
      ]);
    });

    it('stores the windows of the first and last storable days, years 0000 and 9999', async () => {
      // A backfilled day of year 0000 (within a long enough retention) made PostgreSQL refuse the window's row,
      // whose times the sink sent as text PostgreSQL reads only with a BC era; the stream processor retried it for
      // ever. The times are bound as dates, which each warehouse spells its own way, as event rows are.
      const warehouse = db.warehouse;
      const sink = new WarehouseResultSink(warehouse);
      const first = Date.parse('0000-01-01T00:01:00.000Z');
      const last = Date.parse('9999-12-31T23:59:00.000Z');
      await sink.write([row('/year-0', first, 1), row('/year-9999', last, 2)]);
      const result = await warehouse.query(
        `SELECT group_key, window_start, window_end FROM stream_results
         WHERE group_key IN ('/year-0', '/year-9999') ORDER BY window_end_ms`,
      );
      expect(result.rows).toEqual([
        ['/year-0', '0000-01-01T00:00:00.000Z', '0000-01-01T00:01:00.000Z'],
        ['/year-9999', '9999-12-31T23:58:00.000Z', '9999-12-31T23:59:00.000Z'],
      ]);
    });
  });

  describe('alert sink and routes', () => {
    it('stores an alert once, posts it to the webhook with retries, and lists it on /api/alerts', async () => {
      const warehouse = db.warehouse;
      const received: unknown[] = [];
      let calls = 0;
      const server = http.createServer((req, res) => {
        calls += 1;
        let body = '';
        req.on('data', (chunk) => (body += chunk));
        req.on('end', () => {
          if (calls < 3) return void res.writeHead(503).end();
          received.push(JSON.parse(body));
          res.writeHead(204).end();
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      const warnings: string[] = [];
      const sink = new AlertSink({
        warehouse,
        logger: { warn: (_, message) => warnings.push(message), error: () => {} },
        webhookUrl: url,
        retryMs: 1,
      });
      const alert = row('erin', end, 1500, 'event_volume_alerts');
      await sink.write([alert]);
      await sink.write([alert]);
      await sink.close();
      server.close();
      expect(warnings).toEqual(['stream alert from event_volume_alerts for erin']);
      expect(calls).toBe(3);
      expect(received).toMatchObject([
        { alert: { job: 'event_volume_alerts', key: 'erin', values: { requests: 1500 } } },
      ]);

      const app = Fastify();
      const realtime = new MemoryRealtimeStore({ sweepIntervalMs: 0 });
      await app.register(streamRoutes, {
        realtime,
        warehouse,
        realtimeJobs: ['api_metrics', 'active_users'],
      });
      const response = await app.inject('/api/alerts');
      expect(response.json()).toMatchObject({
        alerts: [{ job: 'event_volume_alerts', key: 'erin', windowEnd: '2026-03-01T10:01:00.000Z' }],
      });
      await app.close();
      await realtime.close();
    });

    it('stores an alert of a window in year 0000', async () => {
      // As the result sink's windows of year 0000 (above): PostgreSQL refused the times sent as text.
      const warehouse = db.warehouse;
      const sink = new AlertSink({ warehouse, logger: { warn: () => {}, error: () => {} } });
      await sink.write([row('year-0', Date.parse('0000-01-01T00:01:00.000Z'), 3, 'event_volume_alerts')]);
      await sink.close();
      const result = await warehouse.query(
        "SELECT window_start, window_end FROM stream_alerts WHERE group_key = 'year-0'",
      );
      expect(result.rows).toEqual([['0000-01-01T00:00:00.000Z', '0000-01-01T00:01:00.000Z']]);
    });
  });
});

describe('real-time sink and routes', () => {
  it('keeps the latest window per key and serves it', async () => {
    const realtime = new MemoryRealtimeStore({ sweepIntervalMs: 0 });
    const sink = new RealtimeResultSink(realtime);
    await sink.write([row('/a', end, 1), row('/a', end + 60_000, 5), row('/b', end, 2)]);
    await sink.write([row('/a', end, 1)]); // a replayed older window does not replace the newer one
    await sink.write([
      {
        job: 'active_users',
        key: '',
        group: {},
        windowStart: end - 300_000,
        windowEnd: end,
        values: { activeUsers: 7 },
      },
    ]);
    const app = Fastify();
    await app.register(streamRoutes, { realtime, warehouse, realtimeJobs: ['api_metrics', 'active_users'] });
    expect((await app.inject('/api/realtime/jobs/api_metrics')).json()).toMatchObject({
      rows: [
        { key: '/b', windowEnd: end, values: { requests: 2 } },
        { key: '/a', windowEnd: end + 60_000, values: { requests: 5 } },
      ],
    });
    expect((await app.inject('/api/realtime/jobs/api_metrics/%2Fa')).json()).toMatchObject({
      values: { requests: 5 },
    });
    expect((await app.inject('/api/realtime/active-users')).json()).toEqual({
      activeUsers: 7,
      windowEnd: '2026-03-01T10:01:00.000Z',
    });
    expect((await app.inject('/api/realtime/jobs/nope')).statusCode).toBe(404);
    await app.close();
    await realtime.close();
  });
});
