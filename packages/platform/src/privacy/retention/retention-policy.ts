/**
 * Retention policies per data class (§7.3, §10.2): how long each kind of data is kept, and which class an event
 * belongs to. Events are classed by the taxonomy: security events are security logs, server performance events
 * are API logs, `javascript_error` (and custom events named `…_error`) are error logs, everything else is a raw
 * event. Stream window results are aggregated metrics.
 */
import { eventDefinition, registeredEventNames } from '@deepref/schema';

export type EventDataClass = 'raw_events' | 'api_logs' | 'error_logs' | 'security_logs';
export type DataClass = EventDataClass | 'aggregated_metrics' | 'dead_letters' | 'job_runs' | 'exports';

export const eventDataClasses: readonly EventDataClass[] = [
  'raw_events',
  'api_logs',
  'error_logs',
  'security_logs',
];

/** Days each class is kept, as the reference's §7.3 sets them (dead letters as raw events). */
export interface RetentionConfig {
  rawEventsDays: number;
  apiLogsDays: number;
  errorLogsDays: number;
  securityLogsDays: number;
  aggregatedMetricsDays: number;
  deadLettersDays: number;
  jobRunsDays: number;
  /** When the retention job runs (cron, UTC). */
  schedule: string;
}

export const defaultRetentionConfig: RetentionConfig = {
  rawEventsDays: 60,
  apiLogsDays: 90,
  errorLogsDays: 180,
  securityLogsDays: 365,
  aggregatedMetricsDays: 730,
  deadLettersDays: 60,
  jobRunsDays: 365,
  schedule: '0 3 * * *',
};

export function retentionDays(config: RetentionConfig, dataClass: DataClass): number {
  switch (dataClass) {
    case 'raw_events':
      return config.rawEventsDays;
    case 'api_logs':
      return config.apiLogsDays;
    case 'error_logs':
      return config.errorLogsDays;
    case 'security_logs':
      return config.securityLogsDays;
    case 'aggregated_metrics':
      return config.aggregatedMetricsDays;
    case 'dead_letters':
      return config.deadLettersDays;
    case 'job_runs':
      return config.jobRunsDays;
    case 'exports':
      // An export package lives as long as its download link (7 days), not by a setting.
      return 7;
  }
}

export function eventDataClass(eventName: string): EventDataClass {
  const definition = eventDefinition(eventName);
  if (definition?.category === 'security') return 'security_logs';
  if (definition?.category === 'performance' && definition.group === 'server') return 'api_logs';
  if (eventName === 'javascript_error' || eventName.endsWith('_error')) return 'error_logs';
  return 'raw_events';
}

/** The registered event names of each class other than raw events (raw events are every other name). */
export function registeredNamesByClass(): Record<Exclude<EventDataClass, 'raw_events'>, string[]> {
  const out = { api_logs: [] as string[], error_logs: [] as string[], security_logs: [] as string[] };
  for (const name of registeredEventNames) {
    const dataClass = eventDataClass(name);
    if (dataClass !== 'raw_events') out[dataClass].push(name);
  }
  return out;
}

/**
 * A SQL predicate on `event_name` selecting one class, with the names inlined as string literals (they come from
 * the taxonomy, never from input). Custom `…_error` names are matched by pattern.
 */
export function eventClassPredicate(dataClass: EventDataClass): string {
  const names = registeredNamesByClass();
  const list = (values: string[]) => values.map((v) => `'${v.replaceAll("'", "''")}'`).join(', ');
  const errorLike = `event_name LIKE '%\\_error' ESCAPE '\\'`;
  switch (dataClass) {
    case 'security_logs':
      return `event_name IN (${list(names.security_logs)})`;
    case 'api_logs':
      return `event_name IN (${list(names.api_logs)})`;
    case 'error_logs':
      return `(event_name IN (${list(names.error_logs)}) OR (${errorLike} AND event_name NOT IN (${list([...names.security_logs, ...names.api_logs])})))`;
    case 'raw_events':
      return `(event_name IS NULL OR NOT (event_name IN (${list([...names.security_logs, ...names.api_logs, ...names.error_logs])}) OR ${errorLike}))`;
  }
}

/** The instant before which data of `days` days' retention has expired. */
export function cutoff(now: Date, days: number): Date {
  return new Date(now.getTime() - days * 86_400_000);
}
