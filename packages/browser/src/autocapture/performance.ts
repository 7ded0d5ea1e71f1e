/**
 * `page_load_time` from Navigation Timing, and `time_to_interactive`. Browsers do not measure TTI; this is the
 * usual estimate from Long Tasks: the end of the last long task (or first contentful paint, or DOMContentLoaded,
 * whichever is later) once the main thread has been quiet for 5 s, or what it is when the page is hidden first.
 * Browsers without Long Tasks report the later of first contentful paint and DOMContentLoaded.
 */
import { cap } from '../context.ts';
import { type Cleanup, listen, ms } from './listen.ts';
import type { CaptureApi } from './options.ts';

const quietMs = 5000;

const navigationTiming = () =>
  performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;

export function capturePerformance(api: CaptureApi): Cleanup[] {
  const cleanups: Cleanup[] = [];
  const path = cap(location.pathname);
  let loadTimer: ReturnType<typeof setTimeout> | undefined;

  const reportLoad = () => {
    const timing = navigationTiming();
    if (!timing || timing.loadEventEnd <= 0) return;
    api.track('page_load_time', {
      duration_ms: ms(timing.loadEventEnd),
      path,
      navigation_type: timing.type,
      dom_content_loaded_ms: ms(timing.domContentLoadedEventEnd),
      ttfb_ms: ms(timing.responseStart),
    });
  };
  // loadEventEnd is set once the load handlers have run: look one task later.
  if (document.readyState === 'complete') loadTimer = setTimeout(reportLoad);
  else cleanups.push(listen(window, 'load', () => (loadTimer = setTimeout(reportLoad))));
  cleanups.push(() => clearTimeout(loadTimer));

  let lastLongTask = 0;
  let reported = false;
  let quietTimer: ReturnType<typeof setTimeout> | undefined;
  const reportInteractive = () => {
    if (reported) return;
    reported = true;
    const paint = performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? 0;
    const ready = navigationTiming()?.domContentLoadedEventEnd ?? 0;
    api.track('time_to_interactive', { duration_ms: ms(Math.max(lastLongTask, paint, ready)), path });
  };
  const waitForQuiet = () => {
    clearTimeout(quietTimer);
    quietTimer = setTimeout(reportInteractive, quietMs);
  };
  try {
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries())
        lastLongTask = Math.max(lastLongTask, entry.startTime + entry.duration);
      waitForQuiet();
    });
    observer.observe({ type: 'longtask', buffered: true });
    cleanups.push(() => observer.disconnect());
  } catch {}
  waitForQuiet();
  cleanups.push(
    () => clearTimeout(quietTimer),
    listen(document, 'visibilitychange', () => {
      if (document.visibilityState === 'hidden') reportInteractive();
    }),
  );
  return cleanups;
}
