/**
 * One user's day: when they come (local working hours, fewer at weekends, by engagement), what each session
 * holds, the billing system's work for their account, and the rare attack on it. Yields one session (or one
 * stretch of server events) at a time, so what is held in memory is one session, never a day or a user.
 */
import {
  assistant,
  changePlan,
  documents,
  help,
  login,
  profile,
  references,
  runBilling,
  search,
  signupJourney,
  team,
  templates,
  trialPayment,
} from './activities.ts';
import { scriptUserAgents, utcOffsetMinutes } from './devices.ts';
import { type Page, pages } from './product.ts';
import type { Random } from './random.ts';
import { type DemoContext, type DemoEvent, Session, serverLibrary, Timeline } from './session.ts';
import { DAY_MS, type DemoUser, type Engagement, type UserState, type Window } from './users.ts';

const MINUTE = 60_000;
const HOUR = 3_600_000;

interface Rhythm {
  /** Chance of coming at all on a working day and on a weekend day. */
  readonly weekday: number;
  readonly weekend: number;
  /** Mean number of further sessions on a day the user comes. */
  readonly extra: number;
  /** Activities per session, fewest and most. */
  readonly activities: readonly [number, number];
}

export const rhythms: Record<Engagement, Rhythm> = {
  power: { weekday: 0.9, weekend: 0.45, extra: 1.3, activities: [4, 9] },
  casual: { weekday: 0.5, weekend: 0.18, extra: 0.3, activities: [2, 5] },
  dormant: { weekday: 0.13, weekend: 0.05, extra: 0, activities: [1, 3] },
};

export function sessionsPerWeek(engagement: Engagement): number {
  const r = rhythms[engagement];
  return (5 * r.weekday + 2 * r.weekend) * (1 + r.extra);
}

/** Relative activity by local hour of day: working hours, a dip at lunch, a quieter evening. */
const hourWeights = [
  0.05, 0.03, 0.02, 0.02, 0.03, 0.08, 0.2, 0.45, 0.8, 1, 1, 0.95, 0.8, 0.9, 1, 1, 0.95, 0.8, 0.6, 0.55, 0.5,
  0.4, 0.25, 0.1,
];

/** Monthly chances of a plan change, spread evenly over the days. */
const monthly = (p: number) => p / 30;

function samplePlanChange(state: UserState, rng: Random): UserState['planChange'] {
  const sub = state.subscription;
  if (state.account === 'free') return !state.hadTrial && rng.chance(monthly(0.02)) ? 'subscribe' : undefined;
  if (!sub || sub.endsAt !== undefined || sub.retryAt !== undefined) return undefined;
  const r = rng.next();
  if (sub.plan === 'pro') {
    const cancel = monthly(sub.interval === 'monthly' ? 0.05 : 0.015);
    if (r < cancel) return 'cancel';
    if (r < cancel + monthly(0.01)) return 'upgrade';
  } else {
    const cancel = monthly(0.015);
    if (r < cancel) return 'cancel';
    if (r < cancel + monthly(0.008)) return 'downgrade';
  }
  return undefined;
}

/** A start time in [from, to), favouring the user's local working hours. */
function sessionStart(rng: Random, from: number, to: number, offsetMs: number): number {
  let at = from;
  for (let attempt = 0; attempt < 24; attempt++) {
    at = from + Math.floor(rng.next() * (to - from));
    const localHour = Math.floor(((((at + offsetMs) % DAY_MS) + DAY_MS) % DAY_MS) / HOUR);
    if (rng.next() < hourWeights[localHour]!) break;
  }
  return at;
}

/** Whether the trial's pricing-page step is still to come for this user by `at`. */
function trialPaymentDue(user: DemoUser, state: UserState, at: number): boolean {
  return (
    user.trialReach >= 4 && state.account === 'trial' && !state.sawPaymentPage && user.trialPaymentAt <= at
  );
}

export function* userDay(
  user: DemoUser,
  state: UserState,
  rng: Random,
  day: Window,
  windowEnd: number,
): Generator<DemoEvent[]> {
  if (user.signupAt >= day.end) return;
  const offsetMs = utcOffsetMinutes(user.place.timeZone, day.start + DAY_MS / 2) * MINUTE;
  const weekday = new Date(day.start + DAY_MS / 2 + offsetMs).getUTCDay();
  const weekend = weekday === 0 || weekday === 6;

  const starts: { at: number; signup: boolean }[] = [];
  if (user.isNew && user.signupAt >= day.start) starts.push({ at: user.signupAt, signup: true });
  const activeFrom = Math.max(day.start, user.isNew ? user.signupAt + 30 * MINUTE : day.start);
  if (!state.gone && activeFrom < day.end) {
    const rhythm = rhythms[user.engagement];
    let sessions = rng.chance(weekend ? rhythm.weekend : rhythm.weekday) ? 1 + rng.poisson(rhythm.extra) : 0;
    state.planChange ??= user.isNew && state.sessions === 0 ? undefined : samplePlanChange(state, rng);
    if (state.planChange && sessions === 0) sessions = 1;
    for (let i = 0; i < sessions; i++) {
      starts.push({ at: sessionStart(rng, activeFrom, day.end, offsetMs), signup: false });
    }
    // The trial's payment step happens on its day whether or not the user would have come.
    const paymentAt = Math.max(user.trialPaymentAt, activeFrom);
    if (paymentAt < day.end && trialPaymentDue(user, state, day.end)) {
      if (!starts.some((s) => !s.signup && s.at >= user.trialPaymentAt))
        starts.push({ at: paymentAt, signup: false });
    }
    starts.sort((a, b) => a.at - b.at);
  }

  for (const entry of starts) {
    const at = entry.signup ? entry.at : Math.max(entry.at, state.lastActiveAt + 5 * MINUTE);
    if (at >= day.end) break;
    const billing = new Timeline(rng);
    runBilling(billing, user, state, at, (p) => rng.chance(p));
    if (billing.events.length > 0) yield billing.events;
    const session = entry.signup ? signupSession(user, state, rng, at) : regularSession(user, state, rng, at);
    state.lastActiveAt = session.t;
    state.sessions++;
    const events = session.until(windowEnd);
    if (events.length > 0) yield events;
    if (state.gone) break;
  }

  const billing = new Timeline(rng);
  runBilling(billing, user, state, Math.min(day.end - 1, windowEnd), (p) => rng.chance(p));
  if (billing.events.length > 0) yield billing.events;

  if (!user.isNew || user.signupAt < day.start) {
    if (rng.chance(0.0015)) yield bruteForce(user, rng, day, windowEnd);
    if (rng.chance(0.0008)) yield injectionAttempt(rng, day, windowEnd);
  }
}

function signupSession(user: DemoUser, state: UserState, rng: Random, at: number): Session {
  const s = new Session(user, state, rng, at, { identified: false, referrer: user.acquisition[1] });
  signupJourney(s);
  return s;
}

function regularSession(user: DemoUser, state: UserState, rng: Random, at: number): Session {
  const s = new Session(user, state, rng, at);
  const rhythm = rhythms[user.engagement];
  // "Remember me" lasts a week; now and then people sign out or switch browsers.
  const needsLogin = at - state.lastLoginAt > 7 * DAY_MS || rng.chance(0.12);
  const entry = rng.weighted<Page>([
    [pages.dashboard, 70],
    [pages.documents, 15],
    [pages.assistant, 15],
  ]);
  s.track('session_start', { landing_path: needsLogin ? pages.login.path : entry.path }, 10);
  if (needsLogin) {
    login(s);
    s.visit(pages.dashboard, { fullLoad: false });
  } else {
    s.visit(entry, { fullLoad: true });
  }
  s.api('me');
  s.identify();
  if (trialPaymentDue(user, state, s.t)) trialPayment(s);
  if (state.planChange) changePlan(s);

  let prompts = rng.poisson(user.promptsPerWeek / sessionsPerWeek(user.engagement));
  const newcomer = user.isNew && state.explored === 0;
  for (let n = rng.int(rhythm.activities[0], rhythm.activities[1]); n > 0; n--) {
    const activity = rng.weighted<string>([
      ['assistant', prompts > 0 ? 30 : 0],
      ['documents', 35],
      ['references', 20],
      ['search', 15],
      ['templates', newcomer ? 10 : 3],
      ['team', state.account === 'free' ? 1 : 3],
      ['profile', 1.5],
      ['help', 2],
    ]);
    switch (activity) {
      case 'assistant': {
        const count = Math.min(prompts, 1 + rng.poisson(3));
        assistant(s, count);
        prompts -= count;
        break;
      }
      case 'documents':
        prompts -= documents(s, prompts);
        break;
      case 'references':
        references(s);
        break;
      case 'search':
        search(s);
        break;
      case 'templates':
        templates(s);
        break;
      case 'team':
        team(s);
        break;
      case 'profile':
        profile(s);
        break;
      default:
        help(s);
    }
    s.maybeScriptError();
    if (rng.chance(0.08)) s.tabAway();
    s.pause(20_000);
  }
  if (prompts > 0) assistant(s, Math.min(prompts, 60));
  const ending = rng.weighted<'logout' | 'closed' | 'timeout'>([
    ['logout', 8],
    ['closed', 60],
    ['timeout', 32],
  ]);
  if (ending === 'logout') {
    s.api('logout');
    s.serverNow('logout', { reason: 'user' });
  }
  s.end(ending);
  return s;
}

const attackerContext = (rng: Random): DemoContext => ({
  userAgent: rng.pick(scriptUserAgents),
  // TEST-NET-3 (RFC 5737): documentation addresses, never a real host.
  ip: `203.0.113.${rng.int(1, 254)}`,
  library: serverLibrary,
});

/** Password guessing against one account, until the rate limiter blocks the address. */
function bruteForce(user: DemoUser, rng: Random, day: Window, windowEnd: number): DemoEvent[] {
  const timeline = new Timeline(rng);
  const context = attackerContext(rng);
  const attempts = rng.int(8, 30);
  let t = day.start + Math.floor(rng.next() * (day.end - day.start));
  for (let i = 0; i < attempts; i++) {
    t += rng.int(300, 4000);
    timeline.server(
      user,
      'login',
      {
        method: 'password',
        success: false,
        failure_reason: 'invalid_credentials',
        risk_score: Math.round((0.7 + (0.29 * i) / attempts) * 1000) / 1000,
      },
      t,
      context,
    );
  }
  timeline.server(
    user,
    'threat_detected',
    {
      threat_type: 'brute_force',
      severity: attempts > 20 ? 'high' : 'medium',
      blocked: true,
      mitigation_action: 'ip_blocked',
      detector: 'auth_rate_limit',
      endpoint: '/api/auth/login',
    },
    t + 50,
    context,
  );
  return timeline.until(windowEnd);
}

/** A probe of the search API caught by the firewall; the attacker has no account, only a browser id. */
function injectionAttempt(rng: Random, day: Window, windowEnd: number): DemoEvent[] {
  const timeline = new Timeline(rng);
  const at = day.start + Math.floor(rng.next() * (day.end - day.start));
  const sql = rng.chance(0.6);
  timeline.add(
    'threat_detected',
    {
      threat_type: sql ? 'sql_injection' : 'xss',
      severity: sql ? 'high' : 'medium',
      blocked: true,
      mitigation_action: 'request_rejected',
      detector: 'waf',
      rule_id: sql ? 'sqli-942100' : 'xss-941100',
      endpoint: '/api/search',
    },
    at,
    { anonymousId: rng.uuid() },
    attackerContext(rng),
  );
  return timeline.until(windowEnd);
}
