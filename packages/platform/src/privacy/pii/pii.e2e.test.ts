/**
 * The PII policy end to end, through the real collector and the real files: clear-text emails, phone numbers,
 * card numbers, IP addresses and prompts reach no file under the data directory (log, metadata, warehouse, lake,
 * dead letters), the prompt decrypts with its subject's key until the subject is erased, and a dead letter is
 * stored scrubbed.
 */
import { randomInt, randomUUID } from 'node:crypto';
import type { StoredEvent } from '@deepref/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deadLettersAfter,
  filesContaining,
  lastDeadLetterId,
  rowsMentioning,
  storedEvents,
} from '../../testing/e2e-checks.ts';
import { startTestPlatform, type TestPlatform } from '../../testing/test-platform.ts';
import { isEncrypted } from '../crypto/field-encryption.ts';
import { Pseudonymizer } from '../pseudonymize.ts';
import { decryptEventFields } from './encrypted-fields.ts';
import { luhnValid } from './recognizers.ts';

/** A Visa-shaped card number that passes Luhn, different in every run. */
function cardNumber(): string {
  const body = `4${Array.from({ length: 14 }, () => randomInt(10)).join('')}`;
  const check = [...'0123456789'].find((d) => luhnValid(body + d))!;
  return body + check;
}

const tag = randomUUID().slice(0, 8);
const alice = `user-alice-${tag}`;
const bob = `user-bob-${tag}`;
const clear = {
  aliceEmail: `alice.${tag}@example.com`,
  bobEmail: `bob.${tag}@example.org`,
  phone: `+1 415 555 ${String(randomInt(1000, 10000))}`,
  card: cardNumber(),
  ip: `198.51.100.${randomInt(1, 255)}`,
  contextIp: `203.0.113.${randomInt(1, 255)}`,
  alicePrompt: `Draft a reply to my landlord about the leak ${tag}-a`,
  bobPrompt: `Summarize the quarterly plan ${tag}-b`,
  textEmail: `carol.${tag}@example.net`,
};
/** Not PII: must be found by the same checks, or the checks prove nothing. */
const control = `control-marker-${tag}`;

function promptEvent(userId: string, promptText: string) {
  return {
    eventId: randomUUID(),
    eventName: 'prompt_submission',
    timestamp: new Date().toISOString(),
    userId,
    properties: {
      prompt_id: randomUUID(),
      model_used: 'gpt-4o',
      prompt_length: promptText.length,
      prompt_text: promptText,
      conversation_id: control,
    },
  };
}

function contactEvent() {
  return {
    eventId: randomUUID(),
    eventName: 'support_contact',
    timestamp: new Date().toISOString(),
    userId: alice,
    properties: {
      email: clear.aliceEmail,
      phone: clear.phone,
      card_number: clear.card,
      client_ip: clear.ip,
      note: `Write to ${clear.textEmail} or call ${clear.phone} (ticket ${control})`,
    },
    context: { ip: clear.contextIp, page: { url: `https://app.example/contact?ref=${control}` } },
  };
}

/** A stored event whose properties a test reads by name. */
type Event = StoredEvent & { properties: Record<string, unknown> };

describe('PII policy through the real collector', () => {
  let tp: TestPlatform;
  let events: Map<string, Event>;
  const ids = { alicePrompt: '', bobPrompt: '', contact: '' };

  beforeAll(async () => {
    tp = await startTestPlatform();
    const batch = [promptEvent(alice, clear.alicePrompt), promptEvent(bob, clear.bobPrompt), contactEvent()];
    [ids.alicePrompt, ids.bobPrompt, ids.contact] = batch.map((event): string => event.eventId) as [
      string,
      string,
      string,
    ];
    const response = await tp.post('/api/telemetry/events', batch);
    expect(response.status).toBe(200);
    expect(response.body.results.map((r: { status: string }) => r.status)).toEqual([
      'accepted',
      'accepted',
      'accepted',
    ]);
    const identify = await tp.post('/v1/identify', {
      userId: bob,
      messageId: randomUUID(),
      timestamp: new Date().toISOString(),
      traits: { email: clear.bobEmail, name: 'Robert Example', plan: control },
    });
    expect(identify.status).toBe(200);
    await tp.platform.drain();
    events = (await storedEvents(tp)) as Map<string, Event>;
  });
  afterAll(async () => {
    await tp?.close();
  });

  it('leaves no clear-text value in any file under the data directory, nor in any warehouse or lake row', async () => {
    expect(filesContaining(`${tp.dataDir}/log`, control).length).toBeGreaterThan(0);
    expect(await rowsMentioning(tp, control)).toEqual({ warehouse: 4, lake: 4 });
    for (const [what, value] of Object.entries(clear)) {
      expect(filesContaining(tp.dataDir, value), what).toEqual([]);
      expect(await rowsMentioning(tp, value), what).toEqual({ warehouse: 0, lake: 0 });
    }
  });

  it('pseudonymizes the email, phone and IP, drops the card and masks what it finds in free text', () => {
    const pseudonyms = new Pseudonymizer(`${tp.dataDir}/secrets`);
    const { properties } = events.get(ids.contact)!;
    expect(properties).toEqual({
      // A keyed pseudonym of the normalized value: the same address in capitals has the same pseudonym.
      email: pseudonyms.pseudonymize('analytics', 'email', clear.aliceEmail.toUpperCase()),
      phone: pseudonyms.pseudonymize('analytics', 'phone', clear.phone.replaceAll(' ', '')),
      client_ip: pseudonyms.pseudonymize('analytics', 'ip', clear.ip),
      note: `Write to car***@***.*** or call ***-***-${clear.phone.slice(-4)} (ticket ${control})`,
    });
    const traits = [...events.values()].find((event) => event.type === 'identify')!.traits;
    expect(traits).toEqual({
      email: pseudonyms.pseudonymize('analytics', 'email', clear.bobEmail),
      name: 'R*** E***',
      plan: control,
    });
  });

  it('encrypts prompt_text under its subject, and only that subject’s key decrypts it', async () => {
    const aliceEvent = events.get(ids.alicePrompt)!;
    const bobEvent = events.get(ids.bobPrompt)!;
    expect(isEncrypted(aliceEvent.properties.prompt_text)).toBe(true);
    const decrypted = await decryptEventFields(aliceEvent, tp.platform.keyStore);
    expect(decrypted.properties.prompt_text).toBe(clear.alicePrompt);
    expect((await decryptEventFields(bobEvent, tp.platform.keyStore)).properties.prompt_text).toBe(
      clear.bobPrompt,
    );
    // Bob's ciphertext written into Alice's event does not decrypt under her key.
    const swapped = { ...aliceEvent, properties: { ...bobEvent.properties } };
    await expect(decryptEventFields(swapped, tp.platform.keyStore)).rejects.toMatchObject({
      code: 'DEEPREF_DECRYPT_FAILED',
    });
  });

  it('stores a dead letter with its email pseudonymized, its prompt encrypted and spans masked', async () => {
    const after = await lastDeadLetterId(tp);
    const email = `dave.${tag}@example.com`;
    const prompt = `Remind me to call ${clear.phone} ${tag}-dead`;
    const invalid = {
      eventId: randomUUID(),
      eventName: 'prompt_submission',
      timestamp: new Date().toISOString(),
      userId: alice,
      // prompt_id is missing: a schema violation.
      properties: { model_used: 'gpt-4o', prompt_length: 3, prompt_text: prompt, contact: email },
      stray: `from ${clear.ip}`,
    };
    // Past the size limit: stored cut short, so it is scrubbed as text, not as JSON.
    const long = promptEvent(bob, 'x'.repeat(40_000));
    const cut = { ...long, properties: { note: `mail ${email}`, ...long.properties } };
    const response = await tp.post('/api/telemetry/events', [invalid, cut]);
    expect(response.body.results.map((r: { status: string }) => r.status)).toEqual(['rejected', 'rejected']);
    const [parsed, truncated] = await deadLettersAfter(tp, after);
    const raw = JSON.parse(parsed!.raw);
    expect(raw.properties.contact).toBe(
      new Pseudonymizer(`${tp.dataDir}/secrets`).pseudonymize('analytics', 'email', email),
    );
    expect(isEncrypted(raw.properties.prompt_text)).toBe(true);
    expect((await decryptEventFields(raw, tp.platform.keyStore)).properties.prompt_text).toBe(prompt);
    expect(raw.stray).toBe(`from ${clear.ip.split('.')[0]}.***.***.***`);
    expect(truncated!.raw).toContain(`"note":"mail dav***@***.***"`);
    expect(truncated!.raw).toContain('"prompt_text":"***');
    for (const value of [email, prompt, clear.ip])
      expect(filesContaining(tp.dataDir, value), value).toEqual([]);
  });

  it('after the subject is erased its prompt no longer decrypts, while another subject’s still does', async () => {
    await tp.platform.keyStore.destroy(alice);
    await expect(
      decryptEventFields(events.get(ids.alicePrompt)!, tp.platform.keyStore),
    ).rejects.toMatchObject({
      code: 'DEEPREF_SUBJECT_ERASED',
    });
    const bobEvent = (await storedEvents(tp)).get(ids.bobPrompt)! as Event;
    expect((await decryptEventFields(bobEvent, tp.platform.keyStore)).properties.prompt_text).toBe(
      clear.bobPrompt,
    );
  });
});
