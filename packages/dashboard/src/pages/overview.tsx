/**
 * The overview: live cards refreshed every few seconds (active people in the last 5 minutes, API latency in the
 * last minute, error rate in the last hour), headline trends against the previous period, and the most frequent
 * events. With no events it explains how to send a first one.
 */
import { useApi } from '../api.ts';
import { Sparkline } from '../components/sparkline.tsx';
import { Panel, Stat } from '../components/stat.tsx';
import { Async } from '../components/states.tsx';
import { NumCell, numeric, Table } from '../components/table.tsx';
import { formatChange, formatCount, formatMs, formatPercent } from '../format.ts';
import type { PageProps } from '../page-props.ts';
import { defaultInterval, withRange } from '../range.ts';
import { Link } from '../router.tsx';
import type { EventNames, Realtime, Trends } from '../types.ts';

/** How often the live cards ask again. */
const liveRefreshMs = 5_000;

/** The headline trends: the events that say most about the product's health. */
const headlineEvents = [
  { event: 'session_start', label: 'Sessions' },
  { event: 'signup', label: 'Signups' },
  { event: 'prompt_submission', label: 'AI prompts' },
  { event: 'subscription_complete', label: 'New subscriptions' },
];

export default function Overview({ range, search }: PageProps) {
  const events = useApi<EventNames>('/api/v1/analytics/events', { from: range.from, to: range.to });
  return (
    <div className="page">
      <LiveCards />
      <Async loaded={events} isEmpty={(data) => data.events.length === 0} empty={<GettingStarted />}>
        {(data) => (
          <>
            <div className="cards four">
              {headlineEvents.map((headline) => (
                <HeadlineTrend key={headline.event} {...headline} range={range} />
              ))}
            </div>
            <Panel title="Most frequent events">
              <TopEvents data={data} search={search} />
            </Panel>
          </>
        )}
      </Async>
    </div>
  );
}

const topEventColumns = ['Event', ...numeric('Count', 'Share')];

/** The most frequent events, each linking to its trend. */
function TopEvents({ data, search }: { data: EventNames; search: URLSearchParams }) {
  return (
    <Table testId="top-events" columns={topEventColumns}>
      {data.events.slice(0, 12).map((event) => (
        <tr key={event.name} data-event={event.name}>
          <td>
            <Link to={withRange('/trends', search, { event: event.name })}>{event.name}</Link>
            {!event.registered && <span className="tag">custom</span>}
          </td>
          <NumCell testId={`top-event-count-${event.name}`}>{formatCount(event.count)}</NumCell>
          <NumCell>{formatPercent(event.count / totalEvents(data))}</NumCell>
        </tr>
      ))}
    </Table>
  );
}

function totalEvents(data: EventNames): number {
  return data.events.reduce((sum, event) => sum + event.count, 0);
}

function LiveCards() {
  const live = useApi<Realtime>('/api/v1/analytics/realtime', {}, liveRefreshMs);
  return (
    <Panel
      title="Live"
      actions={<span className="live-dot" title={`Refreshed every ${liveRefreshMs / 1000} s`} />}
    >
      <Async loaded={live}>
        {(data) => {
          const latency = overallLatency(data.apiLatency.endpoints);
          return (
            <div className="cards three" data-testid="live-cards">
              <Stat
                label="Active users, last 5 minutes"
                value={data.activeUsers.activeUsers}
                format={formatCount}
                testId="live-active-users"
              />
              <Stat
                label="API latency, last minute"
                value={latency.avgMs}
                format={formatMs}
                testId="live-api-latency"
                hint={
                  latency.requests === 0
                    ? 'no API calls in the last minute'
                    : `average of ${formatCount(latency.requests)} requests; slowest p95 ${formatMs(latency.worstP95Ms)}`
                }
              />
              <Stat
                label="Error rate, last hour"
                value={data.errorRate.errorRate}
                text={formatPercent(data.errorRate.errorRate, 2)}
                testId="live-error-rate"
                hint={`${formatCount(data.errorRate.serverErrors)} server errors in ${formatCount(data.errorRate.requests)} requests`}
              />
            </div>
          );
        }}
      </Async>
    </Panel>
  );
}

/** The last minute over all endpoints: requests, their mean latency, and the highest endpoint p95. */
function overallLatency(endpoints: Realtime['apiLatency']['endpoints']) {
  let requests = 0;
  let weighted = 0;
  let worstP95Ms: number | null = null;
  for (const e of endpoints) {
    if (e.avgLatencyMs !== null) {
      requests += e.requests;
      weighted += e.avgLatencyMs * e.requests;
    }
    if (e.p95LatencyMs !== null) worstP95Ms = Math.max(worstP95Ms ?? 0, e.p95LatencyMs);
  }
  return { requests, avgMs: requests > 0 ? weighted / requests : null, worstP95Ms };
}

function HeadlineTrend({ event, label, range }: { event: string; label: string; range: PageProps['range'] }) {
  const trend = useApi<Trends>('/api/v1/analytics/trends', {
    event,
    from: range.from,
    to: range.to,
    interval: defaultInterval(range),
    compare: true,
  });
  return (
    <div className="card">
      <Async loaded={trend}>
        {(data) => {
          const count = data.series[0]?.total.count ?? 0;
          const before = data.previous?.series[0]?.total.count ?? 0;
          const change = before > 0 ? (count - before) / before : null;
          return (
            <>
              <Stat label={label} value={count} format={formatCount} testId={`headline-${event}`} />
              <div
                className={`change ${change === null ? '' : change >= 0 ? 'up' : 'down'}`}
                data-testid={`headline-${event}-change`}
              >
                {change === null ? 'no previous period data' : `${formatChange(change)} vs previous period`}
              </div>
              <Sparkline
                values={data.series[0]?.points.map((p) => p.count) ?? []}
                label={`${label} over time`}
              />
            </>
          );
        }}
      </Async>
    </div>
  );
}

/** The empty install: how to get a first event in, three ways. */
function GettingStarted() {
  return (
    <div className="getting-started" data-testid="getting-started">
      <h2>No events in this date range</h2>
      <p>On a new install, send a first event and this page fills in within seconds:</p>
      <ol>
        <li>
          Open the <a href="/example">example page</a>: it sends events with the browser SDK from this
          platform.
        </li>
        <li>
          Create a write key for your site, then load the SDK from <code>/sdk/deepref.iife.js</code>:
          <pre>npx deepref keys create --name web --origin http://localhost:3000</pre>
        </li>
        <li>
          Or fill the platform with a realistic demo (users, sessions, AI, subscriptions):
          <pre>npx deepref demo --users 50 --days 7</pre>
        </li>
      </ol>
    </div>
  );
}
