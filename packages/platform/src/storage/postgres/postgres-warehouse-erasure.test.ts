/**
 * Erasure on the PostgreSQL warehouse (privacy requests): the statements run in one transaction, and every table
 * they changed, and only those, is rewritten, so that no old row version stays in its files. Where the server's
 * data folder is on this machine and readable, the rewritten files are read byte for byte after a checkpoint.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { rejection } from '../../testing/rejection.ts';
import { describeWithService } from '../../testing/services.ts';
import {
  type OpenedWarehouse,
  postgresAdmin,
  postgresReachability,
  warehousesUnderTest,
} from '../../testing/warehouses.ts';
import { logRecords } from '../test-events.ts';
import type { Warehouse } from '../warehouse.ts';

const postgres = warehousesUnderTest().find((engine) => engine.name === 'postgres')!;
const tag = Math.random().toString(36).slice(2, 10);
const markerX = `canary-x-${tag}`;
const markerY = `canary-y-${tag}`;

/** 100 events over four days; X's three (10, 20, 42: the day's last, stored lowest in its page) and Y's
 * two (15, 25) all fall on 2026-11-26. */
const records = logRecords(1, 100).map((record) => {
  const n = record.offset;
  const who = n === 10 || n === 20 || n === 42 ? 'x' : n === 15 || n === 25 ? 'y' : undefined;
  if (!who) return record;
  return {
    ...record,
    event: {
      ...record.event,
      userId: `user-${who}-${tag}`,
      properties: { plan: who === 'x' ? markerX : markerY },
    },
  };
});

describeWithService(postgresReachability, 'PostgresWarehouse.eraseRows', () => {
  let opened: OpenedWarehouse | undefined;
  let warehouse: Warehouse;

  beforeEach(async () => {
    opened = await postgres.open();
    warehouse = opened.warehouse;
    await warehouse.load('test', records);
  });

  afterEach(async () => {
    await opened?.cleanup();
  });

  const countOf = async (userId: string) =>
    Number((await warehouse.query('SELECT count(*) FROM events WHERE user_id = $1', [userId])).rows[0]![0]);

  /** Each table of the schema (partitions, indexes, TOAST included) with the file node its rows live in now. */
  async function fileNodes(): Promise<Record<string, number>> {
    const result = await warehouse.query(
      `SELECT c.relname, pg_relation_filenode(c.oid) FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = current_schema() AND c.relkind = 'r' ORDER BY 1`,
    );
    return Object.fromEntries(result.rows.map(([name, node]) => [String(name), Number(node)]));
  }

  it('deletes in one transaction and rewrites only the tables it changed', async () => {
    const before = await fileNodes();
    const removed = await warehouse.eraseRows!([
      { sql: 'DELETE FROM events WHERE user_id = $1', params: [`user-x-${tag}`] },
      { sql: 'DELETE FROM events WHERE user_id = $1', params: ['nobody'] },
    ]);
    expect(removed).toEqual([3, 0]);
    expect(await countOf(`user-x-${tag}`)).toBe(0);
    expect(await countOf(`user-y-${tag}`)).toBe(2);
    expect(Number((await warehouse.query('SELECT count(*) FROM events')).rows[0]![0])).toBe(97);

    const after = await fileNodes();
    const rewritten = Object.keys(before).filter((table) => before[table] !== after[table]);
    expect(rewritten).toEqual(['events_20261126']);
  });

  it('changes nothing when a statement fails', async () => {
    const before = await fileNodes();
    const error = await rejection(
      warehouse.eraseRows!([
        { sql: 'DELETE FROM events WHERE user_id = $1', params: [`user-y-${tag}`] },
        { sql: 'DELETE FROM no_such_table' },
      ]),
    );
    expect(error.code).toBe('DEEPREF_QUERY_FAILED');
    expect(await countOf(`user-y-${tag}`)).toBe(2);
    expect(await fileNodes()).toEqual(before);
  });

  it("leaves no byte of the erased rows in the table's files (read after a checkpoint)", async () => {
    const dataDir = await postgresAdmin(async (client) => {
      const { rows } = await client.query<{ data_directory: string }>('SHOW data_directory');
      return rows[0]!.data_directory;
    });
    const readable = fs.existsSync(dataDir) && fs.statSync(dataDir).isDirectory();
    if (!readable) {
      console.warn(`PostgreSQL's data folder ${dataDir} is not readable here: the byte check is left out.`);
      return;
    }
    const files = async () => {
      await postgresAdmin((client) => client.query('CHECKPOINT'));
      const result = await warehouse.query(
        `SELECT pg_relation_filepath(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema() AND pg_relation_filepath(c.oid) IS NOT NULL`,
      );
      return result.rows
        .map(([file]) => path.join(dataDir, String(file)))
        .filter((file) => fs.existsSync(file))
        .map((file) => ({ file, bytes: fs.readFileSync(file) }));
    };
    const holding = (all: { file: string; bytes: Buffer }[], needle: string) =>
      all.filter(({ bytes }) => bytes.includes(needle)).map(({ file }) => path.basename(file));

    // A DELETE alone leaves the rows' bytes in place: the check can see them.
    await warehouse.query('DELETE FROM events WHERE user_id = $1', [`user-x-${tag}`]);
    expect(holding(await files(), markerX)).not.toEqual([]);

    await warehouse.eraseRows!([{ sql: 'DELETE FROM events WHERE user_id = $1', params: [`user-y-${tag}`] }]);
    const rewritten = await files();
    // Y's rows were erased with the rewrite; X's dead rows lay in the same partition and went with it.
    expect(holding(rewritten, markerY)).toEqual([]);
    expect(holding(rewritten, markerX)).toEqual([]);
  });
});
