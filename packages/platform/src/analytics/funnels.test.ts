import { expect, it } from 'vitest';
import { DeeprefError } from '../errors.ts';
import { describeEachWarehouse, useWarehouse } from '../testing/warehouses.ts';
import { funnel, onboardingFunnel, trialToPaidFunnel } from './funnels.ts';
import { type CraftedEvent, craftedRecords } from './test-records.ts';

const day = 86_400;
const november = { from: '2026-11-01T00:00:00Z', to: '2026-12-01T00:00:00Z' };

// The trial-to-paid funnel, 7-day window. Steps: 1 trial_signup, 2 first_ai_interaction, 3 feature_exploration,
// 4 payment_page_view, 5 subscription_complete.
const trial: CraftedEvent[] = [
  // u1: every step, one hour apart.
  { event: 'trial_signup', at: '2026-11-02T10:00:00Z', person: 'u1', properties: { source: 'pricing_page' } },
  { event: 'first_ai_interaction', at: '2026-11-02T11:00:00Z', person: 'u1' },
  { event: 'feature_exploration', at: '2026-11-02T12:00:00Z', person: 'u1' },
  { event: 'payment_page_view', at: '2026-11-02T13:00:00Z', person: 'u1' },
  { event: 'subscription_complete', at: '2026-11-02T14:00:00Z', person: 'u1' },
  // u2: reaches step 3; step 4 comes 1 second after the window (step 1 + 7 days) closed.
  { event: 'trial_signup', at: '2026-11-02T00:00:00Z', person: 'u2', properties: { source: 'pricing_page' } },
  { event: 'first_ai_interaction', at: '2026-11-02T02:00:00Z', person: 'u2' },
  { event: 'feature_exploration', at: '2026-11-03T00:00:00Z', person: 'u2' },
  { event: 'payment_page_view', at: '2026-11-09T00:00:01Z', person: 'u2' },
  // u3: out of order: step 2 before step 1 does not count, so step 3 cannot either.
  { event: 'first_ai_interaction', at: '2026-11-04T09:00:00Z', person: 'u3' },
  {
    event: 'trial_signup',
    at: '2026-11-04T10:00:00Z',
    person: 'u3',
    properties: { source: 'in_app_banner' },
  },
  { event: 'feature_exploration', at: '2026-11-04T12:00:00Z', person: 'u3' },
  // u4: reaches step 4.
  { event: 'trial_signup', at: '2026-11-05T00:00:00Z', person: 'u4', properties: { source: 'pricing_page' } },
  { event: 'first_ai_interaction', at: '2026-11-05T00:30:00Z', person: 'u4' },
  { event: 'feature_exploration', at: '2026-11-06T00:00:00Z', person: 'u4' },
  { event: 'payment_page_view', at: '2026-11-06T01:00:00Z', person: 'u4' },
  // u5: entered before the range: not in the funnel.
  { event: 'trial_signup', at: '2026-10-20T00:00:00Z', person: 'u5', properties: { source: 'pricing_page' } },
  { event: 'first_ai_interaction', at: '2026-11-02T00:00:00Z', person: 'u5' },
  // u6: step 1 only.
  {
    event: 'trial_signup',
    at: '2026-11-07T00:00:00Z',
    person: 'u6',
    properties: { source: 'in_app_banner' },
  },
  // u7: anonymous (no user id), reaches step 2.
  {
    event: 'trial_signup',
    at: '2026-11-08T00:00:00Z',
    person: 'a7',
    anonymous: true,
    properties: { source: 'in_app_banner' },
  },
  { event: 'first_ai_interaction', at: '2026-11-08T00:10:00Z', person: 'a7', anonymous: true },
  // u8: no source; two step-3 events, the earlier one (+2h) lets step 4 (+3h) count; step 5 after the window.
  { event: 'trial_signup', at: '2026-11-10T00:00:00Z', person: 'u8' },
  { event: 'first_ai_interaction', at: '2026-11-10T01:00:00Z', person: 'u8' },
  { event: 'feature_exploration', at: '2026-11-10T05:00:00Z', person: 'u8' },
  { event: 'feature_exploration', at: '2026-11-10T02:00:00Z', person: 'u8' },
  { event: 'payment_page_view', at: '2026-11-10T03:00:00Z', person: 'u8' },
  { event: 'subscription_complete', at: '2026-11-18T00:00:00Z', person: 'u8' },
];

// The onboarding flow, in December. o1 does every step; o2 does the tutorial before its first login, so it
// stops at step 3 (first_login) although it also did first_action.
const onboarding: CraftedEvent[] = [
  { event: 'signup', at: '2026-12-01T09:00:00Z', person: 'o1', properties: { method: 'email' } },
  { event: 'email_verify', at: '2026-12-01T09:05:00Z', person: 'o1' },
  { event: 'first_login', at: '2026-12-01T09:10:00Z', person: 'o1' },
  {
    event: 'tutorial',
    at: '2026-12-01T09:20:00Z',
    person: 'o1',
    properties: { tutorial_id: 'intro', status: 'completed' },
  },
  {
    event: 'first_action',
    at: '2026-12-01T09:50:00Z',
    person: 'o1',
    properties: { action: 'reference_created' },
  },
  { event: 'signup', at: '2026-12-02T09:00:00Z', person: 'o2', properties: { method: 'github' } },
  { event: 'email_verify', at: '2026-12-02T10:00:00Z', person: 'o2' },
  {
    event: 'tutorial',
    at: '2026-12-02T10:30:00Z',
    person: 'o2',
    properties: { tutorial_id: 'intro', status: 'skipped' },
  },
  { event: 'first_login', at: '2026-12-02T11:00:00Z', person: 'o2' },
  {
    event: 'first_action',
    at: '2026-12-02T12:00:00Z',
    person: 'o2',
    properties: { action: 'reference_created' },
  },
];

describeEachWarehouse('funnel', (engine) => {
  const db = useWarehouse(engine, craftedRecords([...trial, ...onboarding]));

  it('counts ordered steps within the window, skipping out-of-order and late steps', async () => {
    const result = await trialToPaidFunnel(db.warehouse, { ...november, windowSeconds: 7 * day }, db.dialect);
    expect(result.breakdowns).toHaveLength(1);
    const steps = result.breakdowns[0]!.steps;
    // Step 1: u1 u2 u3 u4 u6 a7 u8 = 7 (u5 entered in October).
    // Step 2: u1 u2 u4 a7 u8 = 5 (u3's came before its step 1).
    // Step 3: u1 u2 u4 u8 = 4.   Step 4: u1 u4 u8 = 3 (u2's is 1 s past the window).
    // Step 5: u1 = 1 (u8's is 8 days after its step 1).
    expect(steps.map((s) => s.count)).toEqual([7, 5, 4, 3, 1]);
    expect(steps.map((s) => s.dropOff)).toEqual([0, 7 - 5, 5 - 4, 4 - 3, 3 - 1]);
    expect(steps.map((s) => s.conversionFromStart)).toEqual([1, 5 / 7, 4 / 7, 3 / 7, 1 / 7]);
    expect(steps.map((s) => s.conversionFromPrevious)).toEqual([1, 5 / 7, 4 / 5, 3 / 4, 1 / 3]);
    // Step 1→2 seconds: u1 3600, u2 7200, u4 1800, a7 600, u8 3600 → sorted 600 1800 [3600] 3600 7200.
    // Step 2→3: u1 3600, u2 79200 (22 h), u4 84600 (23.5 h), u8 3600 → (3600 + 79200) / 2 = 41400.
    // Step 3→4: u1 3600, u4 3600, u8 3600 (from the earlier step 3) → 3600.   Step 4→5: u1 3600.
    expect(steps.map((s) => s.medianSecondsFromPrevious)).toEqual([null, 3600, 41400, 3600, 3600]);
  });

  it('lets a longer window count the late steps', async () => {
    const result = await trialToPaidFunnel(db.warehouse, { ...november, windowSeconds: 9 * day }, db.dialect);
    // u2 now reaches step 4 (7 days + 1 s) and u8 step 5 (8 days): 7, 5, 4, 3 + 1, 1 + 1.
    expect(result.breakdowns[0]!.steps.map((s) => s.count)).toEqual([7, 5, 4, 4, 2]);
  });

  it('splits by a property of the step-1 event', async () => {
    const result = await trialToPaidFunnel(
      db.warehouse,
      {
        ...november,
        windowSeconds: 7 * day,
        breakdown: 'source',
      },
      db.dialect,
    );
    const counts = result.breakdowns.map((b) => [b.breakdownValue, b.steps.map((s) => s.count)]);
    // in_app_banner: u3 a7 u6 → 3, a7 → 1.  pricing_page: u1 u2 u4 → 3, 3, 3, u1 u4 → 2, u1 → 1.  none: u8.
    expect(counts).toEqual([
      ['in_app_banner', [3, 1, 0, 0, 0]],
      ['pricing_page', [3, 3, 3, 2, 1]],
      [null, [1, 1, 1, 1, 0]],
    ]);
  });

  it('reports the onboarding flow drop-off', async () => {
    const result = await onboardingFunnel(
      db.warehouse,
      {
        from: '2026-12-01T00:00:00Z',
        to: '2027-01-01T00:00:00Z',
      },
      db.dialect,
    );
    const steps = result.breakdowns[0]!.steps;
    expect(steps.map((s) => [s.event, s.count, s.dropOff])).toEqual([
      ['signup', 2, 0],
      ['email_verify', 2, 0],
      ['first_login', 2, 0],
      ['tutorial', 1, 1],
      ['first_action', 1, 0],
    ]);
    // signup→email_verify: o1 300 s, o2 3600 s → (300 + 3600) / 2 = 1950.
    expect(steps[1]!.medianSecondsFromPrevious).toBe(1950);
  });

  it('gives zeros for a funnel nobody entered', async () => {
    const result = await funnel(
      db.warehouse,
      {
        from: '2025-01-01T00:00:00Z',
        to: '2025-02-01T00:00:00Z',
        steps: ['signup', 'first_login'],
        windowSeconds: day,
      },
      db.dialect,
    );
    expect(result.breakdowns[0]!.steps.map((s) => [s.count, s.conversionFromStart])).toEqual([
      [0, 1],
      [0, 0],
    ]);
  });

  it('refuses bad steps, windows and breakdowns', async () => {
    const base = { ...november, steps: ['signup', 'first_login'], windowSeconds: day };
    for (const bad of [
      { ...base, steps: ['signup'] },
      { ...base, steps: ['signup', 'signup'] },
      { ...base, windowSeconds: 0 },
      { ...base, breakdown: "plan') OR 1=1 --" },
      { ...base, from: base.to, to: base.from },
    ]) {
      await expect(funnel(db.warehouse, bad, db.dialect)).rejects.toThrow(DeeprefError);
    }
  });
});
