/**
 * Experiments as the warehouse records them: exposure events (`experiment_exposure` with properties
 * `experiment` and `variant`) counted into the per-variant users and conversions that `analyzeExperiment` reads.
 */

import type { VariantCounts } from '../analytics/experiments.ts';
import {
  compareText,
  numberOf,
  personOf,
  personSql,
  rowObjects,
  type SqlDialect,
  SqlParams,
} from '../analytics/sql.ts';
import type { Warehouse } from '../storage/warehouse.ts';

export const exposureEvent = 'experiment_exposure';

export interface ExperimentListing {
  name: string;
  variants: { name: string; users: number }[];
  /** Distinct people exposed to any variant. */
  users: number;
  firstSeen: string;
  lastSeen: string;
}

interface Range {
  from: Date;
  to: Date;
}

function exposuresIn(dialect: SqlDialect, params: SqlParams, range: Range): string {
  return `event_name = ${params.add(exposureEvent)}
    AND timestamp >= ${dialect.timestamp(params.add(range.from.toISOString()))}
    AND timestamp < ${dialect.timestamp(params.add(range.to.toISOString()))}
    AND ${personSql} IS NOT NULL`;
}

/** Every experiment with exposures in the range, by name, with the people seen per variant. */
export async function listExperiments(
  warehouse: Warehouse,
  range: Range,
  dialect: SqlDialect,
): Promise<ExperimentListing[]> {
  const params = new SqlParams();
  const experiment = dialect.property('properties', 'experiment', params);
  const variant = dialect.property('properties', 'variant', params);
  const sql = `
    WITH exposures AS (
      SELECT ${experiment} AS experiment, ${variant} AS variant, ${personSql} AS person, timestamp
      FROM events WHERE ${exposuresIn(dialect, params, range)}
    )
    SELECT experiment, variant, count(DISTINCT person) AS users, min(timestamp) AS first_seen,
           max(timestamp) AS last_seen
    FROM exposures WHERE experiment IS NOT NULL AND variant IS NOT NULL
    GROUP BY experiment, variant
    UNION ALL
    SELECT experiment, NULL, count(DISTINCT person), min(timestamp), max(timestamp)
    FROM exposures WHERE experiment IS NOT NULL AND variant IS NOT NULL
    GROUP BY experiment`;
  const byName = new Map<string, ExperimentListing>();
  const rows = rowObjects(await warehouse.query(sql, params.values));
  for (const row of rows.filter((r) => r.variant === null)) {
    byName.set(String(row.experiment), {
      name: String(row.experiment),
      variants: [],
      users: numberOf(row.users),
      firstSeen: String(row.first_seen),
      lastSeen: String(row.last_seen),
    });
  }
  for (const row of rows.filter((r) => r.variant !== null)) {
    byName
      .get(String(row.experiment))
      ?.variants.push({ name: String(row.variant), users: numberOf(row.users) });
  }
  const list = [...byName.values()].sort((a, b) => compareText(a.name, b.name));
  for (const item of list) item.variants.sort((a, b) => compareText(a.name, b.name));
  return list;
}

/**
 * Users and conversions per variant of one experiment, by variant name. A person belongs to the variant of their
 * first exposure in the range, and converts with a `conversionEvent` at or after that exposure and before `to`.
 */
export async function experimentCounts(
  warehouse: Warehouse,
  query: Range & { experiment: string; conversionEvent: string },
  dialect: SqlDialect,
): Promise<VariantCounts[]> {
  const params = new SqlParams();
  const experiment = dialect.property('properties', 'experiment', params);
  const variant = dialect.property('properties', 'variant', params);
  const sql = `
    WITH exposed AS (
      SELECT ${personSql} AS person, min(timestamp) AS exposed_at, ${dialect.firstBy(variant, 'timestamp')} AS variant
      FROM events
      WHERE ${exposuresIn(dialect, params, query)} AND ${experiment} = ${params.add(query.experiment)}
        AND ${variant} IS NOT NULL
      GROUP BY ${personSql}
    )
    SELECT x.variant, count(*) AS users,
      sum(CASE WHEN EXISTS (
        SELECT 1 FROM events e
        WHERE ${personOf('e')} = x.person AND e.event_name = ${params.add(query.conversionEvent)}
          AND e.timestamp >= x.exposed_at
          AND e.timestamp < ${dialect.timestamp(params.add(query.to.toISOString()))}
      ) THEN 1 ELSE 0 END) AS conversions
    FROM exposed x
    GROUP BY x.variant`;
  // Ordered here, not in SQL, where the engines' collations differ: the first variant is the default control.
  return rowObjects(await warehouse.query(sql, params.values))
    .map((row) => ({
      name: String(row.variant),
      users: numberOf(row.users),
      conversions: numberOf(row.conversions),
    }))
    .sort((a, b) => compareText(a.name, b.name));
}
