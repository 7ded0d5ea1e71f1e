/** What autocapture records, each switchable. Everything is on by default except `networkRequests`. */
export interface AutocaptureOptions {
  /** `page_view` at start and on every client-side route change (History API, hash routes). */
  pageViews?: boolean;
  /** `session_start` when a session begins, with the landing path and UTM parameters. */
  sessionStart?: boolean;
  /** `link_click` for links followed (mailto: and tel: links as the scheme alone). */
  links?: boolean;
  /** `form_submit`. */
  forms?: boolean;
  /** `field_focus`, `field_blur`, `field_change`: never the value, its length or any part of it. */
  fields?: boolean;
  /** `scroll_depth` at 25, 50, 75 and 100 % of each page view. */
  scrollDepth?: boolean;
  /** `tab_switch` when the tab is hidden or shown again. */
  tabSwitch?: boolean;
  /** `back_button` when the history goes back. */
  backButton?: boolean;
  /** `javascript_error` for uncaught errors and unhandled rejections. */
  errors?: boolean;
  /** `page_load_time` and `time_to_interactive`. */
  performance?: boolean;
  /** `web_vital` for FCP, LCP, INP, CLS and TTFB (the `web-vitals` package, loaded as its own chunk). */
  webVitals?: boolean;
  /** `network_request` for the page's fetch and XMLHttpRequest calls (URLs without query or fragment). Off by default. */
  networkRequests?: boolean;
}

/** What the autocapture chunks get from the core: they import nothing from it, so each chunk stands alone. */
export interface CaptureApi {
  track(eventName: string, properties: Record<string, unknown>): void;
  /** Records a `page_view` of the current location. */
  page(): void;
  /** The collector's events URL, which network capture must leave out. */
  eventsUrl: string;
}
