/**
 * Business events (reference §1.1 "Business Metrics Data", §2.5, the trial-to-paid funnel and onboarding journey
 * of §6.2 and §6.4). Subscription and payment events are billing records, kept to run the service
 * (`data_collection`); funnel, onboarding and adoption events are product analytics (`analytics`).
 * Revenue metrics (MRR, ARR, LTV, churn) are computed from these events, not sent.
 */
import Type from 'typebox';
import { defineEvent } from './definition.ts';
import { BillingInterval, Code, Count, Currency, DurationMs, EntityId } from './fields.ts';

/** A plan key as the project names its plans, e.g. `free`, `pro`, `enterprise`. */
const Plan = Code;
/** In the currency's major unit (29.99, not 2999). */
const Amount = Type.Number({ minimum: 0 });
const Feature = Code;

export const businessEvents = {
  trial_signup: defineEvent({
    category: 'business',
    group: 'funnel',
    description:
      'A person asked for a trial (first step of the trial-to-paid funnel); `trial_start` follows.',
    properties: Type.Object({
      plan: Type.Optional(Plan),
      /** Where the request came from, e.g. `pricing_page`, `in_app_banner`. */
      source: Type.Optional(Code),
    }),
    purposes: ['analytics'],
  }),
  trial_start: defineEvent({
    category: 'business',
    group: 'subscription',
    description: 'A trial period began for the account.',
    properties: Type.Object({
      plan: Plan,
      trial_days: Type.Optional(Type.Integer({ minimum: 1 })),
    }),
    purposes: ['data_collection'],
  }),
  trial_end: defineEvent({
    category: 'business',
    group: 'subscription',
    description: 'A trial period ended, converted to a subscription or not.',
    properties: Type.Object({
      plan: Plan,
      outcome: Type.Enum(['converted', 'expired', 'cancelled']),
    }),
    purposes: ['data_collection'],
  }),
  subscription_complete: defineEvent({
    category: 'business',
    group: 'subscription',
    description: 'A checkout finished and a paid subscription began (last step of the trial-to-paid funnel).',
    properties: Type.Object({
      plan: Plan,
      interval: BillingInterval,
      amount: Amount,
      currency: Currency,
      subscription_id: Type.Optional(EntityId),
      from_trial: Type.Optional(Type.Boolean()),
    }),
    purposes: ['data_collection'],
  }),
  subscription_upgrade: defineEvent({
    category: 'business',
    group: 'subscription',
    description: 'A subscription moved to a higher plan.',
    properties: Type.Object({
      from_plan: Plan,
      to_plan: Plan,
      interval: Type.Optional(BillingInterval),
      /** Change of monthly recurring revenue, in `currency`; positive for an upgrade. */
      mrr_change: Type.Optional(Type.Number()),
      currency: Type.Optional(Currency),
      subscription_id: Type.Optional(EntityId),
    }),
    purposes: ['data_collection'],
  }),
  subscription_downgrade: defineEvent({
    category: 'business',
    group: 'subscription',
    description: 'A subscription moved to a lower plan.',
    properties: Type.Object({
      from_plan: Plan,
      to_plan: Plan,
      interval: Type.Optional(BillingInterval),
      /** Change of monthly recurring revenue, in `currency`; negative for a downgrade. */
      mrr_change: Type.Optional(Type.Number()),
      currency: Type.Optional(Currency),
      subscription_id: Type.Optional(EntityId),
    }),
    purposes: ['data_collection'],
  }),
  subscription_cancel: defineEvent({
    category: 'business',
    group: 'subscription',
    description: 'A subscription was cancelled (now, or at the end of the paid period).',
    properties: Type.Object({
      plan: Plan,
      /** A reason code from the cancel form, e.g. `too_expensive`; never free text. */
      reason: Type.Optional(Code),
      at_period_end: Type.Optional(Type.Boolean()),
      subscription_id: Type.Optional(EntityId),
    }),
    purposes: ['data_collection'],
  }),
  payment: defineEvent({
    category: 'business',
    group: 'subscription',
    description: 'A charge for a subscription was attempted; only `succeeded` ones count as revenue.',
    properties: Type.Object({
      amount: Amount,
      currency: Currency,
      plan: Plan,
      interval: BillingInterval,
      status: Type.Enum(['succeeded', 'failed', 'refunded']),
      payment_id: Type.Optional(EntityId),
      payment_method: Type.Optional(Type.Enum(['card', 'paypal', 'bank_transfer', 'invoice', 'other'])),
      /** ISO 3166-1 alpha-2. */
      billing_country: Type.Optional(Type.String({ pattern: '^[A-Z]{2}$' })),
    }),
    purposes: ['data_collection'],
  }),
  payment_page_view: defineEvent({
    category: 'business',
    group: 'funnel',
    description: 'The pricing or checkout page was shown (a step of the trial-to-paid funnel).',
    properties: Type.Object({
      plan: Type.Optional(Plan),
      interval: Type.Optional(BillingInterval),
      source: Type.Optional(Code),
    }),
    purposes: ['analytics'],
  }),
  feature_exploration: defineEvent({
    category: 'business',
    group: 'funnel',
    description: 'A person opened a feature for the first time (a step of the trial-to-paid funnel).',
    properties: Type.Object({
      feature: Feature,
    }),
    purposes: ['analytics'],
  }),
  first_ai_interaction: defineEvent({
    category: 'business',
    group: 'funnel',
    description: "The account's first AI prompt (a step of the trial-to-paid funnel); sent once per user.",
    properties: Type.Object({
      model_used: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
      feature: Type.Optional(Feature),
    }),
    purposes: ['analytics'],
  }),
  reference_created: defineEvent({
    category: 'business',
    group: 'content',
    description: "A reference (the product's core content) was created.",
    properties: Type.Object({
      reference_id: EntityId,
      reference_type: Type.Optional(Code),
      ai_assisted: Type.Optional(Type.Boolean()),
    }),
    purposes: ['analytics'],
  }),
  reference_shared: defineEvent({
    category: 'business',
    group: 'content',
    description: 'A reference was shared. Recipients are counted, never named.',
    properties: Type.Object({
      reference_id: EntityId,
      channel: Type.Enum(['link', 'email', 'download', 'integration']),
      recipient_count: Type.Optional(Count),
    }),
    purposes: ['analytics'],
  }),

  signup: defineEvent({
    category: 'business',
    group: 'onboarding',
    description: 'An account was created (first step of the onboarding journey; defines the signup cohort).',
    properties: Type.Object({
      method: Type.Enum(['email', 'google', 'github', 'microsoft', 'apple', 'sso']),
      plan: Type.Optional(Plan),
      /** §2.5 `acquisition_channel`, e.g. `organic`, `paid_search`, `referral`. */
      acquisition_channel: Type.Optional(Code),
    }),
    purposes: ['analytics'],
  }),
  email_verify: defineEvent({
    category: 'business',
    group: 'onboarding',
    description: "The account's email address was verified. The address itself is never sent.",
    properties: Type.Object({
      since_signup_ms: Type.Optional(DurationMs),
    }),
    purposes: ['analytics'],
  }),
  first_login: defineEvent({
    category: 'business',
    group: 'onboarding',
    description: "The account's first login (the security record is the `login` event sent with it).",
    properties: Type.Object({
      since_signup_ms: Type.Optional(DurationMs),
    }),
    purposes: ['analytics'],
  }),
  tutorial: defineEvent({
    category: 'business',
    group: 'onboarding',
    description: 'Progress through an onboarding tutorial.',
    properties: Type.Object({
      tutorial_id: Code,
      status: Type.Enum(['started', 'step_completed', 'completed', 'skipped']),
      step: Type.Optional(Type.Integer({ minimum: 1 })),
      total_steps: Type.Optional(Type.Integer({ minimum: 1 })),
    }),
    purposes: ['analytics'],
  }),
  first_action: defineEvent({
    category: 'business',
    group: 'onboarding',
    description: "The account's first meaningful action (last step of the onboarding journey).",
    properties: Type.Object({
      /** The registered event that counted as the action, e.g. `reference_created`. */
      action: Code,
      since_signup_ms: Type.Optional(DurationMs),
    }),
    purposes: ['analytics'],
  }),
  feature_used: defineEvent({
    category: 'business',
    group: 'usage',
    description: 'A feature was used (feature adoption, usage frequency and retention).',
    properties: Type.Object({
      feature: Feature,
      first_use: Type.Optional(Type.Boolean()),
    }),
    purposes: ['analytics'],
  }),
};
