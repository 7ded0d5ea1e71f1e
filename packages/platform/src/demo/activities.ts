/**
 * What people do in a session of the simulated app, one function per activity: sign up, sign in, ask the
 * assistant, work on documents, search, collect references, invite, and change their plan. Each one moves the
 * session's clock forward and the user's state along.
 */
import type { EventProperties } from '@deepref/schema';
import {
  cancelReasons,
  documentTitles,
  type Feature,
  features,
  type Interval,
  models,
  monthlyValue,
  type PaidPlan,
  pages,
  prices,
  promptTexts,
  searchQueries,
} from './product.ts';
import type { Session, Timeline } from './session.ts';
import { DAY_MS, type DemoUser, TRIAL_DAYS, type UserState } from './users.ts';

const MINUTE = 60_000;

// ---------------------------------------------------------------------------------------------------------------
// Arriving: signup and onboarding, signing in

/**
 * A new user's first session: the marketing site, the signup form, then the onboarding journey of reference
 * §6.4 up to the step this user reaches. Who stops short leaves for good.
 */
export function signupJourney(s: Session): void {
  const { user, state, rng } = s;
  const [channel, , utm] = user.acquisition;
  const search = utm
    ? `?utm_source=${utm.source}&utm_medium=${utm.medium}&utm_campaign=${utm.campaign}`
    : undefined;
  const start: EventProperties<'session_start'> = { landing_path: pages.home.path };
  if (utm)
    Object.assign(start, { utm_source: utm.source, utm_medium: utm.medium, utm_campaign: utm.campaign });
  s.track('session_start', start, 10);
  s.visit(pages.home, search ? { search, fullLoad: true } : { fullLoad: true });
  s.scroll();
  const sawPricing = rng.chance(0.5);
  if (sawPricing) {
    s.visit(pages.pricing, { via: 'link' });
    s.api('plans');
    s.scroll(rng.pick([50, 75, 100]));
  }
  s.visit(pages.signup, { via: 'link' });
  if (user.signupMethod === 'email') {
    s.fillForm(
      'signup',
      [
        ['name', 'text'],
        ['email', 'email'],
        ['password', 'password'],
      ],
      rng.chance(0.12) ? { invalid: ['password', 'min_length'] } : {},
    );
  } else {
    s.track('link_click', {
      href: oauthUrl(user.signupMethod),
      text: `Continue with ${user.signupMethod}`,
      outbound: true,
    });
    s.pause(6000);
  }
  s.api('signup', { failRate: 0 });
  s.identified = true;
  const trial = user.trialReach > 0;
  s.track('signup', {
    method: user.signupMethod,
    plan: trial ? 'pro' : 'free',
    acquisition_channel: channel,
  });
  s.identify();
  if (trial) {
    s.track('trial_signup', { plan: 'pro', source: sawPricing ? 'pricing_page' : 'signup_form' });
    s.serverNow('trial_start', { plan: 'pro', trial_days: TRIAL_DAYS });
  }
  s.visit(pages.verifyEmail);

  // Whoever does not take step n of the journey leaves here, for good.
  const takes = (step: number): boolean => {
    if (user.onboardingReach >= step) return true;
    state.gone = true;
    s.end('closed');
    return false;
  };
  if (!takes(2)) return;
  s.pause(4 * MINUTE, 1);
  s.visit(pages.verifyEmail, { search: '?status=verified', fullLoad: true });
  s.track('email_verify', { since_signup_ms: s.t - user.signupAt });
  if (!takes(3)) return;

  if (user.signupMethod === 'email') {
    s.visit(pages.login, { via: 'link' });
    s.fillForm('login', [
      ['email', 'email'],
      ['password', 'password'],
    ]);
  }
  s.api('login', { failRate: 0 });
  s.serverNow('login', {
    method: user.signupMethod === 'email' ? 'password' : 'oauth',
    success: true,
    mfa_used: false,
  });
  state.lastLoginAt = s.t;
  s.track('first_login', { since_signup_ms: s.t - user.signupAt });
  s.visit(pages.welcome);
  if (!takes(4)) return;

  const total = 5;
  s.track(
    'tutorial',
    { tutorial_id: 'getting_started', status: 'started', step: 1, total_steps: total },
    2000,
  );
  const skipAt = rng.chance(0.2) ? rng.int(2, total) : 0;
  for (let step = 1; step <= total; step++) {
    if (step === skipAt) {
      s.track(
        'tutorial',
        { tutorial_id: 'getting_started', status: 'skipped', step, total_steps: total },
        3000,
      );
      break;
    }
    s.track(
      'tutorial',
      { tutorial_id: 'getting_started', status: 'step_completed', step, total_steps: total },
      25_000,
    );
    if (step === total)
      s.track('tutorial', { tutorial_id: 'getting_started', status: 'completed', total_steps: total });
  }
  if (!takes(5)) return;

  if (rng.chance(0.6)) {
    s.visit(pages.newDocument, { via: 'link' });
    createDocument(s, 'template');
    s.track('first_action', { action: 'document_create', since_signup_ms: s.t - user.signupAt });
  } else {
    s.visit(pages.newReference, { via: 'link' });
    addReference(s);
    s.track('first_action', { action: 'reference_created', since_signup_ms: s.t - user.signupAt });
  }
  if (user.promptsPerWeek > 0 && rng.chance(0.5)) assistant(s, rng.int(1, 3));
  s.end(rng.chance(0.7) ? 'closed' : 'timeout');
}

function oauthUrl(method: string): string {
  switch (method) {
    case 'google':
      return 'https://accounts.google.com/o/oauth2/v2/auth';
    case 'github':
      return 'https://github.com/login/oauth/authorize';
    case 'microsoft':
      return 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize';
    default:
      return 'https://appleid.apple.com/auth/authorize';
  }
}

/** Signing in, with the occasional wrong password (and reset) and the second factor for those who have one. */
export function login(s: Session): void {
  const { user, state, rng } = s;
  s.visit(pages.login, { fullLoad: true });
  const method = user.loginMethod;
  if (method === 'password') {
    if (rng.chance(0.06)) {
      s.fillForm(
        'login',
        [
          ['email', 'email'],
          ['password', 'password'],
        ],
        { success: false },
      );
      s.api('login', { failRate: 0, status: 401 });
      s.serverNow('login', {
        method,
        success: false,
        failure_reason: 'invalid_credentials',
        risk_score: round(rng.float(0.2, 0.6), 3),
      });
      if (rng.chance(0.25)) {
        s.api('passwordReset', { failRate: 0 });
        s.serverNow('password_reset', { stage: 'requested', success: true });
        s.pause(3 * MINUTE, 0.8);
        s.serverNow('password_reset', { stage: 'completed', success: true });
      }
    }
    s.fillForm('login', [
      ['email', 'email'],
      ['password', 'password'],
    ]);
  } else {
    const href = method === 'sso' ? 'https://sso.university.example/saml2/idp' : oauthUrl('google');
    s.track('link_click', {
      href,
      text: method === 'sso' ? 'Sign in with SSO' : 'Continue with Google',
      outbound: true,
    });
    s.pause(5000);
  }
  s.api('login', { failRate: 0 });
  if (user.mfa && method !== 'sso') {
    const factor = rng.weighted<'totp' | 'webauthn' | 'push'>([
      ['totp', 60],
      ['webauthn', 25],
      ['push', 15],
    ]);
    if (rng.chance(0.04)) {
      s.pause(15_000);
      s.api('mfa', { failRate: 0, status: 401 });
      s.serverNow('mfa_challenge', { method: factor, success: false });
    }
    s.pause(12_000);
    s.api('mfa', { failRate: 0 });
    s.serverNow('mfa_challenge', {
      method: factor,
      success: true,
      risk_score: round(rng.float(0.01, 0.2), 3),
    });
  }
  s.serverNow('login', {
    method: method === 'oauth' ? 'oauth' : method,
    success: true,
    mfa_used: user.mfa && method !== 'sso',
    risk_score: round(rng.float(0.01, 0.25), 3),
  });
  state.lastLoginAt = s.t;
}

// ---------------------------------------------------------------------------------------------------------------
// Working: the assistant, documents, search, references, the team

/** A stretch with the assistant: `prompts` prompts in one conversation. */
export function assistant(s: Session, prompts: number): void {
  s.visit(pages.assistant, { via: 'link' });
  s.track('feature_used', { feature: 'ai_assistant' });
  const conversationId = `conv_${s.rng.token(12)}`;
  for (let i = 0; i < prompts; i++) {
    s.pause(i === 0 ? 8000 : 25_000, 0.8);
    prompt(s, 'chat', conversationId);
  }
}

/** One prompt and its answer, with what may follow: feedback, a regeneration, an edit of the answer. */
export function prompt(s: Session, where: 'chat' | 'editor', conversationId?: string): void {
  const { rng, state } = s;
  const model = rng.weighted(models);
  const promptId = rng.uuid();
  const text = rng.pick(promptTexts);
  const withText = rng.chance(0.5);
  const submission: EventProperties<'prompt_submission'> = {
    prompt_id: promptId,
    model_used: model.name,
    prompt_length: withText ? text.length : text.length + rng.int(0, 600),
    context: where,
    language: 'en',
    prompt_complexity: round(rng.float(0.1, 0.9), 2),
  };
  if (withText) submission.prompt_text = text;
  if (conversationId) submission.conversation_id = conversationId;
  s.track('prompt_submission', submission, 1500);
  if (!state.prompted) {
    state.prompted = true;
    s.track(
      'first_ai_interaction',
      { model_used: model.name, feature: where === 'chat' ? 'ai_assistant' : 'ai_editor' },
      5,
    );
  }

  const answer = (attempt: number) => {
    const failed = rng.chance(0.015);
    const promptTokens = Math.round(submission.prompt_length / 4 + rng.logNormal(700, 0.5));
    const completionTokens = failed ? 0 : Math.max(5, Math.round(rng.logNormal(380, 0.6)));
    const firstToken = Math.round(rng.logNormal(model.firstTokenMs, 0.4));
    const generation = failed
      ? Math.round(rng.float(10_000, 30_000))
      : Math.round(firstToken + (completionTokens / model.tokensPerSecond) * 1000 * rng.logNormal(1, 0.2));
    s.api('completion', {
      durationMs: generation + Math.round(rng.float(15, 60)),
      failRate: 0,
      status: failed ? 504 : 200,
      requestBytes: submission.prompt_length + 300,
    });
    const responseId = rng.uuid();
    const response: EventProperties<'response_received'> = {
      prompt_id: promptId,
      response_id: responseId,
      model_used: model.name,
      success: !failed,
      generation_time_ms: generation,
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
    };
    if (failed) response.error_type = 'timeout';
    else {
      response.time_to_first_token_ms = firstToken;
      response.confidence_score = round(rng.float(0.55, 0.98), 3);
      response.finish_reason = rng.chance(0.04) ? 'length' : 'stop';
    }
    if (attempt > 1) s.pause(500);
    s.track('response_received', response, 5);
    return { responseId, failed };
  };

  let { responseId, failed } = answer(1);
  s.pause(12_000, 0.8);
  if (failed || rng.chance(0.06)) {
    s.track('response_regenerated', {
      prompt_id: promptId,
      response_id: responseId,
      model_used: model.name,
      attempt: 2,
    });
    ({ responseId, failed } = answer(2));
    s.pause(10_000, 0.8);
  }
  if (failed) return;
  if (rng.chance(0.22)) {
    const rating = rng.weighted<number>([
      [5, 40],
      [4, 30],
      [3, 12],
      [2, 8],
      [1, 10],
    ]);
    const feedback: EventProperties<'ai_feedback'> = { response_id: responseId, prompt_id: promptId, rating };
    if (rating <= 2 && rng.chance(0.3)) feedback.correction = true;
    if (rng.chance(0.005)) feedback.flag_inappropriate = true;
    s.track('ai_feedback', feedback, 2000);
    s.api('feedback');
  }
  if (rng.chance(0.1)) {
    s.track(
      'response_edited',
      {
        response_id: responseId,
        prompt_id: promptId,
        chars_added: rng.int(5, 300),
        chars_removed: rng.int(0, 200),
      },
      20_000,
    );
  }
}

function documentTitle(id: string): string {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return documentTitles[h % documentTitles.length]!;
}

/** Creates a document on the current page (the new-document page or the templates). */
export function createDocument(s: Session, source: 'blank' | 'template' | 'import' | 'ai'): string {
  const { rng, state } = s;
  const id = `doc_${rng.token(10)}`;
  const created: EventProperties<'document_create'> = { document_id: id, document_type: 'paper', source };
  if (source === 'template')
    created.template_id = `tpl_${rng.pick(['apa_paper', 'lit_review', 'grant', 'thesis'])}`;
  s.api('createDocument');
  s.track('document_create', created, 1500);
  state.documents.push(id);
  if (state.documents.length > 6) state.documents.shift();
  return id;
}

/**
 * Opens a document and works on it: edits (some with the assistant's help, which uses up `prompts`), versions,
 * exports, shares, comments. Returns the prompts used.
 */
export function documents(s: Session, prompts: number): number {
  const { rng, state, user } = s;
  s.visit(pages.documents, { via: 'link' });
  s.api('listDocuments');
  if (state.documents.length === 0 || rng.chance(0.12)) {
    s.visit(pages.newDocument, { via: 'link' });
    createDocument(
      s,
      rng.weighted<'blank' | 'import' | 'ai'>([
        ['blank', 60],
        ['import', 25],
        ['ai', 15],
      ]),
    );
  }
  const id = rng.pick(state.documents);
  const title = documentTitle(id);
  const path = `/documents/${id}`;
  s.visit(pages.documents, { path, title: `${title} · DeepRef`, via: 'link' });
  if (rng.chance(0.01)) {
    // A link to someone else's document that was never shared with this user.
    s.api('getDocument', { failRate: 0, status: 403, concretePath: `/api${path}` });
    s.serverNow('access_control', {
      resource: 'document',
      resource_id: id,
      permission: 'read',
      granted: false,
      reason: 'not_shared',
      role: 'none',
    });
    s.visit(pages.documents, { via: 'back' });
    return 0;
  }
  s.api('getDocument', { concretePath: `/api${path}` });
  s.scroll();
  let used = 0;
  const edits = rng.int(1, 4);
  for (let i = 0; i < edits; i++) {
    s.pause(45_000, 0.8);
    const assisted = used < prompts && rng.chance(0.5);
    if (assisted) {
      prompt(s, 'editor');
      used++;
    }
    s.track('document_edit', {
      document_id: id,
      chars_added: Math.round(rng.logNormal(180, 1)),
      chars_removed: Math.round(rng.logNormal(40, 1.2)),
      ai_assisted: assisted,
    });
    s.api('updateDocument', { concretePath: `/api${path}` });
  }
  if (rng.chance(0.15)) {
    explore(s, 'version_history');
    const action = rng.weighted<'save' | 'restore' | 'compare'>([
      ['save', 80],
      ['compare', 14],
      ['restore', 6],
    ]);
    s.track('document_version', { document_id: id, action, version: rng.int(2, 40) });
    s.api('saveVersion', { concretePath: `/api${path}/versions` });
  }
  if (rng.chance(0.08)) {
    explore(s, 'export');
    s.api('exportDocument', { concretePath: `/api${path}/export` });
    s.track('document_export', {
      document_id: id,
      format: rng.pick(['pdf', 'pdf', 'docx', 'md', 'bibtex']),
      size_bytes: Math.round(rng.logNormal(180_000, 0.8)),
    });
  }
  if (rng.chance(0.06)) {
    s.track('document_share', {
      document_id: id,
      method: rng.pick(['link', 'email', 'user', 'team'] as const),
      permission: rng.pick(['view', 'comment', 'edit'] as const),
      recipient_count: rng.int(1, 4),
    });
    s.api('shareDocument', { concretePath: `/api${path}/shares` });
  }
  if (rng.chance(0.1)) {
    explore(s, 'collaboration');
    const commentId = `cmt_${rng.token(10)}`;
    const mentions = rng.chance(0.3) ? 1 : 0;
    s.track(
      'comment_added',
      {
        comment_id: commentId,
        document_id: id,
        is_reply: rng.chance(0.4),
        comment_length: Math.round(rng.logNormal(90, 0.7)),
        mention_count: mentions,
      },
      20_000,
    );
    s.api('addComment', { concretePath: `/api${path}/comments` });
    if (mentions) {
      s.track(
        'mention',
        { document_id: id, comment_id: commentId, mentioned_user_id: `usr_${rng.token(12)}` },
        10,
      );
    }
  }
  if (state.account !== 'free' && rng.chance(0.08)) {
    const duration = Math.round(rng.logNormal(8 * MINUTE, 0.7));
    s.t += duration;
    s.track('real_time_edit', {
      document_id: id,
      collaborator_count: rng.int(2, 4),
      duration_ms: duration,
      edit_count: rng.int(5, 120),
    });
  }
  if (rng.chance(0.02) && state.documents.length > 1) {
    s.track('document_delete', { document_id: id, permanent: false });
    s.api('deleteDocument', { concretePath: `/api${path}` });
    state.documents.splice(state.documents.indexOf(id), 1);
  }
  if (user.device.mobile || rng.chance(0.1)) s.tabAway();
  return used;
}

/** A search, perhaps filtered and refined, perhaps ending on a reference. */
export function search(s: Session): void {
  const { rng } = s;
  s.visit(pages.search, { via: 'link' });
  explore(s, 'search');
  let searchId = `srch_${rng.token(12)}`;
  const query = rng.pick(searchQueries);
  const type = rng.pick(['references', 'references', 'documents', 'web']);
  let results = Math.round(rng.logNormal(40, 1.1));
  const run: EventProperties<'search_query'> = {
    search_id: searchId,
    query_length: query.length,
    result_count: results,
    search_type: type,
  };
  if (rng.chance(0.6)) run.query_text = query;
  s.pause(6000);
  s.api('search');
  s.track('search_query', run, 10);
  if (rng.chance(0.3)) {
    const [name, value] = rng.pick([
      ['year', '2020-2024'],
      ['type', 'journal_article'],
      ['field', 'biology'],
      ['open_access', 'true'],
    ] as const);
    results = Math.max(0, Math.round(results * rng.float(0.2, 0.8)));
    s.api('search');
    s.track(
      'search_filter_applied',
      { search_id: searchId, filter_name: name, filter_value: value, result_count: results },
      3000,
    );
  }
  if (rng.chance(0.25)) {
    const previous = searchId;
    searchId = `srch_${rng.token(12)}`;
    const refined = `${query} ${rng.pick(['review', 'meta-analysis', '2023', 'pdf'])}`;
    const refinement: EventProperties<'search_refinement'> = {
      search_id: searchId,
      previous_search_id: previous,
      refinement_type: rng.pick(['add_terms', 'rephrase', 'spelling'] as const),
      query_length: refined.length,
    };
    if (run.query_text) refinement.query_text = refined;
    s.pause(5000);
    s.api('search');
    s.track('search_refinement', refinement, 10);
  }
  if (results > 0 && rng.chance(0.6)) {
    const resultId = `ref_${rng.token(10)}`;
    s.pause(8000);
    s.track('search_result_clicked', {
      search_id: searchId,
      result_id: resultId,
      position: Math.min(results, 1 + Math.floor(rng.logNormal(1.5, 0.9))),
      result_type: 'reference',
    });
    s.visit(pages.references, { path: `/references/${resultId}`, title: 'Reference · DeepRef' });
    s.api('listReferences');
    s.scroll(rng.pick([25, 50, 75]));
  }
}

/** Fills the add-reference form on the current page and saves it. */
function addReference(s: Session): void {
  const { rng } = s;
  s.fillForm(
    'reference',
    [
      ['title', 'text'],
      ['authors', 'text'],
      ['year', 'number'],
      ['doi', 'text'],
    ],
    rng.chance(0.08) ? { invalid: ['doi', 'pattern'] } : {},
  );
  s.api('createReference');
  s.track('reference_created', {
    reference_id: `ref_${rng.token(10)}`,
    reference_type: rng.pick([
      'journal_article',
      'journal_article',
      'book',
      'web_page',
      'conference_paper',
      'thesis',
    ]),
    ai_assisted: rng.chance(0.2),
  });
}

/** The reference library: browsing it, adding one, sharing one. */
export function references(s: Session): void {
  const { rng } = s;
  s.visit(pages.references, { via: 'link' });
  s.api('listReferences');
  explore(s, 'citation_styles');
  s.scroll();
  if (rng.chance(0.5)) {
    s.visit(pages.newReference, { via: 'link' });
    addReference(s);
  }
  if (rng.chance(0.05)) {
    s.track('reference_shared', {
      reference_id: `ref_${rng.token(10)}`,
      channel: rng.pick(['link', 'email', 'download', 'integration'] as const),
      recipient_count: rng.int(1, 3),
    });
  }
}

export function templates(s: Session): void {
  s.visit(pages.templates, { via: 'link' });
  explore(s, 'templates');
  s.scroll();
  if (s.rng.chance(0.4)) createDocument(s, 'template');
}

export function team(s: Session): void {
  const { rng } = s;
  s.visit(pages.team, { via: 'link' });
  explore(s, 'collaboration');
  if (rng.chance(0.5)) {
    s.fillForm('invite', [['email', 'email']]);
    s.api('invite');
    s.track('invite_sent', {
      invite_id: `inv_${rng.token(10)}`,
      channel: 'email',
      role: rng.pick(['editor', 'viewer']),
    });
  }
}

export function profile(s: Session): void {
  s.visit(pages.profile, { via: 'link' });
  s.fillForm('profile', [
    ['display_name', 'text'],
    ['affiliation', 'text'],
  ]);
  s.api('me');
}

export function help(s: Session): void {
  s.visit(pages.help, { via: 'link' });
  s.scroll();
  if (s.rng.chance(0.5)) s.visit(pages.dashboard, { via: 'back' });
}

/**
 * `feature_exploration`: the first time a new user opens a feature. Counted only after their first AI
 * interaction, so the trial funnel's steps come in the funnel's order; trial users who stop before this step
 * never explore.
 */
export function explore(s: Session, feature: Feature): void {
  const { state, user } = s;
  const bit = 1 << features.findIndex(([name]) => name === feature);
  if (state.explored & bit || !state.prompted) return;
  if (user.trialReach > 0 && user.trialReach < 3) return;
  state.explored |= bit;
  s.track('feature_exploration', { feature }, 1500);
}

// ---------------------------------------------------------------------------------------------------------------
// Paying: the end of the trial funnel, plan changes and the billing run

const periodMs = (interval: Interval) => (interval === 'annual' ? 365 : 30) * DAY_MS;

function checkout(s: Session, plan: PaidPlan, interval: Interval, fromTrial: boolean): void {
  const { rng, state, user } = s;
  s.visit(pages.checkout, { via: 'link' });
  s.fillForm('checkout', [
    ['card_number', 'text'],
    ['card_expiry', 'text'],
    ['card_cvc', 'text'],
    ['postal_code', 'text'],
  ]);
  s.api('checkout', { failRate: 0 });
  const subscriptionId = `sub_${rng.token(14)}`;
  const amount = prices[plan][interval];
  s.track('subscription_complete', {
    plan,
    interval,
    amount,
    currency: 'USD',
    subscription_id: subscriptionId,
    from_trial: fromTrial,
  });
  const paymentMethod = rng.chance(0.85) ? 'card' : 'paypal';
  s.serverNow('payment', {
    amount,
    currency: 'USD',
    plan,
    interval,
    status: 'succeeded',
    payment_id: `pay_${rng.token(14)}`,
    payment_method: paymentMethod,
    billing_country: user.place.country,
  });
  if (fromTrial) s.serverNow('trial_end', { plan: 'pro', outcome: 'converted' });
  state.account = plan;
  state.trialEndsAt = undefined;
  state.subscription = {
    id: subscriptionId,
    plan,
    interval,
    renewsAt: s.t + periodMs(interval),
    endsAt: undefined,
    retryAt: undefined,
    paymentMethod,
  };
}

/** The trial user's visit to the pricing page, and for some the checkout (the funnel's last two steps). */
export function trialPayment(s: Session): void {
  const { rng, user, state } = s;
  // The funnel's earlier steps come first, for the few who have not taken them by now.
  if (!state.prompted) assistant(s, 1);
  if (state.explored === 0) templates(s);
  s.visit(pages.pricing, { via: 'link' });
  s.api('plans');
  const interval: Interval = rng.chance(0.75) ? 'monthly' : 'annual';
  s.track('payment_page_view', { plan: 'pro', interval, source: 'trial_banner' }, 1500);
  state.sawPaymentPage = true;
  s.scroll(rng.pick([50, 75, 100]));
  if (user.trialReach >= 5) checkout(s, 'pro', interval, true);
  else s.visit(pages.dashboard, { via: 'back' });
}

/** Carries out today's plan change from the billing settings. */
export function changePlan(s: Session): void {
  const { rng, state } = s;
  const change = state.planChange;
  state.planChange = undefined;
  const sub = state.subscription;
  s.visit(pages.billing, { via: 'link' });
  s.api('plans');
  if (change === 'subscribe' && state.account === 'free') {
    const interval: Interval = rng.chance(0.7) ? 'monthly' : 'annual';
    s.visit(pages.pricing, { via: 'link' });
    s.track('payment_page_view', { plan: 'pro', interval, source: 'upgrade_banner' }, 1500);
    checkout(s, 'pro', interval, false);
    return;
  }
  if (!sub || sub.endsAt !== undefined) return;
  if (change === 'upgrade' && sub.plan === 'pro') {
    s.track(
      'payment_page_view',
      { plan: 'enterprise', interval: sub.interval, source: 'billing_settings' },
      1500,
    );
    s.api('subscription', { failRate: 0 });
    const delta = monthlyValue('enterprise', sub.interval) - monthlyValue('pro', sub.interval);
    s.track('subscription_upgrade', {
      from_plan: 'pro',
      to_plan: 'enterprise',
      interval: sub.interval,
      mrr_change: round(delta, 2),
      currency: 'USD',
      subscription_id: sub.id,
    });
    // The rest of the period is charged at the difference, pro rata.
    const remaining = Math.max(0, sub.renewsAt - s.t) / periodMs(sub.interval);
    const prorated = round((prices.enterprise[sub.interval] - prices.pro[sub.interval]) * remaining, 2);
    if (prorated > 0) payment(s, s.user, sub, prorated, 'succeeded', s.t);
    sub.plan = 'enterprise';
    state.account = 'enterprise';
  } else if (change === 'downgrade' && sub.plan === 'enterprise') {
    s.api('subscription', { failRate: 0 });
    s.track('subscription_downgrade', {
      from_plan: 'enterprise',
      to_plan: 'pro',
      interval: sub.interval,
      mrr_change: round(monthlyValue('pro', sub.interval) - monthlyValue('enterprise', sub.interval), 2),
      currency: 'USD',
      subscription_id: sub.id,
    });
    sub.plan = 'pro';
    state.account = 'pro';
  } else if (change === 'cancel') {
    s.fillForm('cancel_subscription', [['reason', 'select']]);
    s.api('subscription', { failRate: 0 });
    const atPeriodEnd = rng.chance(0.7);
    s.track('subscription_cancel', {
      plan: sub.plan,
      reason: rng.pick(cancelReasons),
      at_period_end: atPeriodEnd,
      subscription_id: sub.id,
    });
    if (atPeriodEnd) sub.endsAt = sub.renewsAt;
    else {
      state.subscription = undefined;
      state.account = 'free';
    }
  }
}

function payment(
  timeline: Timeline,
  user: DemoUser,
  sub: { plan: PaidPlan; interval: Interval; paymentMethod: 'card' | 'paypal' | 'invoice' },
  amount: number,
  status: 'succeeded' | 'failed',
  at: number,
): void {
  timeline.server(
    user,
    'payment',
    {
      amount,
      currency: 'USD',
      plan: sub.plan,
      interval: sub.interval,
      status,
      payment_id: `pay_${timeline.rng.token(14)}`,
      payment_method: sub.paymentMethod,
      billing_country: user.place.country,
    },
    at,
  );
}

/**
 * The billing system's work that falls due by `until`, as server events: renewals (a few fail and are retried
 * three days later), subscriptions ending after a cancellation, trials expiring.
 */
export function runBilling(
  timeline: Timeline,
  user: DemoUser,
  state: UserState,
  until: number,
  chance: (p: number) => boolean,
): void {
  if (state.account === 'trial' && state.trialEndsAt !== undefined && state.trialEndsAt <= until) {
    timeline.server(user, 'trial_end', { plan: 'pro', outcome: 'expired' }, state.trialEndsAt);
    state.account = 'free';
    state.trialEndsAt = undefined;
  }
  for (;;) {
    const sub = state.subscription;
    if (!sub) return;
    if (sub.endsAt !== undefined && sub.endsAt <= until) {
      state.subscription = undefined;
      state.account = 'free';
      return;
    }
    const price = prices[sub.plan][sub.interval];
    if (sub.retryAt !== undefined) {
      if (sub.retryAt > until) return;
      const at = sub.retryAt;
      sub.retryAt = undefined;
      if (chance(0.7)) {
        payment(timeline, user, sub, price, 'succeeded', at);
        sub.renewsAt += periodMs(sub.interval);
      } else {
        payment(timeline, user, sub, price, 'failed', at);
        timeline.server(
          user,
          'subscription_cancel',
          { plan: sub.plan, reason: 'payment_failed', at_period_end: false, subscription_id: sub.id },
          at,
        );
        state.subscription = undefined;
        state.account = 'free';
        return;
      }
      continue;
    }
    if (sub.renewsAt > until) return;
    if (sub.paymentMethod !== 'invoice' && chance(0.04)) {
      payment(timeline, user, sub, price, 'failed', sub.renewsAt);
      sub.retryAt = sub.renewsAt + 3 * DAY_MS;
    } else {
      payment(timeline, user, sub, price, 'succeeded', sub.renewsAt);
      sub.renewsAt += periodMs(sub.interval);
    }
  }
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
