/**
 * The web vitals chunk: `web_vital` events for FCP, LCP, INP, CLS and TTFB as the `web-vitals` package reports
 * them (LCP, CLS and INP when the page is hidden, which the page-exit beacon then carries).
 */
import { type Metric, onCLS, onFCP, onINP, onLCP, onTTFB } from 'web-vitals';
import type { CaptureApi } from '../autocapture/options.ts';
import { cap } from '../context.ts';

export function startVitals(api: CaptureApi): () => void {
  let running = true;
  const report = (metric: Metric) => {
    if (!running) return;
    api.track('web_vital', {
      name: metric.name,
      value: Math.max(0, metric.value),
      rating: metric.rating,
      delta: metric.delta,
      id: cap(metric.id, 128),
      navigation_type: metric.navigationType,
      path: cap(location.pathname),
    });
  };
  for (const on of [onCLS, onFCP, onINP, onLCP, onTTFB]) on(report);
  // web-vitals cannot unsubscribe; stopping mutes it.
  return () => {
    running = false;
  };
}
