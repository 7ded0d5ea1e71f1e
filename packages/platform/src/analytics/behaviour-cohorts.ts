/**
 * Behaviour cohorts (reference §6.2): each week, the people active that week split by how much they used the AI.
 * An AI interaction is one request a person made of a model: a `prompt_submission` or a `response_regenerated`
 * (asking again is another generation). Reactions to an answer (`ai_feedback`, `response_edited`) and the system's
 * own `response_received` are not interactions. Power: more than 100 in the week; casual: 10 to 100; dormant:
 * fewer than 10, none included. Weeks are ISO weeks (Monday 00:00 UTC), counted whole.
 */
import type { Warehouse } from '../storage/warehouse.ts';
import {
  checkRange,
  numberOf,
  personSql,
  rowObjects,
  type SqlDialect,
  SqlParams,
  type TimeRange,
} from './sql.ts';
import { bucketStarts } from './trends.ts';

/** The events that count as one AI interaction each. */
export const aiInteractionEvents: readonly string[] = ['prompt_submission', 'response_regenerated'];

/** More than this many AI interactions in a week makes a power user. */
export const powerUserAbove = 100;
/** At least this many (and at most `powerUserAbove`) makes a casual user; fewer, a dormant one. */
export const casualUserFrom = 10;

const weekMs = 7 * 86_400_000;

export type BehaviourCohort = 'power' | 'casual' | 'dormant';

export interface BehaviourWeek {
  /** Monday 00:00 UTC. */
  week: string;
  /** People with any event in the week. */
  activePeople: number;
  power: number;
  casual: number;
  dormant: number;
}

export interface BehaviourCohortsResult {
  from: string;
  to: string;
  /** One row per ISO week starting in [week of `from`, `to`), empty weeks included. */
  weeks: BehaviourWeek[];
}

/** The cohort of a person with `interactions` AI interactions in a week. */
export function behaviourCohortOf(interactions: number): BehaviourCohort {
  if (interactions > powerUserAbove) return 'power';
  return interactions >= casualUserFrom ? 'casual' : 'dormant';
}

/** Weekly power / casual / dormant counts; throws DEEPREF_BAD_REQUEST for a bad range. */
export async function behaviourCohorts(
  warehouse: Pick<Warehouse, 'query'>,
  range: TimeRange,
  dialect: SqlDialect,
): Promise<BehaviourCohortsResult> {
  const { from, to } = checkRange(range);
  const weeks = bucketStarts(from, to, 'week');
  const params = new SqlParams();
  const start = dialect.timestamp(params.add(weeks[0]));
  // Whole weeks: the last one runs to its Sunday even past `to`.
  const lastWeek = new Date(weeks.at(-1) ?? from.toISOString());
  const end = dialect.timestamp(params.add(new Date(lastWeek.getTime() + weekMs).toISOString()));
  const interaction = `event_name IN (${aiInteractionEvents.map((name) => params.add(name)).join(', ')})`;
  const upper = params.add(powerUserAbove);
  const lower = params.add(casualUserFrom);
  const sql = `
    WITH weekly AS (
      SELECT ${dialect.truncate('week', 'timestamp')} AS week, ${personSql} AS person,
        count(CASE WHEN ${interaction} THEN 1 END) AS interactions
      FROM events
      WHERE timestamp >= ${start} AND timestamp < ${end} AND ${personSql} IS NOT NULL
      GROUP BY 1, 2
    )
    SELECT week, count(*) AS people,
      count(CASE WHEN interactions > ${upper} THEN 1 END) AS power,
      count(CASE WHEN interactions >= ${lower} AND interactions <= ${upper} THEN 1 END) AS casual,
      count(CASE WHEN interactions < ${lower} THEN 1 END) AS dormant
    FROM weekly GROUP BY week`;
  const rows = rowObjects(await warehouse.query(sql, params.values));
  const byWeek = new Map(rows.map((row) => [String(row.week), row]));
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    weeks: weeks.map((week) => {
      const row = byWeek.get(week);
      return {
        week,
        activePeople: numberOf(row?.people),
        power: numberOf(row?.power),
        casual: numberOf(row?.casual),
        dormant: numberOf(row?.dormant),
      };
    }),
  };
}
