import { describe, expect, it } from 'vitest';
import { DeeprefError } from '../errors.ts';
import { checkPropertyName, checkRange, duckdbDialect, postgresDialect, SqlParams } from './sql.ts';

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
    expect(duckdbDialect.truncate('week', 'timestamp')).toBe("date_trunc('week', timestamp)");
    expect(postgresDialect.median('x')).toBe('percentile_cont(0.5) WITHIN GROUP (ORDER BY x)');
    expect(postgresDialect.firstBy('v', 't')).toBe('(array_agg(v ORDER BY t))[1]');
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
