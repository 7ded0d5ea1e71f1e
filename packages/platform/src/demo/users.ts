/**
 * The demo's users: who they are (a profile drawn once from the seed) and where their account stands (a small
 * state the days move forward: plan, subscription, trial, what they have tried). Both are O(1) per user, so
 * 10 000 users cost a few megabytes whatever the number of days.
 */
import { type Device, devices, type Place, places } from './devices.ts';
import { acquisitionChannels, type Interval, type PaidPlan } from './product.ts';
import { Random } from './random.ts';

export type AccountType = 'free' | 'trial' | 'pro' | 'enterprise';

/** The reference's behaviour cohorts (§6.2): AI interactions per week above 100, 10 to 100, below 10. */
export type Engagement = 'power' | 'casual' | 'dormant';

export const DAY_MS = 86_400_000;
export const TRIAL_DAYS = 14;

/** The onboarding journey of reference §6.4 and the share of people who take each next step. */
export const onboardingSteps = ['signup', 'email_verify', 'first_login', 'tutorial', 'first_action'] as const;
const onboardingContinue = [0.9, 0.95, 0.85, 0.9];

/**
 * The trial-to-paid funnel of reference §6.2. With onboarding completed by about 65 % of trials, these give
 * about 35 % of trial signups on the payment page and 15 % subscribed.
 */
export const trialFunnelSteps = [
  'trial_signup',
  'first_ai_interaction',
  'feature_exploration',
  'payment_page_view',
  'subscription_complete',
] as const;
const trialContinue = [0.92, 0.9, 0.65, 0.43];

export type LoginMethod = 'password' | 'oauth' | 'sso';
export type SignupMethod = 'email' | 'google' | 'github' | 'microsoft' | 'apple';

export interface DemoUser {
  readonly index: number;
  readonly userId: string;
  /** The browser's id for the person before and after they sign in. */
  readonly anonymousId: string;
  readonly device: Device;
  readonly place: Place;
  readonly engagement: Engagement;
  /** Prompts the user aims for in a full week. */
  readonly promptsPerWeek: number;
  readonly mfa: boolean;
  readonly loginMethod: LoginMethod;
  readonly signupAt: number;
  /** Signed up inside the window, so the signup and onboarding events are part of the demo. */
  readonly isNew: boolean;
  readonly signupMethod: SignupMethod;
  readonly acquisition: (typeof acquisitionChannels)[number];
  /** How many onboarding steps a new user takes (1 to 5); who stops short never comes back. */
  readonly onboardingReach: number;
  /** How many trial funnel steps a new user takes (0: no trial, 1 to 5). */
  readonly trialReach: number;
  /** When a trial user who gets that far opens the pricing page. */
  readonly trialPaymentAt: number;
}

export interface Subscription {
  readonly id: string;
  plan: PaidPlan;
  interval: Interval;
  /** The next charge. */
  renewsAt: number;
  /** Set once cancelled at the period end: the plan stops here and no charge follows. */
  endsAt: number | undefined;
  /** A failed charge is tried again here. */
  retryAt: number | undefined;
  readonly paymentMethod: 'card' | 'paypal' | 'invoice';
}

export type PlanChange = 'subscribe' | 'upgrade' | 'downgrade' | 'cancel';

export interface UserState {
  account: AccountType;
  subscription: Subscription | undefined;
  trialEndsAt: number | undefined;
  /** Left during onboarding; only the trial's expiry is still recorded. */
  gone: boolean;
  /** End of the user's last session, so sessions of one person never overlap. */
  lastActiveAt: number;
  /** When the user last signed in (sessions after a long gap start with a login). */
  lastLoginAt: number;
  prompted: boolean;
  /** Bit i set: `features[i]` has been opened. */
  explored: number;
  /** Ids of the user's recent documents (at most a handful). */
  documents: string[];
  /** A plan change decided for today, carried out in the day's first session. */
  planChange: PlanChange | undefined;
  /** Has opened the pricing page during the trial (the funnel's fourth step). */
  sawPaymentPage: boolean;
  /** Had a trial: not offered the in-app upgrade banner afterwards, so the trial funnel stays clean. */
  hadTrial: boolean;
  sessions: number;
}

export interface Window {
  readonly start: number;
  readonly end: number;
}

const USER_STREAM = 0x75736572; // "user"

function stepsReached(rng: Random, continueRates: readonly number[]): number {
  let reached = 1;
  for (const rate of continueRates) {
    if (!rng.chance(rate)) break;
    reached++;
  }
  return reached;
}

/** Draws user `index` of the demo with `seed`; the same arguments always give the same user. */
export function createUser(
  seed: number,
  index: number,
  window: Window,
): { user: DemoUser; state: UserState } {
  const rng = new Random(seed, USER_STREAM, index);
  const userId = `usr_${rng.token(12)}`;
  const anonymousId = rng.uuid();
  const device = rng.weighted(devices);
  const place = rng.weighted(places);
  // A third of the users join during the window (at least half an hour before its end), so that the
  // onboarding and trial funnels have people in them; the others joined up to two years earlier.
  const span = window.end - window.start;
  const isNew = rng.chance(0.3) && span > 3_600_000;
  const signupAt = isNew
    ? window.start + Math.floor(rng.next() * (span - 1_800_000))
    : window.start - Math.floor(rng.float(TRIAL_DAYS + 1, 730) * DAY_MS);

  const trial = isNew && rng.chance(0.6);
  const onboardingReach = isNew ? stepsReached(rng, onboardingContinue) : onboardingSteps.length;
  const trialReach = !trial
    ? 0
    : onboardingReach < onboardingSteps.length
      ? 1
      : stepsReached(rng, trialContinue);
  const trialPaymentAt = signupAt + Math.floor(rng.float(2, TRIAL_DAYS - 1) * DAY_MS);

  const account: AccountType = isNew
    ? trial
      ? 'trial'
      : 'free'
    : rng.weighted<AccountType>([
        ['free', 56],
        ['pro', 33],
        ['enterprise', 11],
      ]);

  let engagement = rng.weighted<Engagement>(
    account === 'free'
      ? [
          ['power', 5],
          ['casual', 42],
          ['dormant', 53],
        ]
      : account === 'trial'
        ? [
            ['power', 12],
            ['casual', 58],
            ['dormant', 30],
          ]
        : [
            ['power', 22],
            ['casual', 60],
            ['dormant', 18],
          ],
  );
  if (trialReach === 1) engagement = 'dormant';
  const promptsPerWeek =
    trialReach === 1
      ? 0
      : engagement === 'power'
        ? rng.float(125, 240)
        : engagement === 'casual'
          ? rng.float(14, 75)
          : rng.chance(0.35)
            ? 0
            : rng.float(1, 7);

  const mfa = rng.chance(account === 'enterprise' ? 0.8 : account === 'pro' ? 0.35 : 0.15);
  const loginMethod: LoginMethod =
    account === 'enterprise' && rng.chance(0.7) ? 'sso' : rng.chance(0.35) ? 'oauth' : 'password';
  const signupMethod = rng.weighted<SignupMethod>([
    ['email', 55],
    ['google', 30],
    ['github', 8],
    ['microsoft', 5],
    ['apple', 2],
  ]);
  const acquisition = rng.weighted(acquisitionChannels.map((c) => [c, c[3]] as const));

  let subscription: Subscription | undefined;
  if (account === 'pro' || account === 'enterprise') {
    const interval: Interval = rng.chance(account === 'enterprise' ? 0.55 : 0.3) ? 'annual' : 'monthly';
    const periodDays = interval === 'annual' ? 365 : 30;
    subscription = {
      id: `sub_${rng.token(14)}`,
      plan: account,
      interval,
      renewsAt: window.start + Math.floor(rng.next() * periodDays * DAY_MS),
      endsAt: undefined,
      retryAt: undefined,
      paymentMethod:
        account === 'enterprise' && interval === 'annual' ? 'invoice' : rng.chance(0.85) ? 'card' : 'paypal',
    };
  }

  const documents: string[] = [];
  if (!isNew) for (let i = rng.int(1, 5); i > 0; i--) documents.push(`doc_${rng.token(10)}`);

  const user: DemoUser = {
    index,
    userId,
    anonymousId,
    device,
    place,
    engagement,
    promptsPerWeek,
    mfa,
    loginMethod,
    signupAt,
    isNew,
    signupMethod,
    acquisition,
    onboardingReach,
    trialReach,
    trialPaymentAt,
  };
  const state: UserState = {
    account,
    subscription,
    trialEndsAt: trial ? signupAt + TRIAL_DAYS * DAY_MS : undefined,
    gone: false,
    lastActiveAt: isNew ? signupAt : window.start - Math.floor(rng.float(0, 3) * DAY_MS),
    lastLoginAt: isNew ? signupAt : window.start - Math.floor(rng.float(0, 10) * DAY_MS),
    prompted: !isNew,
    explored: isNew ? 0 : 0xff,
    documents,
    planChange: undefined,
    sawPaymentPage: false,
    hadTrial: trial,
    sessions: 0,
  };
  return { user, state };
}
