/** The context every event carries (reference §1.3): the page, the browser, the screen and the library. */

/** Cuts a string to the collector's limit for the field, so that a long URL never makes an event invalid. */
export const cap = (value: string, max = 4096): string => (value.length > max ? value.slice(0, max) : value);

export interface Library {
  name: string;
  version: string;
}

/** The page's location as the `page_view` properties and `context.page` name it. */
export function pageFields(): { url: string; path: string; search: string; title: string } {
  return {
    url: cap(location.href),
    path: cap(location.pathname),
    search: cap(location.search),
    title: cap(document.title, 1024),
  };
}

export function eventContext(library: Library): Record<string, unknown> {
  let timezone: string | undefined;
  try {
    timezone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch {}
  return {
    page: { ...pageFields(), referrer: cap(document.referrer) },
    userAgent: cap(navigator.userAgent, 1024),
    screen: { width: screen.width, height: screen.height },
    viewport: { width: innerWidth, height: innerHeight },
    locale: navigator.language,
    timezone,
    library,
  };
}
