/**
 * Performance: the API per endpoint (requests, mean, p95 and p99 latency, error rate) and the Core Web Vitals at
 * the 75th percentile per page, coloured by Google's good / needs improvement / poor thresholds.
 */
import { useApi } from '../api.ts';
import { Panel } from '../components/stat.tsx';
import { Async } from '../components/states.tsx';
import { NumCell, numeric, Table } from '../components/table.tsx';
import { formatCount, formatDecimal, formatMs, formatPercent } from '../format.ts';
import type { PageProps } from '../page-props.ts';
import type { ApiPerformance, PageVitals, WebVitalName, WebVitals } from '../types.ts';

const vitals: WebVitalName[] = ['LCP', 'INP', 'CLS', 'FCP', 'TTFB'];

/** Upper bounds of "good" and "needs improvement" (web.dev), in ms except CLS. */
const thresholds: Record<WebVitalName, [number, number]> = {
  LCP: [2500, 4000],
  INP: [200, 500],
  CLS: [0.1, 0.25],
  FCP: [1800, 3000],
  TTFB: [800, 1800],
};

function formatVital(name: WebVitalName, p75: number | null): string {
  if (p75 === null) return '–';
  return name === 'CLS' ? formatDecimal(p75) : formatMs(p75);
}

function rating(name: WebVitalName, p75: number | null): string {
  if (p75 === null) return '';
  const [good, poor] = thresholds[name];
  return p75 <= good ? 'good' : p75 <= poor ? 'fair' : 'poor';
}

export default function Performance({ range }: PageProps) {
  const params = { from: range.from, to: range.to };
  const api = useApi<ApiPerformance>('/api/v1/analytics/performance/api', params);
  const web = useApi<WebVitals>('/api/v1/analytics/performance/web-vitals', params);
  return (
    <div className="page">
      <Panel title="API endpoints">
        <Async
          loaded={api}
          isEmpty={(data) => data.endpoints.length === 0}
          empty={
            <>
              No <code>api_latency</code> events in this date range. The Node SDK&apos;s Fastify and Express
              middleware send one per request.
            </>
          }
        >
          {(data) => (
            <Table testId="api-table" columns={endpointColumns} scroll>
              {data.endpoints.slice(0, 25).map((e) => (
                <tr key={`${e.method} ${e.endpoint}`} data-endpoint={`${e.method} ${e.endpoint}`}>
                  <td>{e.endpoint}</td>
                  <td>{e.method}</td>
                  <NumCell testId="endpoint-requests">{formatCount(e.requests)}</NumCell>
                  <NumCell>{formatDecimal(e.requestsPerSecond * 60)}</NumCell>
                  <NumCell>{formatMs(e.avgLatencyMs)}</NumCell>
                  <NumCell testId="endpoint-p95">{formatMs(e.p95LatencyMs)}</NumCell>
                  <NumCell>{formatMs(e.p99LatencyMs)}</NumCell>
                  <NumCell testId="endpoint-error-rate">{formatPercent(e.errorRate, 2)}</NumCell>
                </tr>
              ))}
            </Table>
          )}
        </Async>
      </Panel>
      <Panel title="Web vitals, 75th percentile">
        <Async
          loaded={web}
          isEmpty={(data) => vitals.every((name) => data.webVitals.all.metrics[name].samples === 0)}
          empty="No web vitals in this date range. The browser SDK reports them when vitals are on."
        >
          {(data) => (
            <Table testId="vitals-table" className="vitals" columns={vitalsColumns} scroll>
              {[data.webVitals.all, ...data.webVitals.pages.slice(0, 20)].map((page, i) => (
                <VitalsRow key={i === 0 ? '(all)' : String(page.path)} page={page} all={i === 0} />
              ))}
            </Table>
          )}
        </Async>
      </Panel>
    </div>
  );
}

const endpointColumns = [
  'Endpoint',
  'Method',
  ...numeric('Requests', 'Per minute', 'Mean', 'p95', 'p99', 'Error rate'),
];

const vitalsColumns = ['Page', ...numeric(...vitals, 'Reports')];

function VitalsRow({ page, all }: { page: PageVitals; all: boolean }) {
  const label = all ? 'All pages' : (page.path ?? '(unknown page)');
  return (
    <tr data-page={all ? '(all)' : (page.path ?? '')} className={all ? 'total' : undefined}>
      <td>{label}</td>
      {vitals.map((name) => (
        <td
          key={name}
          className={`num vital ${rating(name, page.metrics[name].p75)}`}
          data-testid={`vital-${name}`}
        >
          {formatVital(name, page.metrics[name].p75)}
        </td>
      ))}
      <NumCell>{formatCount(Math.max(...vitals.map((name) => page.metrics[name].samples)))}</NumCell>
    </tr>
  );
}
