import { describe, expect, it } from 'vitest';
import { DeeprefError } from '../errors.ts';
import { openDuckdbWarehouse } from '../storage/duckdb/duckdb-warehouse.ts';
import {
  checkPropertyName,
  checkRange,
  duckdbDialect,
  eventsNamedSql,
  personIs,
  postgresDialect,
  SqlParams,
} from './sql.ts';

describe('sql dialect hook', () => {
  it('binds property names as a JSON path (DuckDB) or key (PostgreSQL), never in the SQL text', () => {
    const duck = new SqlParams();
    expect(duckdbDialect.property('properties', 'plan', duck)).toBe('json_extract_string(properties, $1)');
    expect(duck.values).toEqual(['$.plan']);
    const pg = new SqlParams();
    pg.add('first');
    expect(postgresDialect.property('properties', 'plan', pg)).toBe('(properties ->> $2)');
    expect(pg.values).toEqual(['first', 'plan']);
  });

  it('refuses property names that are not plain identifiers', () => {
    for (const name of ["plan'", 'a.b', '1st', 'x y', '', 'a'.repeat(65), '$.plan']) {
      expect(() => checkPropertyName(name)).toThrow(DeeprefError);
    }
    expect(checkPropertyName('billing_country')).toBe('billing_country');
  });

  it('spells the engine-specific pieces', () => {
    expect(duckdbDialect.truncate('month', 'timestamp')).toBe("date_trunc('month', timestamp)");
    expect(postgresDialect.median('x')).toBe('percentile_cont(0.5) WITHIN GROUP (ORDER BY x)');
    expect(postgresDialect.firstBy('v', 't')).toBe('(array_agg(v ORDER BY t))[1]');
  });

  it('cuts hours, days and ISO weeks in DuckDB as date_trunc does, by arithmetic on the micros', async () => {
    const warehouse = await openDuckdbWarehouse(':memory:');
    try {
      const times = [
        '1969-12-28T23:59:59.999999Z', // before the epoch: a Sunday
        '1970-01-05T00:00:00Z', // the first Monday after it
        '2026-11-08T23:59:59.999999Z', // Sunday night
        '2026-11-09T00:00:00Z', // Monday midnight
        '2026-11-11T13:45:10.5Z',
        '2028-02-29T23:30:00Z',
      ];
      for (const unit of ['hour', 'day', 'week'] as const) {
        const sql = `SELECT CAST(t AS VARCHAR) AS t, ${duckdbDialect.truncate(unit, 'CAST(t AS TIMESTAMPTZ)')} = date_trunc('${unit}', CAST(t AS TIMESTAMPTZ)) AS same
          FROM (VALUES ${times.map((t) => `('${t}')`).join(', ')}) v(t)`;
        const result = await warehouse.query(sql);
        expect(result.rows.map((row) => row[1])).toEqual(times.map(() => true));
      }
    } finally {
      await warehouse.close();
    }
  });

  it('selects several event names as one equality scan each, binding every name', () => {
    const params = new SqlParams();
    const since = params.add('2026-11-01T00:00:00Z');
    expect(eventsNamedSql(['a', 'b'], 'event_name', `timestamp >= ${since}`, params)).toBe(
      'SELECT event_name FROM events WHERE event_name = $2 AND timestamp >= $1\n      UNION ALL ' +
        'SELECT event_name FROM events WHERE event_name = $3 AND timestamp >= $1',
    );
    expect(params.values).toEqual(['2026-11-01T00:00:00Z', 'a', 'b']);
    expect(() => eventsNamedSql([''], '*', '', new SqlParams())).toThrow(DeeprefError);
  });

  it('matches a person as coalesce(user_id, anonymous_id) does, NULLs included', async () => {
    const warehouse = await openDuckdbWarehouse(':memory:');
    try {
      const rows = `(VALUES ('p', 'x'), ('q', 'p'), (NULL, 'p'), (NULL, 'q'), (NULL, NULL), ('p', NULL)) v(user_id, anonymous_id)`;
      const result = await warehouse.query(
        `SELECT ${personIs('$1')} IS TRUE, coalesce(user_id, anonymous_id) = $1 IS TRUE FROM ${rows}`,
        ['p'],
      );
      expect(result.rows.map((row) => row[0])).toEqual([true, false, true, false, false, true]);
      expect(result.rows.map((row) => row[0])).toEqual(result.rows.map((row) => row[1]));
    } finally {
      await warehouse.close();
    }
  });

  it('checks date ranges', () => {
    expect(checkRange({ from: '2026-11-01T00:00:00Z', to: '2026-11-02T00:00:00Z' }).to.toISOString()).toBe(
      '2026-11-02T00:00:00.000Z',
    );
    expect(() => checkRange({ from: 'soon', to: '2026-11-02T00:00:00Z' })).toThrow(/ISO 8601/);
    expect(() => checkRange({ from: '2026-11-02T00:00:00Z', to: '2026-11-02T00:00:00Z' })).toThrow(/empty/);
    expect(() => checkRange({ from: '2000-01-01T00:00:00Z', to: '2026-11-02T00:00:00Z' })).toThrow(/longer/);
  });
});
