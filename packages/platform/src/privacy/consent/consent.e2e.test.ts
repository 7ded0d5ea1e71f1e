/**
 * The consent gate end to end, through the real collector and the real files: the default of each mode, grants
 * and withdrawals from the SDK route and the operator's routes taking effect for the next event, linking on
 * identify, Global Privacy Control and Do Not Track, policy versions, and a dropped event leaving no byte on disk.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlRequest } from '../../cli/control-client.ts';
import { filesContaining, scrapeMetrics, storedEvents } from '../../testing/e2e-checks.ts';
import { startTestPlatform, type TestPlatform } from '../../testing/test-platform.ts';
import type { ConsentView } from './consent-routes.ts';

const dropped = ['deepref_events_dropped_total', { reason: 'DEEPREF_CONSENT_WITHHELD' }] as const;

/** `search_query` needs analytics; `api_latency` needs data_collection only. Each carries a unique marker. */
function analyticsEvent(ids: { userId?: string; anonymousId?: string }, marker: string = randomUUID()) {
  return {
    eventId: randomUUID(),
    eventName: 'search_query',
    timestamp: new Date().toISOString(),
    ...ids,
    properties: { search_id: marker, query_length: 12, result_count: 3 },
  };
}
function dataCollectionEvent(ids: { userId?: string; anonymousId?: string }) {
  return {
    eventId: randomUUID(),
    eventName: 'api_latency',
    timestamp: new Date().toISOString(),
    ...ids,
    properties: { endpoint: '/api/documents/:id', method: 'GET', status_code: 200, duration_ms: 12 },
  };
}

/** The identify that links `anonymousId` to `userId` (it needs analytics itself). */
function identifyEvent(userId: string, anonymousId: string) {
  return {
    eventId: randomUUID(),
    type: 'identify',
    eventName: 'identify',
    timestamp: new Date().toISOString(),
    userId,
    anonymousId,
    properties: {},
  };
}

async function send(tp: TestPlatform, events: unknown[], headers: Record<string, string> = {}) {
  const response = await tp.post('/api/telemetry/events', events, { headers });
  expect(response.status).toBe(200);
  return response.body.results as { eventId: string; status: string; reason?: string; message?: string }[];
}

/**
 * Sends an analytics event and a data_collection event of `ids` in one request and expects the gate to drop the
 * first only, saying that analytics `withheldBy`; returns the two events.
 */
async function expectOnlyAnalyticsDropped(
  tp: TestPlatform,
  ids: { anonymousId: string },
  how: { withheldBy: string; marker?: string; headers?: Record<string, string> },
) {
  const refused = analyticsEvent(ids, how.marker);
  const kept = dataCollectionEvent(ids);
  const results = await send(tp, [refused, kept], how.headers);
  expect(results).toEqual([
    {
      eventId: refused.eventId,
      status: 'dropped',
      reason: 'DEEPREF_CONSENT_WITHHELD',
      message:
        `Not stored: the event needs analytics, which ${how.withheldBy}. ` +
        'It was counted in deepref_events_dropped_total, and nothing of it was kept.',
    },
    { eventId: kept.eventId, status: 'accepted' },
  ]);
  return { refused, kept };
}

/** The SDK's call: `POST /api/v1/consent` with the write key, as `text/plain` like the browser sends it. */
async function sdkConsent(tp: TestPlatform, body: Record<string, unknown>) {
  return tp.post('/api/v1/consent', body, { contentType: 'text/plain' });
}

async function view(tp: TestPlatform, subjectId: string): Promise<ConsentView> {
  const response = await controlRequest<ConsentView>(
    tp.dataDir,
    'GET',
    `/api/v1/consent/${encodeURIComponent(subjectId)}`,
  );
  expect(response.status).toBe(200);
  return response.body;
}

describe('consent gate, opt-out mode (the default)', () => {
  let tp: TestPlatform;
  beforeAll(async () => {
    tp = await startTestPlatform();
  });
  afterAll(async () => {
    await tp?.close();
  });

  it('stores analytics events of a subject without a record, and implies no osint or marketing', async () => {
    const results = await send(tp, [analyticsEvent({ anonymousId: 'anon-default' })]);
    expect(results.map((r) => r.status)).toEqual(['accepted']);
    const { state, history, mode } = await view(tp, 'anon-default');
    expect(mode).toBe('opt-out');
    expect(history).toEqual([]);
    expect(state).toEqual({
      data_collection: { granted: true, basis: 'default' },
      analytics: { granted: true, basis: 'default' },
      osint_enrichment: { granted: false, basis: 'default' },
      marketing: { granted: false, basis: 'default' },
    });
  });

  it('drops the next analytics event after a withdrawal, counts it, keeps nothing on disk, and still stores data_collection events', async () => {
    const user = { anonymousId: `anon-${randomUUID()}` };
    const answer = await sdkConsent(tp, { ...user, purposes: { analytics: false } });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      subjectId: user.anonymousId,
      policyVersion: '1',
      consent: { data_collection: true, analytics: false, osint_enrichment: false, marketing: false },
    });

    const before = await scrapeMetrics(tp);
    const marker: string = `withdrawn-${randomUUID()}`;
    const { refused, kept } = await expectOnlyAnalyticsDropped(tp, user, {
      marker,
      withheldBy: 'the subject has not granted (consent mode opt-out)',
    });
    const after = await scrapeMetrics(tp);
    expect(after.value(...dropped) - before.value(...dropped)).toBe(1);

    const log = await storedEvents(tp);
    expect(log.has(refused.eventId)).toBe(false);
    expect(log.get(kept.eventId)?.eventName).toBe('api_latency');
    await tp.platform.drain();
    expect(filesContaining(tp.dataDir, marker)).toEqual([]);

    // Granted again: the next one is stored.
    await sdkConsent(tp, { ...user, purposes: { analytics: true } });
    const again = analyticsEvent(user);
    expect((await send(tp, [again]))[0]?.status).toBe('accepted');
  });

  it('applies an operator withdrawal to the very next event, and records method and policy version', async () => {
    const userId = `user-${randomUUID()}`;
    expect((await send(tp, [analyticsEvent({ userId })]))[0]?.status).toBe('accepted');
    const changed = await controlRequest<ConsentView>(tp.dataDir, 'POST', `/api/v1/consent/${userId}`, {
      purposes: { analytics: false, marketing: true },
      method: 'admin',
    });
    expect(changed.status).toBe(200);
    expect(
      changed.body.history.map(({ purpose, granted, method, policyVersion, subjectId }) => ({
        purpose,
        granted,
        method,
        policyVersion,
        subjectId,
      })),
    ).toEqual([
      { purpose: 'analytics', granted: false, method: 'admin', policyVersion: '1', subjectId: userId },
      { purpose: 'marketing', granted: true, method: 'admin', policyVersion: '1', subjectId: userId },
    ]);
    expect(changed.body.state.marketing).toMatchObject({ granted: true, basis: 'record', method: 'admin' });
    expect((await send(tp, [analyticsEvent({ userId })]))[0]?.status).toBe('dropped');
  });

  it('links an anonymous id to its user on identify: consent under either applies to both', async () => {
    const anonymousId = `anon-${randomUUID()}`;
    const userId = `user-${randomUUID()}`;
    // Withdrawn while anonymous; the user id has no record of its own.
    await sdkConsent(tp, { anonymousId, purposes: { analytics: false } });
    expect((await send(tp, [analyticsEvent({ userId })]))[0]?.status).toBe('accepted');

    const identify = identifyEvent(userId, anonymousId);
    // The identify itself needs analytics, which is withdrawn: it is dropped, but the link is made.
    expect((await send(tp, [identify]))[0]?.status).toBe('dropped');
    expect((await send(tp, [analyticsEvent({ userId })]))[0]?.status).toBe('dropped');
    expect((await view(tp, userId)).linkedIds).toEqual([userId, anonymousId]);

    // A grant under the user now carries to events that name only the anonymous id, and the reverse.
    await controlRequest(tp.dataDir, 'POST', `/api/v1/consent/${userId}`, { purposes: { analytics: true } });
    expect((await send(tp, [analyticsEvent({ anonymousId })]))[0]?.status).toBe('accepted');
    await sdkConsent(tp, { anonymousId, purposes: { analytics: false } });
    expect((await send(tp, [analyticsEvent({ userId })]))[0]?.status).toBe('dropped');

    const { history, state } = await view(tp, anonymousId);
    expect(history.map((r) => [r.subjectId, r.granted, r.method])).toEqual([
      [anonymousId, false, 'sdk'],
      [userId, true, 'api'],
      [anonymousId, false, 'sdk'],
    ]);
    expect(state.analytics).toMatchObject({ granted: false, recordId: history[2]!.id });
  });

  it('treats Sec-GPC: 1 and DNT: 1 as a withdrawal of analytics and marketing for the events of that request', async () => {
    const user = { anonymousId: `anon-${randomUUID()}` };
    // Even an explicit grant: the header is the newer word.
    await sdkConsent(tp, { ...user, purposes: { analytics: true, marketing: true } });
    const before = await scrapeMetrics(tp);
    for (const headers of [{ 'sec-gpc': '1' }, { dnt: '1' }] as Record<string, string>[]) {
      await expectOnlyAnalyticsDropped(tp, user, {
        headers,
        withheldBy: 'the request withdrew with its Sec-GPC or DNT header',
      });
    }
    const after = await scrapeMetrics(tp);
    expect(after.value(...dropped) - before.value(...dropped)).toBe(2);
    // Without the header, the same subject's analytics events are stored again.
    expect((await send(tp, [analyticsEvent(user)], { 'sec-gpc': '0' }))[0]?.status).toBe('accepted');
  });

  it('records the policy version each decision was given under, and refuses an unpublished one', async () => {
    const published = await controlRequest(tp.dataDir, 'POST', '/api/v1/consent-policies', {
      version: '2026-11',
      text: 'analytics now covers session replays.',
    });
    expect(published.status).toBe(201);
    const again = await controlRequest<{ error: { code: string } }>(
      tp.dataDir,
      'POST',
      '/api/v1/consent-policies',
      { version: '2026-11', text: 'something else' },
    );
    expect(again.body.error.code).toBe('DEEPREF_CONSENT_POLICY_EXISTS');
    const policies = await controlRequest<{ current: string; policies: { version: string }[] }>(
      tp.dataDir,
      'GET',
      '/api/v1/consent-policies',
    );
    expect(policies.body.current).toBe('2026-11');
    expect(policies.body.policies.map((p) => p.version)).toEqual(['2026-11', '1']);

    const anonymousId = `anon-${randomUUID()}`;
    await sdkConsent(tp, { anonymousId, purposes: { marketing: true } });
    await sdkConsent(tp, { anonymousId, purposes: { marketing: false }, policyVersion: '1' });
    const unknown = await sdkConsent(tp, { anonymousId, purposes: { analytics: true }, policyVersion: '9' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('DEEPREF_CONSENT_UNKNOWN_POLICY');
    const { history } = await view(tp, anonymousId);
    expect(history.map((r) => [r.purpose, r.granted, r.policyVersion])).toEqual([
      ['marketing', true, '2026-11'],
      ['marketing', false, '1'],
    ]);
  });

  it('asks a reader to read and the control socket to change, and the SDK route for a write key and a subject', async () => {
    const read = await fetch(`${tp.url}/api/v1/consent/anon-default`);
    expect(read.status).toBe(401);
    expect((await read.json()).error.code).toBe('DEEPREF_NOT_SIGNED_IN');
    // A write key is no reader, and changes are refused on the TCP port whoever asks.
    const withWriteKey = await fetch(`${tp.url}/api/v1/consent/anon-default`, {
      headers: { authorization: `Bearer ${tp.writeKey}` },
    });
    expect((await withWriteKey.json()).error.code).toBe('DEEPREF_WRITE_KEY_CANNOT_READ');
    const change = await tp.post('/api/v1/consent/anon-default', { purposes: { analytics: true } });
    expect(change.status).toBe(403);
    expect(change.body.error.code).toBe('DEEPREF_FORBIDDEN');
    expect((await view(tp, 'anon-default')).history).toEqual([]);
    const noKey = await tp.post('/api/v1/consent', { anonymousId: 'a', purposes: {} }, { writeKey: null });
    expect(noKey.status).toBe(400);
    const missingKey = await tp.post(
      '/api/v1/consent',
      { anonymousId: 'a', purposes: { analytics: false } },
      { writeKey: null },
    );
    expect(missingKey.body.error.code).toBe('DEEPREF_MISSING_WRITE_KEY');
    const noSubject = await sdkConsent(tp, { purposes: { analytics: false } });
    expect(noSubject.body.error.code).toBe('DEEPREF_CONSENT_NO_SUBJECT');
  });
});

describe('consent gate, opt-in mode', () => {
  let tp: TestPlatform;
  beforeAll(async () => {
    tp = await startTestPlatform({ consent: { mode: 'opt-in' } });
  });
  afterAll(async () => {
    await tp?.close();
  });

  it('drops analytics events until granted, stores data_collection events, and carries an anonymous grant to the user', async () => {
    const anonymousId = `anon-${randomUUID()}`;
    const userId = `user-${randomUUID()}`;
    const results = await send(tp, [analyticsEvent({ anonymousId }), dataCollectionEvent({ anonymousId })]);
    expect(results.map((r) => r.status)).toEqual(['dropped', 'accepted']);
    expect(results[0]?.message).toContain('consent mode opt-in');

    // The SDK grants while anonymous, then the visitor signs in.
    expect((await sdkConsent(tp, { anonymousId, purposes: { analytics: true } })).status).toBe(200);
    expect((await send(tp, [analyticsEvent({ anonymousId })]))[0]?.status).toBe('accepted');
    expect((await send(tp, [analyticsEvent({ userId })]))[0]?.status).toBe('dropped');
    const identify = identifyEvent(userId, anonymousId);
    expect((await send(tp, [identify]))[0]?.status).toBe('accepted');
    expect((await send(tp, [analyticsEvent({ userId })]))[0]?.status).toBe('accepted');
  });
});
