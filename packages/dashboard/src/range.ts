/**
 * The global date range: a preset (`range=7d`) or explicit bounds (`from`, `to`, ISO 8601) in the query string.
 * A preset ends at the next full hour, so that every page and every refresh within the hour asks for the same range.
 */
export type Interval = 'hour' | 'day' | 'week' | 'month';

export interface DateRange {
  from: string;
  to: string;
  /** The preset it came from, or null for explicit bounds. */
  preset: string | null;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export const presets: readonly { id: string; label: string; ms: number }[] = [
  { id: '24h', label: 'Last 24 hours', ms: DAY_MS },
  { id: '7d', label: 'Last 7 days', ms: 7 * DAY_MS },
  { id: '30d', label: 'Last 30 days', ms: 30 * DAY_MS },
  { id: '90d', label: 'Last 90 days', ms: 90 * DAY_MS },
];

const defaultPreset = '30d';

/** The query parameters that carry the range from page to page. */
const rangeParams = ['range', 'from', 'to'] as const;

export function presetRange(id: string, now = Date.now()): DateRange {
  const preset = presets.find((p) => p.id === id) ?? presets.find((p) => p.id === defaultPreset)!;
  const to = Math.ceil(now / HOUR_MS) * HOUR_MS;
  return { from: new Date(to - preset.ms).toISOString(), to: new Date(to).toISOString(), preset: preset.id };
}

export function rangeFromSearch(search: URLSearchParams, now = Date.now()): DateRange {
  const from = Date.parse(search.get('from') ?? '');
  const to = Date.parse(search.get('to') ?? '');
  if (Number.isFinite(from) && Number.isFinite(to) && from < to) {
    return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), preset: null };
  }
  return presetRange(search.get('range') ?? defaultPreset, now);
}

/** A bucket size that gives a readable number of points for the range. */
export function defaultInterval(range: DateRange): Interval {
  const ms = Date.parse(range.to) - Date.parse(range.from);
  if (ms <= 2 * DAY_MS) return 'hour';
  if (ms <= 120 * DAY_MS) return 'day';
  return 'week';
}

/** A link to `path` that keeps the current date range (`range`, `from`, `to`), with `extra` parameters. */
export function withRange(path: string, search: URLSearchParams, extra: Record<string, string> = {}): string {
  const kept = new URLSearchParams(extra);
  for (const key of rangeParams) {
    const value = search.get(key);
    if (value) kept.set(key, value);
  }
  const text = kept.toString();
  return text ? `${path}?${text}` : path;
}
