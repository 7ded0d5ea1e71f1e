/**
 * Where the visitor goes: `page_view` on client-side route changes, `back_button`, `scroll_depth` per page view,
 * `tab_switch` and `link_click`.
 */
import { cap } from '../context.ts';
import { type Cleanup, ignored, listen, ms } from './listen.ts';
import type { AutocaptureOptions, CaptureApi } from './options.ts';

/** The part of the URL that names a route: path and query, and the hash for hash routers (`#/…`). */
const route = () =>
  location.pathname + location.search + (location.hash.startsWith('#/') ? location.hash : '');

const thresholds = [25, 50, 75, 100];

export function captureNavigation(
  api: CaptureApi,
  on: (kind: keyof AutocaptureOptions) => boolean,
): Cleanup[] {
  const cleanups: Cleanup[] = [];
  const nav = (globalThis as { navigation?: { currentEntry?: { index: number } } }).navigation;
  const historyIndex = () => nav?.currentEntry?.index ?? -1;
  let current = route();
  let path = location.pathname;
  let index = historyIndex();
  let reached = 0;

  const changed = () => {
    const next = route();
    path = location.pathname;
    index = historyIndex();
    if (next === current) return;
    current = next;
    reached = 0;
    if (on('pageViews')) api.page();
  };

  // pushState and replaceState fire no event: wrap them, and unwrap on stop unless someone wrapped them since.
  for (const method of ['pushState', 'replaceState'] as const) {
    const original = history[method];
    const wrapped = function (this: History, ...args: Parameters<History['pushState']>) {
      original.apply(this, args);
      changed();
    };
    history[method] = wrapped;
    cleanups.push(() => {
      if (history[method] === wrapped) history[method] = original;
    });
  }
  cleanups.push(
    listen(window, 'popstate', () => {
      const to = historyIndex();
      // Without the Navigation API a traversal's direction is unknown, and every popstate counts as back.
      if (on('backButton') && (to < 0 || to < index)) {
        api.track('back_button', { from_path: cap(path), to_path: cap(location.pathname) });
      }
      changed();
    }),
    listen(window, 'hashchange', changed),
  );

  if (on('scrollDepth')) {
    let pending = false;
    cleanups.push(
      listen(window, 'scroll', () => {
        if (pending) return;
        pending = true;
        requestAnimationFrame(() => {
          pending = false;
          const height = Math.max(document.documentElement.scrollHeight, document.body?.scrollHeight ?? 0);
          const depth = ((scrollY + innerHeight) / height) * 100;
          for (const threshold of thresholds) {
            if (threshold <= reached || depth < threshold - 0.5) continue;
            reached = threshold;
            api.track('scroll_depth', { depth_percent: threshold, path: cap(location.pathname) });
          }
        });
      }),
    );
  }

  if (on('tabSwitch')) {
    let hiddenAt = 0;
    cleanups.push(
      listen(document, 'visibilitychange', () => {
        if (document.visibilityState === 'hidden') {
          hiddenAt = performance.now();
          api.track('tab_switch', { visibility: 'hidden' });
        } else {
          api.track('tab_switch', {
            visibility: 'visible',
            ...(hiddenAt ? { hidden_duration_ms: ms(performance.now() - hiddenAt) } : {}),
          });
        }
      }),
    );
  }

  if (on('links')) {
    cleanups.push(
      listen<MouseEvent>(document, 'click', (event) => {
        const link = (event.target as Element | null)?.closest?.('a[href]') as HTMLAnchorElement | null;
        if (!link || ignored(link)) return;
        const href = link.href;
        const scheme = href.slice(0, href.indexOf(':') + 1).toLowerCase();
        const web = scheme === 'http:' || scheme === 'https:';
        const text = (link.textContent || '').replace(/\s+/g, ' ').trim();
        api.track('link_click', {
          // An address in a mailto: or tel: link is personal data: keep the scheme only.
          href: web ? cap(href) : scheme || cap(href),
          ...(link.id ? { link_id: cap(link.id, 256) } : {}),
          ...(text ? { text: cap(text, 256) } : {}),
          outbound: web && link.origin !== location.origin,
        });
      }),
    );
  }
  return cleanups;
}
