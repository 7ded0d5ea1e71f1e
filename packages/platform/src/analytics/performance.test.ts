import { expect, it } from 'vitest';
import { describeEachWarehouse, useWarehouse } from '../testing/warehouses.ts';
import { performanceReport } from './performance.ts';
import { type CraftedEvent, craftedRecords } from './test-records.ts';

const second = (n: number) => new Date(Date.UTC(2026, 10, 2, 0, 0, n)).toISOString();
const call = (n: number, endpoint: string, method: string, ms: number, status: number): CraftedEvent => ({
  event: 'api_latency',
  at: second(n),
  person: 'server',
  properties: { endpoint, method, duration_ms: ms, status_code: status },
});
const vital = (n: number, name: string, value: number, path?: string): CraftedEvent => ({
  event: 'web_vital',
  at: second(n),
  person: 'viewer',
  properties: path === undefined ? { name, value } : { name, value, path },
});

const statuses = [200, 500, 200, 404, 200, 200, 503, 200, 200, 200];
const events: CraftedEvent[] = [
  // /api/docs GET: 10, 20, …, 100 ms; two 5xx (the 404 is not a server error).
  ...statuses.map((status, i) => call(i * 10, '/api/docs', 'GET', (i + 1) * 10, status)),
  call(300, '/api/search', 'POST', 7, 200),
  call(600, '/api/docs', 'GET', 5000, 500), // 00:10:00 is `to`: outside
  vital(1, 'LCP', 1000, '/home'),
  vital(2, 'LCP', 2000, '/home'),
  vital(3, 'LCP', 3000, '/home'),
  vital(4, 'LCP', 4000, '/home'),
  vital(5, 'CLS', 0.1, '/home'),
  vital(6, 'CLS', 0.3, '/home'),
  vital(7, 'LCP', 500, '/docs'),
  vital(8, 'INP', 100, '/docs'),
  vital(9, 'INP', 200, '/docs'),
  vital(10, 'FCP', 800),
];
const range = { from: '2026-11-02T00:00:00Z', to: '2026-11-02T00:10:00Z' };
const none = { p75: null, samples: 0 };

describeEachWarehouse('performance', (engine) => {
  const db = useWarehouse(engine, craftedRecords(events));

  it('gives per endpoint latency percentiles, error rate and requests per second', async () => {
    const { endpoints } = await performanceReport(db.warehouse, range, db.dialect);
    expect(
      endpoints.map((e) => [e.endpoint, e.method, e.requests, e.errorRate, e.requestsPerSecond]),
    ).toEqual([
      ['/api/docs', 'GET', 10, 2 / 10, 10 / 600],
      ['/api/search', 'POST', 1, 0, 1 / 600],
    ]);
    const docs = endpoints[0]!;
    expect(docs.avgLatencyMs).toBe(55);
    // Continuous percentiles of 10 … 100: p95 at rank 9 · 0.95 = 8.55 → 90 + 0.55 · 10; p99 at 8.91 → 99.1.
    expect(docs.p95LatencyMs).toBeCloseTo(95.5, 9);
    expect(docs.p99LatencyMs).toBeCloseTo(99.1, 9);
    expect(endpoints[1]).toMatchObject({ avgLatencyMs: 7, p95LatencyMs: 7, p99LatencyMs: 7 });
  });

  it('gives the 75th percentile of each web vital per page and overall', async () => {
    const { webVitals } = await performanceReport(db.warehouse, range, db.dialect);
    // LCP of all pages: 500 1000 2000 3000 4000 → rank 4 · 0.75 = 3 → 3000. CLS 0.1 0.3 → 0.1 + 0.75 · 0.2.
    expect(webVitals.all.metrics.LCP).toEqual({ p75: 3000, samples: 5 });
    expect(webVitals.all.metrics.CLS.p75).toBeCloseTo(0.25, 12);
    expect(webVitals.all.metrics.INP).toEqual({ p75: 175, samples: 2 });
    expect(webVitals.all.metrics.FCP).toEqual({ p75: 800, samples: 1 });
    expect(webVitals.all.metrics.TTFB).toEqual(none);
    expect(webVitals.pages.map((p) => p.path)).toEqual(['/home', '/docs', null]);
    const [home, docs, unknown] = webVitals.pages;
    // /home LCP 1000 … 4000: rank 3 · 0.75 = 2.25 → 3000 + 0.25 · 1000.
    expect(home!.metrics.LCP).toEqual({ p75: 3250, samples: 4 });
    expect(home!.metrics.CLS.samples).toBe(2);
    expect(home!.metrics.INP).toEqual(none);
    expect(docs!.metrics).toEqual({
      FCP: none,
      LCP: { p75: 500, samples: 1 },
      INP: { p75: 175, samples: 2 },
      CLS: none,
      TTFB: none,
    });
    expect(unknown!.metrics.FCP).toEqual({ p75: 800, samples: 1 });
  });
});
