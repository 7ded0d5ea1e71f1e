import { createHash, createHmac, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { StoredEvent } from '@deepref/schema';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EdgeContext, EdgeDecision } from '../../collector/pipeline.ts';
import { isEncrypted } from '../crypto/field-encryption.ts';
import type { KeyStore } from '../keys/key-store.ts';
import { openLocalKeyStore } from '../keys/local/local-key-store.ts';
import { Pseudonymizer } from '../pseudonymize.ts';
import { CachedKeyStore } from './cached-key-store.ts';
import { decryptEventFields } from './encrypted-fields.ts';
import { createPiiStage, type PiiStage } from './pii-stage.ts';
import { type PrivacyConfig, privacyConfig } from './policy.ts';

let dir: string;
let inner: KeyStore;
let lookups: string[];
let keyStore: CachedKeyStore;

const context: EdgeContext = { sourceId: 'src', receivedAt: new Date(), request: {} };

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-pii-'));
  const local = await openLocalKeyStore({
    masterKeyFile: path.join(dir, 'secrets', 'master.key'),
    databaseFile: path.join(dir, 'keys.db'),
  });
  lookups = [];
  // Counts the lookups that reach the store, to see the cache and the batching at work.
  inner = {
    dataKeyFor: (subject) => {
      lookups.push(subject);
      return local.dataKeyFor(subject);
    },
    existingDataKey: (subject) => local.existingDataKey(subject),
    destroy: (subject) => local.destroy(subject),
    rotateMasterKey: () => local.rotateMasterKey(),
    close: () => local.close(),
  };
  keyStore = new CachedKeyStore(inner, 2);
});
afterEach(async () => {
  await keyStore.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function stage(overrides: Partial<PrivacyConfig> = {}): PiiStage {
  return createPiiStage({
    config: privacyConfig(overrides),
    keyStore,
    pseudonymizer: new Pseudonymizer(path.join(dir, 'secrets')),
  });
}

function event(fields: Partial<StoredEvent> = {}): StoredEvent {
  return {
    eventId: randomUUID(),
    type: 'track',
    eventName: 'support_contact',
    timestamp: '2026-03-01T12:00:00.000Z',
    originalTimestamp: '2026-03-01T12:00:00.000Z',
    receivedAt: '2026-03-01T12:00:00.000Z',
    sourceId: 'src',
    device: { deviceType: 'unknown' },
    userId: 'user-1',
    properties: {},
    ...fields,
  };
}

/** A stored event whose properties a test reads by name. */
type Event = StoredEvent & { properties: Record<string, unknown> };
const kept = (decisions: EdgeDecision[]) =>
  decisions.map((d) => ('event' in d ? d.event : undefined)! as Event);
const pseudonym = (purpose: string, kind: 'email' | 'phone' | 'ip' | 'id', value: string) =>
  new Pseudonymizer(path.join(dir, 'secrets')).pseudonymize(purpose, kind, value);

describe('PII stage: the default policy', () => {
  it('pseudonymizes whole emails, phones and IPs, drops cards and SSNs, masks spans, names and birth dates', async () => {
    const [out] = kept(
      await stage().apply(
        [
          event({
            properties: {
              email: ' Jane.Doe@Example.com ',
              backup_contact: '+44 20 7946 0958',
              seen_from: '203.0.113.7',
              card: '4111 1111 1111 1111',
              tax: { ssn: '123-45-6789' },
              note: 'ping jane@example.com from 2001:db8::1, order 4111111111111111',
              numbers: [4111111111111111, 12, 'plain'],
              plan: 'pro',
              password: 'hunter2',
            },
            traits: { name: 'Jane Doe', dob: '1990-04-12', first_name: 'Jane' },
            context: {
              page: { url: 'https://app.example/?email=jane@example.com' },
              library: { name: 'sdk' },
            },
          }),
        ],
        context,
      ),
    );
    expect(out!.properties).toEqual({
      email: pseudonym('analytics', 'email', 'jane.doe@example.com'),
      backup_contact: pseudonym('analytics', 'phone', '+442079460958'),
      seen_from: pseudonym('analytics', 'ip', '203.0.113.7'),
      tax: {},
      note: 'ping ja***@***.*** from 2001:****:****:****:****:****:****:****, order 4111111111111111',
      numbers: [null, 12, 'plain'],
      plan: 'pro',
    });
    expect(out!.traits).toEqual({ name: 'J*** D***', dob: '**/**/****', first_name: 'J***' });
    expect(out!.context).toEqual({
      page: { url: 'https://app.example/?email=ja***@***.***' },
      library: { name: 'sdk' },
    });
  });

  it('encrypts AI free text and the taxonomy’s sensitive fields under the subject (userId, else anonymousId)', async () => {
    const prompt = event({
      eventName: 'prompt_submission',
      properties: { prompt_text: 'mail me at a@b.co' },
    });
    const login = event({
      eventName: 'login',
      userId: undefined,
      anonymousId: 'anon-7',
      properties: { method: 'password', success: true, device_fingerprint: 'fp-123' },
    });
    const [p, l] = kept(await stage().apply([prompt, login], context));
    if (!p || !l) throw new Error('no decision');
    expect(isEncrypted(p!.properties.prompt_text)).toBe(true);
    expect(isEncrypted(l!.properties.device_fingerprint)).toBe(true);
    expect((await decryptEventFields(p!, keyStore)).properties.prompt_text).toBe('mail me at a@b.co');
    expect((await decryptEventFields(l!, keyStore)).properties).toEqual(login.properties);
    expect(lookups.sort()).toEqual(['anon-7', 'user-1']);
  });

  it('leaves an event without PII as the same object, and an already protected event unchanged', async () => {
    const plain = event({ properties: { plan: 'pro', count: 3, ok: true } });
    const [same] = kept(await stage().apply([plain], context));
    expect(same).toBe(plain);
    const sensitive = event({
      properties: { prompt_text: 'hello', email: 'a@example.com', note: 'call 415-555-0100' },
    });
    const [once] = kept(await stage().apply([sensitive], context));
    const [twice] = kept(await stage().apply([once!], context));
    expect(twice).toEqual(once);
  });
});

describe('PII stage: configured rules', () => {
  it('lets an event’s rules win over field rules, field rules over types, and applies each action', async () => {
    const s = stage({
      types: { email: 'mask' } as PrivacyConfig['types'],
      fields: { plan: 'drop', account_ref: 'pseudonymize', memo: 'encrypt', tags: 'mask' },
      events: { checkout: { plan: 'keep', prompt_text: 'mask' } },
    });
    const [other, checkout] = kept(
      await s.apply(
        [
          event({
            properties: {
              plan: 'pro',
              account_ref: 'acct-42',
              contact: 'jo.smith@example.com',
              tags: ['a', 'b'],
            },
          }),
          event({
            eventName: 'checkout',
            properties: { plan: 'pro', prompt_text: 'secret plan', memo: { a: 1 } },
          }),
        ],
        context,
      ),
    );
    expect(other!.properties).toEqual({
      account_ref: pseudonym('analytics', 'id', 'acct-42'),
      contact: 'jo.***@***.***',
      // A rule covers the whole value, whatever its type.
      tags: '***',
    });
    expect(checkout!.properties.plan).toBe('pro');
    expect(checkout!.properties.prompt_text).toBe('***');
    // A non-string value is encrypted as its JSON text.
    expect((await decryptEventFields(checkout!, keyStore)).properties.memo).toBe('{"a":1}');
  });
});

describe('PII stage: data keys', () => {
  it('looks each subject’s key up once per batch, keeps at most the configured number, and evicts on destroy', async () => {
    const s = stage();
    const batch = Array.from({ length: 90 }, (_, i) =>
      event({ userId: `user-${i % 3}`, properties: { prompt_text: `text ${i}` } }),
    );
    await s.apply(batch, context);
    expect(lookups.sort()).toEqual(['user-0', 'user-1', 'user-2']);
    expect(keyStore.size).toBe(2);
    lookups = [];
    await s.apply(batch.slice(0, 2), context);
    expect(lookups).toEqual(['user-0']);

    const [before] = kept(
      await s.apply([event({ userId: 'user-1', properties: { prompt_text: 'x' } })], context),
    );
    await keyStore.destroy('user-1');
    await expect(decryptEventFields(before!, keyStore)).rejects.toMatchObject({
      code: 'DEEPREF_SUBJECT_ERASED',
    });
    const [after] = kept(
      await s.apply([event({ userId: 'user-1', properties: { prompt_text: 'y' } })], context),
    );
    expect((await decryptEventFields(after!, keyStore)).properties.prompt_text).toBe('y');
    await expect(decryptEventFields(before!, keyStore)).rejects.toMatchObject({
      code: 'DEEPREF_DECRYPT_FAILED',
    });
  });
});

describe('PII stage: pseudonyms resist a dictionary', () => {
  it('gives 10,000 emails and IPs pseudonyms that match no unkeyed hash, and different ones per purpose', async () => {
    const emails = Array.from({ length: 10_000 }, (_, i) => `person${i}@example.com`);
    const ips = Array.from({ length: 10_000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.${(i * 7) % 256}`);
    const batch = emails.map((email, i) => event({ properties: { email, ip: ips[i] } }));
    const analytics = kept(await stage().apply(batch, context));
    const marketing = kept(await stage({ pseudonymPurpose: 'marketing' }).apply(batch, context));

    // What an attacker who knows the inputs but not the secret can compute: every encoding of their bare hashes.
    const dictionary = new Set<string>();
    for (const input of [...emails, ...ips]) {
      for (const digest of [
        createHash('sha256').update(input).digest(),
        createHmac('sha256', '').update(input).digest(),
        createHmac('sha256', '').update(`deepref-pseudonym:v1\0email\0${input}`).digest(),
        createHmac('sha256', '').update(`deepref-pseudonym:v1\0ip\0${input}`).digest(),
      ]) {
        dictionary.add(`ps_${digest.subarray(0, 16).toString('base64url')}`);
        dictionary.add(digest.toString('hex'));
        dictionary.add(digest.toString('hex').slice(0, 16));
      }
    }
    const seen = new Set<string>();
    analytics.forEach((out, i) => {
      for (const field of ['email', 'ip'] as const) {
        const value = out.properties[field] as string;
        expect(value).toMatch(/^ps_[A-Za-z0-9_-]{22}$/);
        expect(dictionary.has(value)).toBe(false);
        expect(marketing[i]!.properties[field]).not.toBe(value);
        seen.add(value);
      }
    });
    expect(seen.size).toBe(20_000);
  }, 180_000);
});

describe('PII stage: dead letters', () => {
  it('scrubs a JSON payload like an event, keeping the envelope and masking keys outside it', async () => {
    const raw = JSON.stringify({
      context: { ip: '203.0.113.0', page: { url: 'https://app.example/?to=x.y@example.com' } },
      eventId: 'not-a-uuid',
      eventName: 'prompt_submission',
      userId: 'user-9',
      properties: { prompt_text: 'hi', email: 'x.y@example.com' },
      email_typo: 'x.y@example.com',
      note: 'call +1 415 555 0100',
    });
    const scrubbed = JSON.parse(await stage().scrubDeadLetter(raw));
    expect(scrubbed.eventId).toBe('not-a-uuid');
    expect(scrubbed.userId).toBe('user-9');
    expect((await decryptEventFields(scrubbed, keyStore)).properties.prompt_text).toBe('hi');
    expect(scrubbed.properties.email).toBe(pseudonym('analytics', 'email', 'x.y@example.com'));
    expect(scrubbed.email_typo).toBe(pseudonym('analytics', 'email', 'x.y@example.com'));
    expect(scrubbed.note).toBe('call ***-***-0100');
    // What the IP policy kept of the address is left to it.
    expect(scrubbed.context).toEqual({
      ip: '203.0.113.0',
      page: { url: 'https://app.example/?to=x***@***.***' },
    });
  });

  it('drops what it would encrypt when the payload names no subject, and scrubs text that is no JSON', async () => {
    const noSubject = JSON.parse(
      await stage().scrubDeadLetter(JSON.stringify({ properties: { prompt_text: 'hi', n: 1 } })),
    );
    expect(noSubject).toEqual({ properties: { n: 1 } });
    const cut =
      '{"properties":{"note":"mail a.b@example.com","prompt_text":"my ssn is 123-45-6789 and…[truncated by deepref]';
    expect(await stage().scrubDeadLetter(cut)).toBe(
      '{"properties":{"note":"mail a***@***.***","prompt_text":"***…[truncated by deepref]',
    );
  });
});

describe('PII stage: cost', () => {
  it('measures the cost per event on a realistic batch', async () => {
    const s = stage({ dataKeyCacheSize: 1000 } as Partial<PrivacyConfig>);
    const kinds = [
      () => ({
        eventName: 'page_view',
        properties: {
          path: '/docs/getting-started',
          title: 'Getting started',
          referrer: 'https://www.google.com/',
        },
      }),
      () => ({
        eventName: 'api_latency',
        properties: { endpoint: '/api/documents/:id', method: 'GET', status_code: 200, duration_ms: 12 },
      }),
      () => ({
        eventName: 'prompt_submission',
        properties: {
          prompt_id: randomUUID(),
          model_used: 'gpt-4o',
          prompt_length: 120,
          prompt_text: 'Summarize the attached contract and list the renewal dates.',
        },
      }),
      () => ({
        eventName: 'signup',
        properties: { email: `u${Math.random()}@example.com`, plan: 'trial', referral_code: 'SPRING24' },
      }),
      () => ({
        eventName: 'feature_used',
        properties: { feature: 'export_csv', rows: 1200, note: 'exported for the quarterly review' },
      }),
    ];
    const batch = Array.from({ length: 2000 }, (_, i) =>
      event({
        ...kinds[i % kinds.length]!(),
        userId: `user-${i % 200}`,
        context: {
          page: { url: 'https://app.example/docs/getting-started?utm_source=newsletter' },
          userAgent:
            'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
          locale: 'en-US',
          library: { name: '@deepref/browser', version: '1.4.2' },
        },
      }),
    );
    await s.apply(batch, context); // warm: keys created, code compiled
    const started = performance.now();
    const rounds = 5;
    let encrypted = 0;
    for (let round = 0; round < rounds; round++) {
      for (const out of kept(await s.apply(batch, context)))
        if (isEncrypted(out.properties.prompt_text)) encrypted++;
    }
    const micros = ((performance.now() - started) * 1000) / (rounds * batch.length);
    // The reference, measured in the same run: serializing the event, which the log append does anyway.
    const referenceStarted = performance.now();
    let bytes = 0;
    for (let round = 0; round < rounds; round++) for (const e of batch) bytes += JSON.stringify(e).length;
    const reference = ((performance.now() - referenceStarted) * 1000) / (rounds * batch.length);
    console.log(
      `PII stage: ${micros.toFixed(1)} µs per event; JSON.stringify of the same event ${reference.toFixed(1)} µs ` +
        `(ratio ${(micros / reference).toFixed(1)}; batch of ${batch.length}, 200 subjects, ${rounds} rounds)`,
    );
    expect(bytes).toBeGreaterThan(0);
    expect(encrypted).toBe((rounds * batch.length) / kinds.length);
  });
});
