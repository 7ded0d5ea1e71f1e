/**
 * One browser session as the SDKs would report it: a clock that only moves forward, the page the person is on,
 * and the server's record (`api_latency`) of each API call the page makes. Activities (`activities.ts`) drive it.
 */
import type { EventProperties, RegisteredEventName } from '@deepref/schema';
import type { Size } from './devices.ts';
import { appOrigin, type Page, type RouteKey, routes, scriptErrors, siteOrigin } from './product.ts';
import type { Random } from './random.ts';
import type { DemoUser, UserState } from './users.ts';

export interface DemoContext {
  page?: { url: string; path: string; referrer: string; title: string; search?: string };
  userAgent?: string;
  screen?: Size;
  viewport?: Size;
  locale?: string;
  timezone?: string;
  /** A server SDK reports its end user's address here; the collector keeps it only as the IP policy says. */
  ip?: string;
  library: { name: string; version: string };
}

/** An event in the reference wrapper's format (`POST /api/telemetry/events`); `sentAt` is added when sent. */
export interface DemoEvent {
  eventId: string;
  /** Absent for a track call; `identify` carries `traits` (its name is `identify`). */
  type?: 'identify';
  eventName: RegisteredEventName | 'identify';
  timestamp: string;
  sentAt?: string;
  sessionId?: string;
  userId?: string;
  anonymousId?: string;
  properties: Record<string, unknown>;
  traits?: DemoTraits;
  context: DemoContext;
}

/** What the app's `identify` says of the signed-in person (reference §2.1 user_profile). */
export interface DemoTraits {
  account_type: UserState['account'];
  /** The account's creation, ISO 8601. */
  created_at: string;
}

export const browserLibrary = Object.freeze({ name: '@deepref/browser', version: '0.1.0' });
export const serverLibrary = Object.freeze({ name: '@deepref/node', version: '0.1.0' });
const serverContext: DemoContext = Object.freeze({ library: serverLibrary });

/** Events in time order, with their times kept as numbers so a stretch can be cut at the window's end. */
export class Timeline {
  readonly events: DemoEvent[] = [];
  protected readonly times: number[] = [];

  constructor(readonly rng: Random) {}

  add<N extends RegisteredEventName>(
    name: N,
    properties: EventProperties<N>,
    at: number,
    identity: { sessionId?: string; userId?: string; anonymousId?: string },
    context: DemoContext,
  ): void {
    // Every event has the same keys in the same order (absent ids are undefined, which JSON leaves out): one
    // object shape keeps generation fast.
    const event: DemoEvent = {
      eventId: this.rng.uuid(),
      eventName: name,
      timestamp: new Date(at).toISOString(),
      sessionId: identity.sessionId,
      userId: identity.userId,
      anonymousId: identity.anonymousId,
      properties: properties as Record<string, unknown>,
      context,
    };
    this.events.push(event);
    this.times.push(at);
  }

  /** The events at or before `end`: what has happened by `now` (a session still going has no `session_end`). */
  until(end: number): DemoEvent[] {
    if (this.times.every((t) => t <= end)) return this.events;
    return this.events.filter((_, i) => this.times[i]! <= end);
  }

  /** A server-side event about the user, outside any session (billing, security). */
  server<N extends RegisteredEventName>(
    user: DemoUser,
    name: N,
    properties: EventProperties<N>,
    at: number,
    context: DemoContext = serverContext,
  ): void {
    this.add(name, properties, at, { userId: user.userId }, context);
  }
}

interface CurrentPage {
  readonly page: Page;
  readonly url: string;
  readonly path: string;
  readonly context: DemoContext;
}

const successStatus = { GET: 200, POST: 201, PATCH: 200, DELETE: 204 } as const;

export class Session extends Timeline {
  readonly id: string;
  readonly start: number;
  /** The session's clock: the time of the last event. */
  t: number;
  /** Before signup, events carry only the browser's `anonymousId`. */
  identified: boolean;
  clientEvents = 0;
  pageViews = 0;
  private current: CurrentPage | undefined;
  private readonly entryReferrer: string;

  constructor(
    readonly user: DemoUser,
    readonly state: UserState,
    rng: Random,
    start: number,
    options: { identified?: boolean; referrer?: string } = {},
  ) {
    super(rng);
    this.id = rng.uuid();
    this.start = start;
    this.t = start;
    this.identified = options.identified ?? true;
    this.entryReferrer = options.referrer ?? '';
  }

  get path(): string {
    return this.current?.path ?? '';
  }

  /** Lets time pass: reading, typing, thinking. Log-normal around `medianMs`. */
  pause(medianMs: number, sigma = 0.7): void {
    this.t += Math.max(1, Math.round(this.rng.logNormal(medianMs, sigma)));
  }

  /** The browser SDK's `identify` a moment later: the user id with the account's current traits. */
  identify(): void {
    this.t += 1 + Math.round(this.rng.logNormal(50, 0.6));
    const { user, state } = this;
    this.events.push({
      eventId: this.rng.uuid(),
      type: 'identify',
      eventName: 'identify',
      timestamp: new Date(this.t).toISOString(),
      sessionId: this.id,
      userId: user.userId,
      anonymousId: user.anonymousId,
      properties: {},
      traits: { account_type: state.account, created_at: new Date(user.signupAt).toISOString() },
      context: this.current?.context ?? this.pageContext(undefined),
    });
    this.times.push(this.t);
    this.clientEvents++;
  }

  /** A browser event on the current page, a moment after the previous one. */
  track<N extends RegisteredEventName>(name: N, properties: EventProperties<N>, gapMs = 250): void {
    this.t += 1 + Math.round(this.rng.logNormal(gapMs, 0.6));
    const user = this.user;
    const identity = this.identified
      ? { sessionId: this.id, userId: user.userId, anonymousId: user.anonymousId }
      : { sessionId: this.id, anonymousId: user.anonymousId };
    this.add(name, properties, this.t, identity, this.current?.context ?? this.pageContext(undefined));
    this.clientEvents++;
  }

  /** A server event now, about this user (or, before signup, this browser). */
  serverNow<N extends RegisteredEventName>(name: N, properties: EventProperties<N>): void {
    if (this.identified) this.server(this.user, name, properties, this.t);
    else this.add(name, properties, this.t, { anonymousId: this.user.anonymousId }, serverContext);
  }

  /**
   * Shows a page. `fullLoad` is a document load (entry, reload): it brings the load timings and Web Vitals;
   * other visits are client-side route changes. `via: 'link'` records the click that led there.
   */
  visit(
    page: Page,
    options: {
      path?: string;
      title?: string;
      search?: string;
      via?: 'link' | 'back';
      fullLoad?: boolean;
    } = {},
  ): void {
    const path = options.path ?? page.path;
    const title = options.title ?? page.title;
    const origin = page.site ? siteOrigin : appOrigin;
    const url = `${origin}${path}${options.search ?? ''}`;
    const previous = this.current;
    if (previous && options.via === 'link') {
      this.track(
        'link_click',
        { href: url, text: title.split(' · ')[0]!.slice(0, 80), outbound: false },
        900,
      );
    } else if (previous && options.via === 'back') {
      this.track('back_button', { from_path: previous.path, to_path: path }, 900);
    }
    const referrer = previous?.url ?? this.entryReferrer;
    const pageInfo: NonNullable<DemoContext['page']> = { url, path, referrer, title };
    if (options.search) pageInfo.search = options.search;
    const context = this.pageContext(pageInfo);
    this.current = { page, url, path, context };
    this.pageViews++;
    const properties: EventProperties<'page_view'> = { path, url, title };
    if (referrer) properties.referrer = referrer;
    if (options.search) properties.search = options.search;
    this.track('page_view', properties, previous ? 400 : 50);
    if (options.fullLoad ?? !previous) this.loadTimings(path);
  }

  /**
   * One API call from the current page: the client waits for the answer, the server records `api_latency`.
   * Returns whether it succeeded; a server error is also seen by the client (`network_request`).
   */
  api(
    key: RouteKey,
    options: {
      failRate?: number;
      /** The answer when the call does not fail at random (a refused login is a 401, not an outage). */
      status?: number;
      durationMs?: number;
      requestBytes?: number;
      concretePath?: string;
    } = {},
  ): boolean {
    const route = routes[key];
    const rng = this.rng;
    let duration = options.durationMs ?? rng.logNormal(route.medianMs, 0.45);
    if (options.durationMs === undefined && rng.chance(0.02)) duration *= rng.float(3, 8);
    duration = Math.round(duration * 10) / 10;
    this.t += Math.ceil(duration) + 5;
    const failed = rng.chance(options.failRate ?? 0.006);
    const status = failed
      ? rng.weighted<number>([
          [500, 35],
          [502, 8],
          [503, 12],
          [504, 15],
          [400, 15],
          [404, 10],
          [429, 5],
        ])
      : (options.status ?? successStatus[route.method]);
    const properties: EventProperties<'api_latency'> = {
      endpoint: route.endpoint,
      method: route.method,
      status_code: status,
      duration_ms: duration,
      response_bytes: status >= 400 ? 180 : Math.round(rng.logNormal(route.responseBytes, 0.3)),
      service: 'api',
      request_id: `req_${rng.token(16)}`,
    };
    if (options.requestBytes !== undefined) properties.request_bytes = options.requestBytes;
    if (status >= 500) {
      properties.error_type =
        status === 504 ? 'TimeoutError' : status === 502 ? 'UpstreamError' : 'InternalError';
    }
    this.serverNow('api_latency', properties);
    if (status >= 500) {
      this.track(
        'network_request',
        {
          endpoint: options.concretePath ?? route.endpoint,
          method: route.method,
          duration_ms: Math.round(duration + rng.float(5, 60)),
          status_code: status,
        },
        5,
      );
    }
    return status < 400;
  }

  /** Now and then an uncaught error on the current page. */
  maybeScriptError(): void {
    if (!this.rng.chance(0.014)) return;
    const error = this.rng.pick(scriptErrors);
    const properties: EventProperties<'javascript_error'> = {
      message: error.message,
      error_type: error.type,
      source: error.source,
      line: error.line,
      column: error.column,
      user_agent: this.user.device.userAgent,
      handled: false,
    };
    if (error.stack) properties.stack = error.stack;
    this.track('javascript_error', properties, 1500);
  }

  /** Scrolls the current page down to some depth, reporting each quarter reached. */
  scroll(maxPercent = this.rng.pick([25, 50, 50, 75, 75, 100])): void {
    for (let depth = 25; depth <= maxPercent; depth += 25) {
      this.track('scroll_depth', { depth_percent: depth, path: this.path }, 3000);
    }
  }

  /** The tab goes to the background for a while and comes back. */
  tabAway(): void {
    this.track('tab_switch', { visibility: 'hidden' }, 2000);
    const hidden = Math.round(this.rng.logNormal(90_000, 1.2));
    this.t += hidden;
    this.track('tab_switch', { visibility: 'visible', hidden_duration_ms: hidden }, 10);
  }

  /** Focus, change and blur on each field, then the submit. Values are never part of form events. */
  fillForm(
    formId: string,
    fields: readonly (readonly [name: string, type: string])[],
    options: { invalid?: readonly [field: string, rule: string]; success?: boolean } = {},
  ): number {
    const startedAt = this.t;
    for (const [name, type] of fields) {
      this.track('field_focus', { form_id: formId, field_name: name, field_type: type }, 700);
      const focusedAt = this.t;
      this.track(
        'field_change',
        { form_id: formId, field_name: name, field_type: type, is_empty: false },
        2500,
      );
      this.pause(400);
      // A gap of 0 moves the clock by exactly 1 ms, so the duration is known before the event is made.
      const focusDuration = this.t + 1 - focusedAt;
      this.track(
        'field_blur',
        {
          form_id: formId,
          field_name: name,
          field_type: type,
          focus_duration_ms: focusDuration,
          changed: true,
        },
        0,
      );
    }
    let errors = 0;
    if (options.invalid) {
      const [field, rule] = options.invalid;
      const type = fields.find(([name]) => name === field)?.[1] ?? 'text';
      this.track('validation_error', { form_id: formId, field_name: field, field_type: type, rule }, 300);
      errors = 1;
      this.track('field_focus', { form_id: formId, field_name: field, field_type: type }, 1200);
      this.track(
        'field_change',
        { form_id: formId, field_name: field, field_type: type, is_empty: false },
        3000,
      );
      this.track('field_blur', { form_id: formId, field_name: field, field_type: type, changed: true }, 400);
    }
    this.track(
      'form_submit',
      {
        form_id: formId,
        success: options.success ?? true,
        field_count: fields.length,
        error_count: errors,
        duration_ms: this.t - startedAt,
      },
      600,
    );
    return this.t - startedAt;
  }

  /** Ends the session: by logout, by closing the tab, or silently, noticed after the inactivity timeout. */
  end(reason: 'logout' | 'timeout' | 'closed'): void {
    const lastActivity = this.t;
    if (reason === 'timeout') this.t += 30 * 60_000;
    this.track(
      'session_end',
      {
        duration_ms: lastActivity - this.start,
        reason,
        event_count: this.clientEvents + 1,
        page_view_count: this.pageViews,
      },
      reason === 'closed' ? 3000 : 50,
    );
  }

  private pageContext(page: DemoContext['page'] | undefined): DemoContext {
    const { user } = this;
    const context: DemoContext = {
      userAgent: user.device.userAgent,
      screen: user.device.screen,
      viewport: user.device.viewport,
      locale: user.place.locale,
      timezone: user.place.timeZone,
      library: browserLibrary,
    };
    return page ? { page, ...context } : context;
  }

  /** Navigation timing and Web Vitals of a document load; mobile devices are slower. */
  private loadTimings(path: string): void {
    const rng = this.rng;
    const slow = this.user.device.mobile ? 1.6 : 1;
    const ttfb = Math.round(rng.logNormal(180 * slow, 0.5));
    const fcp = Math.round(ttfb + rng.logNormal(700 * slow, 0.45));
    const lcp = Math.round(fcp + rng.logNormal(600 * slow, 0.6));
    const dcl = Math.round(fcp + rng.logNormal(250, 0.5));
    const load = Math.round(lcp + rng.logNormal(400 * slow, 0.5));
    const tti = Math.round(load + rng.logNormal(300 * slow, 0.6));
    const idPrefix = `v4-${this.t}-`;
    const vital = (
      name: 'TTFB' | 'FCP' | 'LCP' | 'CLS' | 'INP',
      value: number,
      good: number,
      poor: number,
    ) => {
      const rating = value <= good ? 'good' : value <= poor ? 'needs-improvement' : 'poor';
      this.track(
        'web_vital',
        {
          name,
          value,
          rating,
          delta: value,
          id: idPrefix + rng.token(13),
          navigation_type: 'navigate',
          path,
        },
        40,
      );
    };
    vital('TTFB', ttfb, 800, 1800);
    vital('FCP', fcp, 1800, 3000);
    this.track(
      'page_load_time',
      { duration_ms: load, path, navigation_type: 'navigate', dom_content_loaded_ms: dcl, ttfb_ms: ttfb },
      200,
    );
    vital('LCP', lcp, 2500, 4000);
    this.track('time_to_interactive', { duration_ms: tti, path }, 100);
    if (rng.chance(0.5)) vital('CLS', Math.round(rng.logNormal(0.04, 1) * 1000) / 1000, 0.1, 0.25);
    if (rng.chance(0.5)) vital('INP', Math.round(rng.logNormal(120 * slow, 0.6)), 200, 500);
  }
}
