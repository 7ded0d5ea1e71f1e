/**
 * AI metrics (reference §2.3, §6.5) per model (`model_used`): prompts per day (`prompt_submission`), and for the
 * answers given in the range (`response_received`): success rate, generation latency (avg, p95, continuous),
 * output tokens per second of generation, regeneration rate, edit rate and feedback ratings. A reaction
 * (`response_regenerated`, `response_edited`, `ai_feedback`) is joined to its answer by `response_id` and counts
 * for the answer's model, whenever it came.
 */
import type { Warehouse } from '../storage/warehouse.ts';
import { inRangeSql, queryRows, type RangeScope, rangeScope } from './range-query.ts';
import {
  compareText,
  numberOf,
  numericProperty,
  percentileSql,
  type SqlDialect,
  type SqlParams,
  type TimeRange,
} from './sql.ts';
import { bucketStarts } from './trends.ts';

export interface ModelMetrics {
  model: string;
  /** `prompt_submission` events naming the model in the range. */
  prompts: number;
  /** `response_received` events of the model in the range. */
  responses: number;
  /** Responses with `success` true / responses. */
  successRate: number;
  avgLatencyMs: number | null;
  p95LatencyMs: number | null;
  /** Σ completion_tokens / Σ generation_time_ms · 1000 over the responses; null without generation time. */
  tokensPerSecond: number | null;
  /** `response_regenerated` of these responses / responses. */
  regenerationRate: number;
  /** Responses edited at least once (`response_edited`) / responses. */
  editRate: number;
  /** `ai_feedback` events with a rating, for these responses. */
  ratings: number;
  avgRating: number | null;
  /** How many ratings of 1, 2, 3, 4 and 5. */
  ratingCounts: [number, number, number, number, number];
}

export interface AiMetricsResult {
  from: string;
  to: string;
  /** One per UTC day of the range: prompts in all and per model. */
  promptsPerDay: { day: string; prompts: number; byModel: Record<string, number> }[];
  /** Most responses first. */
  models: ModelMetrics[];
}

/** AI metrics per model over a range; throws DEEPREF_BAD_REQUEST for a bad range. */
export async function aiMetrics(
  warehouse: Pick<Warehouse, 'query'>,
  range: TimeRange,
  dialect: SqlDialect,
): Promise<AiMetricsResult> {
  const scope = rangeScope(warehouse, range, dialect);
  const days = bucketStarts(scope.from, scope.to, 'day');
  const [prompts, responses, reactions] = await Promise.all([
    queryRows(scope, (params) => promptsSql(scope, params)),
    queryRows(scope, (params) => responsesByModelSql(scope, params)),
    queryRows(scope, (params) => reactionsSql(scope, params)),
  ]);

  const models = new Map<string, ModelMetrics>();
  const model = (name: string): ModelMetrics => {
    let found = models.get(name);
    if (found === undefined) {
      found = {
        model: name,
        prompts: 0,
        responses: 0,
        successRate: 0,
        avgLatencyMs: null,
        p95LatencyMs: null,
        tokensPerSecond: null,
        regenerationRate: 0,
        editRate: 0,
        ratings: 0,
        avgRating: null,
        ratingCounts: [0, 0, 0, 0, 0],
      };
      models.set(name, found);
    }
    return found;
  };
  const perDay = new Map(
    days.map((day) => [day, { day, prompts: 0, byModel: {} as Record<string, number> }]),
  );
  for (const row of prompts) {
    const name = String(row.model);
    const n = numberOf(row.prompts);
    model(name).prompts += n;
    const day = perDay.get(String(row.day));
    if (day === undefined) continue;
    day.prompts += n;
    day.byModel[name] = (day.byModel[name] ?? 0) + n;
  }
  for (const row of responses) {
    const m = model(String(row.model));
    m.responses = numberOf(row.responses);
    m.successRate = numberOf(row.succeeded) / m.responses;
    m.avgLatencyMs = row.avg_ms === null ? null : Number(row.avg_ms);
    m.p95LatencyMs = row.p95_ms === null ? null : Number(row.p95_ms);
    const ms = numberOf(row.generation_ms);
    m.tokensPerSecond = ms > 0 ? numberOf(row.completion_tokens) / (ms / 1000) : null;
  }
  for (const row of reactions) {
    const m = model(String(row.model));
    const perResponse = (n: number) => (m.responses === 0 ? 0 : n / m.responses);
    if (row.kind === 'response_regenerated') m.regenerationRate = perResponse(numberOf(row.n));
    else if (row.kind === 'response_edited') m.editRate = perResponse(numberOf(row.n));
    else if (row.kind === 'rating') {
      const rating = numberOf(row.rating);
      if (Number.isInteger(rating) && rating >= 1 && rating <= 5)
        m.ratingCounts[rating - 1] = numberOf(row.n);
    }
  }
  for (const m of models.values()) {
    m.ratings = m.ratingCounts.reduce((sum, n) => sum + n, 0);
    m.avgRating =
      m.ratings === 0 ? null : m.ratingCounts.reduce((sum, n, i) => sum + n * (i + 1), 0) / m.ratings;
  }
  return {
    from: scope.from.toISOString(),
    to: scope.to.toISOString(),
    promptsPerDay: [...perDay.values()],
    models: [...models.values()].sort(
      (a, b) => b.responses - a.responses || b.prompts - a.prompts || compareText(a.model, b.model),
    ),
  };
}

function promptsSql(scope: RangeScope, params: SqlParams): string {
  const { dialect } = scope;
  return `SELECT ${dialect.truncate('day', 'timestamp')} AS day,
      ${dialect.property('properties', 'model_used', params)} AS model, count(*) AS prompts
    FROM events
    WHERE event_name = ${params.add('prompt_submission')} AND ${inRangeSql(scope, params)}
    GROUP BY 1, 2`;
}

/** The range's responses, as the other queries see them. */
function responsesSql(scope: RangeScope, params: SqlParams): string {
  const { dialect } = scope;
  return `SELECT ${dialect.property('properties', 'response_id', params)} AS response_id,
      ${dialect.property('properties', 'model_used', params)} AS model,
      ${dialect.property('properties', 'success', params)} AS success,
      ${numericProperty(dialect, 'properties', 'generation_time_ms', params)} AS generation_ms,
      ${numericProperty(dialect, 'properties', 'completion_tokens', params)} AS completion_tokens
    FROM events
    WHERE event_name = ${params.add('response_received')} AND ${inRangeSql(scope, params)}`;
}

function responsesByModelSql(scope: RangeScope, params: SqlParams): string {
  return `WITH responses AS (${responsesSql(scope, params)})
    SELECT model, count(*) AS responses,
      count(CASE WHEN success = ${params.add('true')} THEN 1 END) AS succeeded,
      avg(generation_ms) AS avg_ms, ${percentileSql(scope.dialect, 'generation_ms', 0.95)} AS p95_ms,
      sum(completion_tokens) AS completion_tokens, sum(generation_ms) AS generation_ms
    FROM responses GROUP BY model`;
}

function reactionsSql(scope: RangeScope, params: SqlParams): string {
  const { dialect, from } = scope;
  const regenerated = params.add('response_regenerated');
  const edited = params.add('response_edited');
  const feedback = params.add('ai_feedback');
  // A reaction cannot come before its answer, so the scan starts at `from`.
  return `WITH responses AS (${responsesSql(scope, params)}),
    reactions AS (
      SELECT event_name, ${dialect.property('properties', 'response_id', params)} AS response_id,
        -- Only feedback's rating is a number (web_vital's is text); the CASE keeps the cast off other rows
        -- even when the engine evaluates it before the WHERE.
        CASE WHEN event_name = ${feedback} THEN ${numericProperty(dialect, 'properties', 'rating', params)} END AS rating
      FROM events
      WHERE event_name IN (${regenerated}, ${edited}, ${feedback})
        AND timestamp >= ${dialect.timestamp(params.add(from.toISOString()))}
    ),
    joined AS (
      SELECT r.model, x.event_name, x.response_id, x.rating
      FROM reactions x JOIN responses r ON r.response_id = x.response_id
    )
    SELECT model, event_name AS kind, CAST(NULL AS DOUBLE PRECISION) AS rating, count(*) AS n
    FROM joined WHERE event_name = ${regenerated} GROUP BY model, event_name
    UNION ALL
    SELECT model, event_name, NULL, count(DISTINCT response_id)
    FROM joined WHERE event_name = ${edited} GROUP BY model, event_name
    UNION ALL
    SELECT model, 'rating', rating, count(*)
    FROM joined WHERE event_name = ${feedback} AND rating IS NOT NULL GROUP BY model, rating`;
}
