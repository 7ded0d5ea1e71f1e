import { expect, it } from 'vitest';
import { DeeprefError } from '../errors.ts';
import { describeEachWarehouse, useWarehouse } from '../testing/warehouses.ts';
import { type CraftedEvent, craftedRecords } from './test-records.ts';
import { userProfile } from './user-profile.ts';

const firefox = { deviceType: 'desktop', browser: 'Firefox' };
const safari = { deviceType: 'mobile', browser: 'Safari' };
const chrome = { deviceType: 'desktop', browser: 'Chrome' };
const german = { locale: 'de-DE', timezone: 'Europe/Berlin' };
const english = { locale: 'en-US' };

function ev(
  at: string,
  event: string,
  session: string | null,
  device: typeof firefox,
  context: Record<string, string>,
  extra: Partial<CraftedEvent> = {},
): CraftedEvent {
  return { event, at, person: 'u1', session, device, context, ...extra };
}
const identify = (traits: Record<string, unknown>) => ({ type: 'identify' as const, traits });

const events: CraftedEvent[] = [
  // Session s1, Oct 1 10:00 → 10:30 (1,800 s), desktop Firefox, en-US.
  ev('2026-10-01T10:00:00Z', 'signup', 's1', firefox, english, { properties: { method: 'email' } }),
  ev('2026-10-01T10:00:00Z', 'identify', 's1', firefox, english, identify({ account_type: 'trial' })),
  ev('2026-10-01T10:30:00Z', 'page_view', 's1', firefox, english),
  // Session s2, Nov 20 14:00 → 14:20 (1,200 s), mobile Safari, de-DE; the subscription starts.
  ev('2026-11-20T14:00:00Z', 'identify', 's2', safari, german, identify({ account_type: 'pro' })),
  ev('2026-11-20T14:10:00Z', 'feature_used', 's2', safari, german, { properties: { feature: 'search' } }),
  ev('2026-11-20T14:15:00Z', 'subscription_complete', null, safari, german),
  ev('2026-11-20T14:20:00Z', 'feature_used', 's2', safari, german, { properties: { feature: 'search' } }),
  // Session s3, Nov 25 14:00 → 14:30 (1,800 s), desktop Chrome; the last identify has no account type.
  ev('2026-11-25T14:00:00Z', 'identify', 's3', chrome, german, identify({ name_length: 5 })),
  ev('2026-11-25T14:05:00Z', 'feature_used', 's3', chrome, german, { properties: { feature: 'export' } }),
  ev('2026-11-25T14:30:00Z', 'subscription_cancel', 's3', chrome, german, { properties: { plan: 'pro' } }),
  ev('2026-12-01T09:00:00Z', 'page_view', 's4', chrome, german), // after `now`
  { event: 'feature_used', at: '2026-11-01T00:00:00Z', person: 'u2', properties: { feature: 'templates' } },
  { event: 'page_view', at: '2026-11-02T08:00:00Z', person: 'visitor', anonymous: true, session: 'v1' },
];

describeEachWarehouse('user profile', (engine) => {
  const db = useWarehouse(engine, craftedRecords(events));

  it("builds a person's profile and churn risk", async () => {
    const profile = await userProfile(
      db.warehouse,
      { person: 'u1', now: '2026-11-30T12:00:00Z' },
      db.dialect,
    );
    const hourly = Array.from({ length: 24 }, () => 0);
    hourly[10] = 3; // s1
    hourly[14] = 7; // s2 (4, the subscription included) and s3 (3)
    // Last event Nov 25 14:30; now Nov 30 12:00: 4 days 21.5 hours = 4.8958333 days → recency 4.8958333 / 30.
    const recency = (4 + 21.5 / 24) / 30;
    expect(profile).toEqual({
      person: 'u1',
      accountType: 'pro',
      created: '2026-10-01T10:00:00.000Z',
      lastActive: '2026-11-25T14:30:00.000Z',
      totalSessions: 3,
      avgSessionSeconds: (1800 + 1200 + 1800) / 3,
      avgDailyUsageMinutes: (1800 + 1200 + 1800) / 60 / 3, // 3 active days
      preferredLanguage: 'de-DE', // 7 events against 3
      timezone: 'Europe/Berlin',
      mostUsedFeatures: [
        { feature: 'search', uses: 2 },
        { feature: 'export', uses: 1 },
      ],
      hourlyEvents: hourly,
      peakUsageHours: [14, 10],
      devices: { desktop: 2, mobile: 1 },
      browsers: { Firefox: 1, Safari: 1, Chrome: 1 },
      featureAdoptionRate: 2 / 3, // search and export of search, export, templates
      churnRisk: {
        recency,
        // Active days in the last 14 (Nov 20, Nov 25) = 2, in the 14 before = 0: no decline.
        decline: 0,
        // The latest subscription event is the cancel.
        billing: 1,
        score: 0.5 * recency + 0.2,
      },
    });
  });

  it('finds a visitor by the anonymous id, and a known user by the user id only', async () => {
    const now = '2026-11-30T12:00:00Z';
    const visitor = await userProfile(db.warehouse, { person: 'visitor', now }, db.dialect);
    expect(visitor.totalSessions).toBe(1);
    expect(visitor.peakUsageHours).toEqual([8]);
    // u2's event carries the anonymous id anon-of-u2, but its person is the user id u2.
    await expect(userProfile(db.warehouse, { person: 'anon-of-u2', now }, db.dialect)).rejects.toThrow(
      DeeprefError,
    );
    const u2 = await userProfile(db.warehouse, { person: 'u2', now }, db.dialect);
    expect(u2.mostUsedFeatures).toEqual([{ feature: 'templates', uses: 1 }]);
  });

  it('says when a person has no events', async () => {
    await expect(
      userProfile(db.warehouse, { person: 'nobody', now: '2026-11-30T12:00:00Z' }, db.dialect),
    ).rejects.toThrow(DeeprefError);
  });
});
