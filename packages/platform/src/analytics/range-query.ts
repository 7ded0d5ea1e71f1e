/**
 * What the queries of a report over one time range share: the warehouse they ask, the dialect they are written in
 * and the checked range [from, to). Each query binds its own parameters (`queryRows` hands it a fresh set) and
 * keeps to the range with `inRangeSql`.
 */
import type { Warehouse } from '../storage/warehouse.ts';
import { checkRange, rowObjects, type SqlDialect, SqlParams, type TimeRange } from './sql.ts';

export interface RangeScope {
  readonly warehouse: Pick<Warehouse, 'query'>;
  readonly dialect: SqlDialect;
  /** Inclusive start. */
  readonly from: Date;
  /** Exclusive end. */
  readonly to: Date;
}

/** The scope of a report over `range`; throws DEEPREF_BAD_REQUEST for a bad range (see `checkRange`). */
export function rangeScope(
  warehouse: Pick<Warehouse, 'query'>,
  range: TimeRange,
  dialect: SqlDialect,
): RangeScope {
  return { warehouse, dialect, ...checkRange(range) };
}

/** The events table's `timestamp` within the scope's [from, to), both ends bound. */
export function inRangeSql({ dialect, from, to }: RangeScope, params: SqlParams): string {
  return `timestamp >= ${dialect.timestamp(params.add(from.toISOString()))}
    AND timestamp < ${dialect.timestamp(params.add(to.toISOString()))}`;
}

/** Runs the query `build` writes with the parameters it binds, and returns the rows as objects by column name. */
export async function queryRows(
  { warehouse }: Pick<RangeScope, 'warehouse'>,
  build: (params: SqlParams) => string,
): Promise<Record<string, unknown>[]> {
  const params = new SqlParams();
  const sql = build(params);
  return rowObjects(await warehouse.query(sql, params.values));
}
