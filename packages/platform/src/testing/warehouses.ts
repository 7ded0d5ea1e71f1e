/**
 * The warehouses a suite runs against, each with the SQL dialect its analytics use: DuckDB always, PostgreSQL
 * when reachable (`DEEPREF_POSTGRES_URL`, default postgres://postgres@127.0.0.1:5432/test), every open of it in a
 * fresh schema `deepref_test_<random>` that cleanup drops. A suite written once with `describeEachWarehouse` runs
 * once per engine; PostgreSQL missing skips its half, or fails it under `DEEPREF_REQUIRE_SERVICES=1`.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { duckdbDialect, postgresDialect, type SqlDialect } from '../analytics/sql.ts';
import type { LogRecord } from '../bus/event-log.ts';
import { openDuckdbWarehouse } from '../storage/duckdb/duckdb-warehouse.ts';
import { openPostgresWarehouse } from '../storage/postgres/postgres-warehouse.ts';
import type { Warehouse } from '../storage/warehouse.ts';
import { describeWithService, type ServiceReach, warnUnreachable } from './services.ts';

export const postgresUrl = process.env.DEEPREF_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';

export interface WarehouseOptionsUnderTest {
  /** Most rows `queryReadOnly` returns. */
  maxResultRows?: number;
}

export interface OpenedWarehouse {
  warehouse: Warehouse;
  dialect: SqlDialect;
  /** Closes the warehouse and opens the same data again (migrations run again, as after a restart). */
  reopen(): Promise<Warehouse>;
  /** Closes the warehouse and removes its data (the DuckDB file, the PostgreSQL schema). */
  cleanup(): Promise<void>;
}

export interface WarehouseUnderTest {
  name: 'duckdb' | 'postgres';
  dialect: SqlDialect;
  /** Whether the engine answers; DuckDB always does. */
  reach: ServiceReach;
  open(options?: WarehouseOptionsUnderTest): Promise<OpenedWarehouse>;
}

async function postgresUnreachable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message || error.name : String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Whether the PostgreSQL at `postgresUrl` answered when the test file loaded. */
export const postgresReachability: ServiceReach = {
  service: 'PostgreSQL',
  url: postgresUrl,
  unreachable: await postgresUnreachable(),
};
warnUnreachable(
  postgresReachability,
  'Start it (pg_ctlcluster 15 main start) or point DEEPREF_POSTGRES_URL at one.',
);

/** Runs `work` on a connection of its own, for work behind an adapter's back (dropping a test schema). */
export async function postgresAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A schema name no other test run uses. */
export function testSchemaName(): string {
  return `deepref_test_${randomBytes(6).toString('hex')}`;
}

const duckdbUnderTest: WarehouseUnderTest = {
  name: 'duckdb',
  dialect: duckdbDialect,
  reach: { service: 'DuckDB', url: 'embedded', unreachable: undefined },
  async open(options = {}) {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'deepref-warehouse-'));
    const file = path.join(dir, 'warehouse.duckdb');
    let warehouse: Warehouse = await openDuckdbWarehouse(file, options);
    const opened: OpenedWarehouse = {
      warehouse,
      dialect: duckdbDialect,
      async reopen() {
        await warehouse.close();
        warehouse = await openDuckdbWarehouse(file, options);
        opened.warehouse = warehouse;
        return warehouse;
      },
      async cleanup() {
        await warehouse.close();
        await fs.rm(dir, { recursive: true, force: true });
      },
    };
    return opened;
  },
};

const postgresUnderTest: WarehouseUnderTest = {
  name: 'postgres',
  dialect: postgresDialect,
  reach: postgresReachability,
  async open(options = {}) {
    const schema = testSchemaName();
    const open = () => openPostgresWarehouse({ connectionString: postgresUrl, schema, ...options });
    let warehouse: Warehouse = await open();
    const opened: OpenedWarehouse = {
      warehouse,
      dialect: postgresDialect,
      async reopen() {
        await warehouse.close();
        warehouse = await open();
        opened.warehouse = warehouse;
        return warehouse;
      },
      async cleanup() {
        await warehouse.close();
        await postgresAdmin((client) => client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
      },
    };
    return opened;
  },
};

/** DuckDB, then PostgreSQL; the PostgreSQL entry's `reach` says whether its tests can run. */
export function warehousesUnderTest(): WarehouseUnderTest[] {
  return [duckdbUnderTest, postgresUnderTest];
}

/**
 * `describe(title)` once per warehouse (`title on duckdb`, `title on postgres`); `body` declares its hooks and
 * tests around `engine.open()`. An unreachable PostgreSQL skips its block, or fails it when services are required.
 */
export function describeEachWarehouse(title: string, body: (engine: WarehouseUnderTest) => void): void {
  for (const engine of warehousesUnderTest()) {
    describeWithService(engine.reach, `${title} on ${engine.name}`, () => body(engine));
  }
}

/**
 * For a suite that works on one warehouse throughout: opens `engine` before the suite's tests (loading `records`,
 * when given, as consumer `test`) and cleans up after them. The returned object is filled in by then.
 */
export function useWarehouse(
  engine: WarehouseUnderTest,
  records: LogRecord[] = [],
): { warehouse: Warehouse; dialect: SqlDialect } {
  const live = { dialect: engine.dialect } as { warehouse: Warehouse; dialect: SqlDialect };
  let opened: OpenedWarehouse | undefined;
  beforeAll(async () => {
    opened = await engine.open();
    live.warehouse = opened.warehouse;
    await live.warehouse.load('test', records);
  });
  afterAll(async () => {
    await opened?.cleanup();
  });
  return live;
}
