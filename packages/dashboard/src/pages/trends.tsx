/**
 * Trends: one event over time, by hour, day, week or month, split by a property, against the previous period of
 * the same length.
 */
import { useApi } from '../api.ts';
import { Chart, type ChartOption } from '../components/chart.tsx';
import { BreakdownField, SelectField } from '../components/field.tsx';
import { Panel, Stat } from '../components/stat.tsx';
import { Async, Empty } from '../components/states.tsx';
import { NumCell, numeric, Table } from '../components/table.tsx';
import { formatChange, formatCount } from '../format.ts';
import type { PageProps } from '../page-props.ts';
import { defaultInterval, type Interval } from '../range.ts';
import { setSearchParams } from '../router.tsx';
import type { EventNames, TrendSeries, Trends as TrendsAnswer } from '../types.ts';

const intervals: Interval[] = ['hour', 'day', 'week', 'month'];
/** Series drawn at most; the table lists them all. */
const maxDrawnSeries = 8;

export default function Trends({ range, search }: PageProps) {
  const names = useApi<EventNames>('/api/v1/analytics/events', { from: range.from, to: range.to });
  const event = search.get('event') ?? (names.status === 'ready' ? names.data.events[0]?.name : undefined);
  const interval = (search.get('interval') as Interval | null) ?? defaultInterval(range);
  const breakdown = search.get('breakdown') ?? '';
  const compare = search.get('compare') === 'true';
  const trend = useApi<TrendsAnswer>(event ? '/api/v1/analytics/trends' : null, {
    event,
    from: range.from,
    to: range.to,
    interval,
    breakdown,
    compare,
  });

  return (
    <div className="page">
      <div className="toolbar">
        <SelectField label="Event" param="event" value={event ?? ''} testId="trend-event">
          {event && !names.data?.events.some((n) => n.name === event) && (
            <option value={event}>{event}</option>
          )}
          {names.data?.events.map((n) => (
            <option key={n.name} value={n.name}>
              {n.name} ({formatCount(n.count)})
            </option>
          ))}
        </SelectField>
        <SelectField label="Interval" param="interval" value={interval}>
          {intervals.map((i) => (
            <option key={i}>{i}</option>
          ))}
        </SelectField>
        <BreakdownField value={breakdown} />
        <label className="check">
          <input
            type="checkbox"
            checked={compare}
            onChange={(e) => setSearchParams({ compare: e.target.checked ? 'true' : null })}
          />
          Compare to previous period
        </label>
      </div>
      {names.status === 'ready' && !event ? (
        <Empty>No events in this date range.</Empty>
      ) : (
        <Async loaded={trend} isEmpty={(data) => data.series.length === 0}>
          {(data) => <TrendView data={data} />}
        </Async>
      )}
    </div>
  );
}

function TrendView({ data }: { data: TrendsAnswer }) {
  const total = data.series.reduce((sum, s) => sum + s.total.count, 0);
  const previousTotal = data.previous?.series.reduce((sum, s) => sum + s.total.count, 0);
  const users = data.series.length === 1 ? data.series[0]!.total.users : null;
  return (
    <>
      <div className="cards three">
        <Stat label="Events" value={total} format={formatCount} testId="trend-total-count" />
        {users !== null && (
          <Stat label="People" value={users} format={formatCount} testId="trend-total-users" />
        )}
        {previousTotal !== undefined && (
          <Stat
            label="Previous period"
            value={previousTotal}
            format={formatCount}
            testId="trend-previous-count"
            hint={
              previousTotal > 0 ? `${formatChange((total - previousTotal) / previousTotal)} now` : undefined
            }
          />
        )}
      </div>
      <Panel title="Over time">
        <Chart option={trendOption(data)} testId="trend-chart" />
      </Panel>
      <Panel title="Series">
        <Table testId="trend-series" columns={seriesColumns}>
          {data.series.map((s) => (
            <tr key={String(s.breakdownValue)} data-series={seriesName(s)}>
              <td>{seriesName(s)}</td>
              <NumCell testId="series-count">{formatCount(s.total.count)}</NumCell>
              <NumCell testId="series-users">{formatCount(s.total.users)}</NumCell>
            </tr>
          ))}
        </Table>
      </Panel>
    </>
  );
}

const seriesColumns = ['Breakdown value', ...numeric('Events', 'People')];

function seriesName(series: TrendSeries): string {
  return series.breakdownValue ?? '(none)';
}

function trendOption(data: TrendsAnswer): ChartOption {
  const drawn = data.series.slice(0, maxDrawnSeries);
  const buckets = drawn[0]?.points.map((p) => p.bucket) ?? [];
  const label = (bucket: string) =>
    data.interval === 'hour' ? bucket.slice(5, 16).replace('T', ' ') : bucket.slice(0, 10);
  return {
    tooltip: { trigger: 'axis' },
    legend: { top: 0, type: 'scroll' },
    grid: { left: 48, right: 16, top: 36, bottom: 28 },
    xAxis: { type: 'category', data: buckets.map(label) },
    yAxis: { type: 'value', minInterval: 1 },
    series: [
      ...drawn.map((s) => ({
        type: 'line' as const,
        name: seriesName(s),
        showSymbol: false,
        data: s.points.map((p) => p.count),
      })),
      ...(data.previous?.series.slice(0, maxDrawnSeries) ?? []).map((s) => ({
        type: 'line' as const,
        name: `${seriesName(s)} (previous period)`,
        showSymbol: false,
        lineStyle: { type: 'dashed' as const, opacity: 0.6 },
        data: s.points.map((p) => p.count),
      })),
    ],
  };
}
