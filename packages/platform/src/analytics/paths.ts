/**
 * User paths (reference §6.4 "user journeys"): within each session that holds a chosen event, the events just
 * after (or just before) its first occurrence, up to a depth; per step the sessions that got that far and the
 * drop-off, as Sankey nodes and links, and the most common whole paths.
 */
import { performanceEvents } from '@deepref/schema';
import { DeeprefError } from '../errors.ts';
import type { Warehouse } from '../storage/warehouse.ts';
import {
  checkEventName,
  checkRange,
  compareText,
  numberOf,
  rowObjects,
  type SqlDialect,
  SqlParams,
  type TimeRange,
} from './sql.ts';

export interface PathsQuery extends TimeRange {
  /** The anchor event; a session counts from its first one in the range. */
  event: string;
  direction: 'after' | 'before';
  /** Steps to follow, 1 to 10. */
  depth: number;
  /** Events that are never a step (default `defaultPathExclusions`). */
  exclude?: string[];
  /** Merge an event repeated back to back into one step (default true). */
  collapseRepeats?: boolean;
  /** Most nodes per step (2 to 50, default 8); the least frequent events beyond it become `(other)`. */
  maxNodesPerStep?: number;
  /** How many whole paths to list (1 to 100, default 20). */
  topPaths?: number;
}

export interface PathNode {
  /** `<step>:<event>`. */
  id: string;
  /** Offset from the anchor: 0 is the anchor, 1, 2, … after it, −1, −2, … before it. */
  step: number;
  event: string;
  sessions: number;
}

/** A flow in time order (earlier node → later node): the sessions that went from one to the other. */
export interface PathLink {
  source: string;
  target: string;
  sessions: number;
}

export interface PathStep {
  step: number;
  /** Sessions with an event at this step. */
  sessions: number;
  /** Sessions at the step before (nearer the anchor) that have no event at this one. */
  dropOff: number;
}

export interface PathSequence {
  /** In time order, the anchor included. */
  events: string[];
  sessions: number;
}

export interface PathsResult {
  from: string;
  to: string;
  event: string;
  direction: 'after' | 'before';
  depth: number;
  /** Sessions holding the anchor event. */
  sessions: number;
  steps: PathStep[];
  nodes: PathNode[];
  links: PathLink[];
  /** Most sessions first; a session ending (or starting) at the anchor is the path of the anchor alone. */
  paths: PathSequence[];
}

/** The label that stands for the events beyond `maxNodesPerStep` at a step. */
export const otherEvents = '(other)';

/** Server and browser measurements happen all through a session and would hide the person's own steps. */
export const defaultPathExclusions: readonly string[] = [...Object.keys(performanceEvents), 'identify'];

const maxDepth = 10;
const pathSeparator = '\u001f';

function bad(detail: string): DeeprefError {
  return new DeeprefError('DEEPREF_BAD_REQUEST', { detail });
}

function wholeIn(value: number, low: number, high: number): boolean {
  return Number.isInteger(value) && value >= low && value <= high;
}

/** Runs a paths query; throws DEEPREF_BAD_REQUEST for a bad range, event, direction or limit. */
export async function paths(
  warehouse: Pick<Warehouse, 'query'>,
  query: PathsQuery,
  dialect: SqlDialect,
): Promise<PathsResult> {
  const { from, to } = checkRange(query);
  const anchor = checkEventName(query.event);
  if (query.direction !== 'after' && query.direction !== 'before') {
    throw bad('The direction must be `after` or `before`');
  }
  if (!wholeIn(query.depth, 1, maxDepth)) throw bad(`The depth must be a whole number from 1 to ${maxDepth}`);
  const maxNodes = query.maxNodesPerStep ?? 8;
  if (!wholeIn(maxNodes, 2, 50)) throw bad('maxNodesPerStep must be a whole number from 2 to 50');
  const topPaths = query.topPaths ?? 20;
  if (!wholeIn(topPaths, 1, 100)) throw bad('topPaths must be a whole number from 1 to 100');
  const exclude = (query.exclude ?? [...defaultPathExclusions]).filter((name) => name !== anchor);
  exclude.forEach(checkEventName);
  const after = query.direction === 'after';
  const sign = after ? 1 : -1;

  const params = new SqlParams();
  const excluded =
    exclude.length === 0 ? '' : `AND e.event_name NOT IN (${exclude.map((e) => params.add(e)).join(', ')})`;
  const collapse = query.collapseRepeats ?? true;
  const order = 'ORDER BY timestamp, log_offset';
  const anchorName = params.add(anchor);
  const fromAt = dialect.timestamp(params.add(from.toISOString()));
  const toAt = dialect.timestamp(params.add(to.toISOString()));
  // Only the events on the anchor's side of its first occurrence (by time, then log offset) can be steps, so the
  // window functions sort those alone, not every event of the range (on 10M events: 2.7M rows down to 1.1M).
  const side = after
    ? 'e.timestamp > p.at OR (e.timestamp = p.at AND e.log_offset >= p.first_offset)'
    : 'e.timestamp < p.at OR (e.timestamp = p.at AND e.log_offset <= p.first_offset)';
  // The steps in time order: 1 … depth after the anchor, −depth … −1 before it.
  const stepNumbers = after
    ? Array.from({ length: query.depth }, (_, i) => i + 1)
    : Array.from({ length: query.depth }, (_, i) => i - query.depth);
  const column = (step: number) => `e${step < 0 ? `_${-step}` : step}`;
  const [low, high] = after ? [1, query.depth] : [-query.depth, -1];
  const sql = `
    WITH anchor_times AS (
      SELECT session_id, min(timestamp) AS at FROM events
      WHERE event_name = ${anchorName} AND session_id IS NOT NULL AND timestamp >= ${fromAt} AND timestamp < ${toAt}
      GROUP BY session_id
    ),
    anchor_points AS (
      SELECT e.session_id, a.at, min(e.log_offset) AS first_offset
      FROM events e JOIN anchor_times a ON a.session_id = e.session_id AND e.timestamp = a.at
      WHERE e.event_name = ${anchorName}
      GROUP BY e.session_id, a.at
    ),
    filtered AS (
      SELECT e.session_id, e.event_name, e.timestamp, e.log_offset,
        lag(e.event_name) OVER (PARTITION BY e.session_id ${order}) AS previous_event
      FROM events e JOIN anchor_points p ON p.session_id = e.session_id
      WHERE e.timestamp >= ${fromAt} AND e.timestamp < ${toAt} AND (${side})
        ${excluded}
    ),
    seq AS (
      SELECT session_id, event_name, row_number() OVER (PARTITION BY session_id ${order}) AS n
      FROM filtered
      ${collapse ? 'WHERE previous_event IS NULL OR previous_event <> event_name' : ''}
    ),
    anchors AS (
      SELECT session_id, min(n) AS a FROM seq WHERE event_name = ${anchorName} GROUP BY session_id
    ),
    steps AS (
      SELECT s.session_id, CAST(s.n - a.a AS INTEGER) AS step, s.event_name
      FROM seq s JOIN anchors a ON a.session_id = s.session_id
      WHERE s.n - a.a BETWEEN ${params.add(low)} AND ${params.add(high)}
    ),
    per_session AS (
      SELECT session_id,
        ${stepNumbers.map((step) => `max(CASE WHEN step = ${step} THEN event_name END) AS ${column(step)}`).join(',\n        ')}
      FROM steps GROUP BY session_id
    )
    SELECT 'anchor' AS kind, CAST(NULL AS INTEGER) AS step, CAST(NULL AS VARCHAR) AS neighbour,
      CAST(NULL AS VARCHAR) AS event_name, count(*) AS sessions
    FROM anchors
    UNION ALL
    SELECT 'link', step, neighbour, event_name, count(*) FROM (
      ${stepNumbers
        .map((step) => {
          const near = step - sign;
          const neighbour = near === 0 ? `CAST(${anchorName} AS VARCHAR)` : column(near);
          const event = column(step);
          return `SELECT ${step} AS step, ${neighbour} AS neighbour, ${event} AS event_name
        FROM per_session WHERE ${event} IS NOT NULL`;
        })
        .join('\n      UNION ALL ')}
    ) links
    GROUP BY step, neighbour, event_name
    UNION ALL
    SELECT 'path', NULL, NULL, path, sessions FROM (
      SELECT path, count(*) AS sessions FROM (
        SELECT concat_ws(chr(31), ${stepNumbers.map(column).join(', ')}) AS path FROM per_session
      ) per_path
      GROUP BY path ORDER BY count(*) DESC, path LIMIT ${params.add(topPaths)}
    ) top_paths`;
  const rows = rowObjects(await warehouse.query(sql, params.values));

  const anchorSessions = numberOf(rows.find((row) => row.kind === 'anchor')?.sessions);
  const links = rows
    .filter((row) => row.kind === 'link')
    .map((row) => ({
      step: numberOf(row.step),
      neighbour: String(row.neighbour),
      event: String(row.event_name),
      sessions: numberOf(row.sessions),
    }));

  // Per step, the events kept as nodes: the most frequent, the rest merged into `(other)`.
  const offsets = Array.from({ length: query.depth }, (_, i) => sign * (i + 1));
  const labels = new Map<number, Map<string, string>>([[0, new Map([[anchor, anchor]])]]);
  const reach: number[] = [anchorSessions];
  for (const step of offsets) {
    const counts = new Map<string, number>();
    for (const link of links) {
      if (link.step === step) counts.set(link.event, (counts.get(link.event) ?? 0) + link.sessions);
    }
    const ranked = [...counts].sort((a, b) => b[1] - a[1] || compareText(a[0], b[0]));
    const keep = ranked.length > maxNodes ? maxNodes - 1 : ranked.length;
    labels.set(step, new Map(ranked.map(([event], i) => [event, i < keep ? event : otherEvents])));
    reach.push(ranked.reduce((sum, [, n]) => sum + n, 0));
  }
  const labelAt = (step: number, event: string) => labels.get(step)?.get(event) ?? otherEvents;
  const idOf = (step: number, event: string) => `${step}:${labelAt(step, event)}`;

  const nodeSessions = new Map<string, PathNode>([
    [`0:${anchor}`, { id: `0:${anchor}`, step: 0, event: anchor, sessions: anchorSessions }],
  ]);
  const linkSessions = new Map<string, PathLink>();
  for (const link of links) {
    const id = idOf(link.step, link.event);
    const node = nodeSessions.get(id) ?? {
      id,
      step: link.step,
      event: labelAt(link.step, link.event),
      sessions: 0,
    };
    node.sessions += link.sessions;
    nodeSessions.set(id, node);
    const near = idOf(link.step - sign, link.neighbour);
    const [source, target] = after ? [near, id] : [id, near];
    const key = `${source}\u0000${target}`;
    const flow = linkSessions.get(key) ?? { source, target, sessions: 0 };
    flow.sessions += link.sessions;
    linkSessions.set(key, flow);
  }

  const steps = offsets.map((step, i) => ({
    step,
    sessions: reach[i + 1] ?? 0,
    dropOff: (reach[i] ?? 0) - (reach[i + 1] ?? 0),
  }));
  const sequences = rows
    .filter((row) => row.kind === 'path')
    .map((row) => {
      const events = String(row.event_name).split(pathSeparator);
      return { events: after ? [anchor, ...events] : [...events, anchor], sessions: numberOf(row.sessions) };
    });
  const alone = anchorSessions - (reach[1] ?? 0);
  if (alone > 0) sequences.push({ events: [anchor], sessions: alone });
  sequences.sort((a, b) => b.sessions - a.sessions || compareText(a.events.join(' '), b.events.join(' ')));

  return {
    from: from.toISOString(),
    to: to.toISOString(),
    event: anchor,
    direction: query.direction,
    depth: query.depth,
    sessions: anchorSessions,
    steps,
    nodes: [...nodeSessions.values()].sort(
      (a, b) => a.step - b.step || b.sessions - a.sessions || compareText(a.event, b.event),
    ),
    links: [...linkSessions.values()].sort(
      (a, b) => b.sessions - a.sessions || compareText(a.source + a.target, b.source + b.target),
    ),
    paths: sequences.slice(0, topPaths),
  };
}
