/**
 * The product the demo's users use: an AI reference manager (the reference's AiDeepRef) with its pages, API
 * routes, plans, models and the texts people type. Hosts are under `.example` (RFC 2606), never a real site.
 */

export const appOrigin = 'https://app.deepref.example';
export const siteOrigin = 'https://www.deepref.example';

export interface Page {
  readonly path: string;
  readonly title: string;
  /** The marketing site rather than the app. */
  readonly site?: boolean;
}

export const pages = {
  home: { path: '/', title: 'DeepRef: references that write themselves', site: true },
  pricing: { path: '/pricing', title: 'Pricing · DeepRef', site: true },
  signup: { path: '/signup', title: 'Create your account · DeepRef', site: true },
  verifyEmail: { path: '/verify-email', title: 'Verify your email · DeepRef' },
  login: { path: '/login', title: 'Sign in · DeepRef' },
  welcome: { path: '/welcome', title: 'Welcome · DeepRef' },
  dashboard: { path: '/dashboard', title: 'Dashboard · DeepRef' },
  documents: { path: '/documents', title: 'Documents · DeepRef' },
  newDocument: { path: '/documents/new', title: 'New document · DeepRef' },
  references: { path: '/references', title: 'References · DeepRef' },
  newReference: { path: '/references/new', title: 'Add a reference · DeepRef' },
  assistant: { path: '/assistant', title: 'Assistant · DeepRef' },
  search: { path: '/search', title: 'Search · DeepRef' },
  templates: { path: '/templates', title: 'Templates · DeepRef' },
  team: { path: '/settings/team', title: 'Team · DeepRef' },
  profile: { path: '/settings/profile', title: 'Profile · DeepRef' },
  security: { path: '/settings/security', title: 'Security · DeepRef' },
  billing: { path: '/settings/billing', title: 'Billing · DeepRef' },
  checkout: { path: '/checkout', title: 'Checkout · DeepRef' },
  help: { path: '/help/citation-styles', title: 'Citation styles · DeepRef Help' },
} as const satisfies Record<string, Page>;

export type PageKey = keyof typeof pages;

export const documentTitles = [
  'Literature review: climate adaptation in coastal cities',
  'Thesis, chapter 2: related work',
  'Grant proposal: soil microbiome',
  'Systematic review protocol',
  'Course reading list, autumn term',
  'Policy brief: AI in hiring',
  'Conference paper draft',
  'Annotated bibliography: behavioural economics',
  'Lab notebook: CRISPR screens',
  'Whitepaper: zero-trust networks',
] as const;

export const searchQueries = [
  'climate adaptation coastal cities',
  'transformer architecture survey',
  'kahneman prospect theory',
  'microplastics freshwater 2019',
  'crispr off-target effects review',
  'apa 7 secondary source',
  'doi 10.1038/s41586',
  'zero trust architecture nist',
  'randomized controlled trial education',
  'soil microbiome drought',
  'large language models hallucination',
  'chicago author-date website',
] as const;

export const promptTexts = [
  'Format these three sources in APA 7th edition.',
  'Summarize the key findings of this paper in 150 words.',
  'Find peer-reviewed sources on microplastics in freshwater published after 2018.',
  'Convert this bibliography from MLA to Chicago author-date.',
  'Is the DOI in this citation valid? If not, suggest the right one.',
  'Suggest a stronger topic sentence for this paragraph.',
  'Which of my references support the claim in the highlighted sentence?',
  'Write an annotated bibliography entry for this article.',
  'List the methodological limitations the authors mention.',
  'Draft a related-work paragraph from these five references.',
  'Check this reference list for missing page numbers.',
  'Explain the difference between a systematic and a scoping review.',
] as const;

export const models: readonly (readonly [Model, number])[] = [
  [{ name: 'gpt-4o', firstTokenMs: 450, tokensPerSecond: 80 }, 32],
  [{ name: 'gpt-4o-mini', firstTokenMs: 300, tokensPerSecond: 120 }, 28],
  [{ name: 'claude-sonnet-4', firstTokenMs: 600, tokensPerSecond: 70 }, 22],
  [{ name: 'claude-3-5-haiku', firstTokenMs: 350, tokensPerSecond: 110 }, 12],
  [{ name: 'mistral-large', firstTokenMs: 500, tokensPerSecond: 60 }, 6],
];

export interface Model {
  readonly name: string;
  readonly firstTokenMs: number;
  readonly tokensPerSecond: number;
}

/** Features a new user may open for the first time (`feature_exploration`), with the page that holds each. */
export const features = [
  ['templates', 'templates'],
  ['citation_styles', 'references'],
  ['search', 'search'],
  ['export', 'documents'],
  ['collaboration', 'team'],
  ['version_history', 'documents'],
] as const satisfies readonly (readonly [string, PageKey])[];

export type Feature = (typeof features)[number][0];

export type PaidPlan = 'pro' | 'enterprise';
export type Interval = 'monthly' | 'annual';

/** List prices in USD (the demo bills in one currency, so MRR needs no exchange rates). */
export const prices: Record<PaidPlan, Record<Interval, number>> = {
  pro: { monthly: 29, annual: 290 },
  enterprise: { monthly: 499, annual: 4990 },
};

export function monthlyValue(plan: PaidPlan, interval: Interval): number {
  return interval === 'monthly' ? prices[plan].monthly : Math.round((prices[plan].annual / 12) * 100) / 100;
}

export const cancelReasons = [
  'too_expensive',
  'missing_feature',
  'switched_tool',
  'project_ended',
  'not_using',
] as const;

export interface Route {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  readonly endpoint: string;
  /** Median server time. */
  readonly medianMs: number;
  /** Bytes of a typical response. */
  readonly responseBytes: number;
}

export const routes = {
  signup: { method: 'POST', endpoint: '/api/auth/signup', medianMs: 280, responseBytes: 420 },
  login: { method: 'POST', endpoint: '/api/auth/login', medianMs: 240, responseBytes: 380 },
  mfa: { method: 'POST', endpoint: '/api/auth/mfa/verify', medianMs: 60, responseBytes: 120 },
  logout: { method: 'POST', endpoint: '/api/auth/logout', medianMs: 12, responseBytes: 0 },
  passwordReset: { method: 'POST', endpoint: '/api/auth/password-reset', medianMs: 90, responseBytes: 60 },
  me: { method: 'GET', endpoint: '/api/me', medianMs: 14, responseBytes: 900 },
  listDocuments: { method: 'GET', endpoint: '/api/documents', medianMs: 42, responseBytes: 14_000 },
  getDocument: { method: 'GET', endpoint: '/api/documents/:id', medianMs: 35, responseBytes: 48_000 },
  createDocument: { method: 'POST', endpoint: '/api/documents', medianMs: 75, responseBytes: 700 },
  updateDocument: { method: 'PATCH', endpoint: '/api/documents/:id', medianMs: 55, responseBytes: 300 },
  deleteDocument: { method: 'DELETE', endpoint: '/api/documents/:id', medianMs: 40, responseBytes: 0 },
  shareDocument: { method: 'POST', endpoint: '/api/documents/:id/shares', medianMs: 70, responseBytes: 350 },
  exportDocument: {
    method: 'POST',
    endpoint: '/api/documents/:id/export',
    medianMs: 850,
    responseBytes: 220_000,
  },
  saveVersion: { method: 'POST', endpoint: '/api/documents/:id/versions', medianMs: 85, responseBytes: 260 },
  addComment: { method: 'POST', endpoint: '/api/documents/:id/comments', medianMs: 50, responseBytes: 400 },
  listReferences: { method: 'GET', endpoint: '/api/references', medianMs: 48, responseBytes: 22_000 },
  createReference: { method: 'POST', endpoint: '/api/references', medianMs: 110, responseBytes: 900 },
  search: { method: 'GET', endpoint: '/api/search', medianMs: 160, responseBytes: 18_000 },
  completion: { method: 'POST', endpoint: '/api/ai/completions', medianMs: 0, responseBytes: 3_000 },
  feedback: { method: 'POST', endpoint: '/api/ai/feedback', medianMs: 25, responseBytes: 0 },
  invite: { method: 'POST', endpoint: '/api/invites', medianMs: 95, responseBytes: 300 },
  plans: { method: 'GET', endpoint: '/api/billing/plans', medianMs: 20, responseBytes: 2_400 },
  checkout: { method: 'POST', endpoint: '/api/billing/checkout', medianMs: 620, responseBytes: 500 },
  subscription: { method: 'PATCH', endpoint: '/api/billing/subscription', medianMs: 340, responseBytes: 500 },
} as const satisfies Record<string, Route>;

export type RouteKey = keyof typeof routes;

/** Uncaught errors as browsers word them, with the bundle they come from. */
export const scriptErrors = [
  {
    type: 'TypeError',
    message: "Cannot read properties of undefined (reading 'authors')",
    source: `${appOrigin}/assets/editor-3f9a2c1b.js`,
    line: 1,
    column: 48_213,
    stack:
      "TypeError: Cannot read properties of undefined (reading 'authors')\n    at formatCitation (editor-3f9a2c1b.js:1:48213)\n    at renderReferenceList (editor-3f9a2c1b.js:1:51007)",
  },
  {
    type: 'ChunkLoadError',
    message: 'Loading chunk 742 failed.',
    source: `${appOrigin}/assets/index-9b1e44d0.js`,
    line: 1,
    column: 2_291,
    stack: 'ChunkLoadError: Loading chunk 742 failed.\n    at index-9b1e44d0.js:1:2291',
  },
  {
    type: 'Error',
    message: 'ResizeObserver loop completed with undelivered notifications.',
    source: `${appOrigin}/assets/index-9b1e44d0.js`,
    line: 0,
    column: 0,
    stack: '',
  },
  {
    type: 'AbortError',
    message: 'The user aborted a request.',
    source: `${appOrigin}/assets/assistant-51c0aa7e.js`,
    line: 1,
    column: 9_904,
    stack: 'AbortError: The user aborted a request.\n    at streamCompletion (assistant-51c0aa7e.js:1:9904)',
  },
  {
    type: 'TypeError',
    message: 'NetworkError when attempting to fetch resource.',
    source: `${appOrigin}/assets/index-9b1e44d0.js`,
    line: 1,
    column: 17_560,
    stack: 'TypeError: NetworkError when attempting to fetch resource.',
  },
] as const;

/** Where new visitors come from: the referrer and the UTM tags of their landing page. */
export const acquisitionChannels = [
  ['organic', 'https://www.google.com/', undefined, 34],
  ['direct', '', undefined, 20],
  ['referral', 'https://scholar.google.com/', undefined, 10],
  [
    'social',
    'https://www.linkedin.com/',
    { source: 'linkedin', medium: 'social', campaign: 'launch_week' },
    12,
  ],
  [
    'paid_search',
    'https://www.google.com/',
    { source: 'google', medium: 'cpc', campaign: 'citation_tool' },
    16,
  ],
  ['newsletter', '', { source: 'newsletter', medium: 'email', campaign: 'weekly_digest' }, 8],
] as const;
