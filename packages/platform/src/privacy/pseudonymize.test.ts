import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalize, normalizeEmail, normalizeIp, normalizePhone, Pseudonymizer } from './pseudonymize.ts';

let dir: string;
let secretsDir: string;
let pseudonyms: Pseudonymizer;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-pseudonyms-'));
  secretsDir = path.join(dir, 'secrets');
  pseudonyms = new Pseudonymizer(secretsDir, { gmailAliases: true });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('pseudonyms', () => {
  it('are ps_ and 22 base64url characters, stable across restarts, under a 0600 secret per purpose', () => {
    const first = pseudonyms.pseudonymize('analytics', 'email', 'alice@example.com');
    expect(first).toMatch(/^ps_[A-Za-z0-9_-]{22}$/);
    expect(new Pseudonymizer(secretsDir).pseudonymize('analytics', 'email', 'alice@example.com')).toBe(first);
    expect(fs.statSync(path.join(secretsDir, 'pseudonym-analytics.key')).mode & 0o777).toBe(0o600);
  });

  it('give equal pseudonyms to inputs that normalize alike', () => {
    const p = (kind: 'email' | 'phone' | 'ip', value: string) =>
      pseudonyms.pseudonymize('analytics', kind, value);
    expect(p('email', '  Alice.Smith+news@GoogleMail.com ')).toBe(p('email', 'alicesmith@gmail.com'));
    expect(p('phone', '+1 (555) 123-4567')).toBe(p('phone', '001 555 123 4567'));
    expect(p('ip', '2001:DB8:0:0:0:0:0:1')).toBe(p('ip', '2001:db8::1'));
    expect(p('ip', '::ffff:192.0.2.1')).toBe(p('ip', '192.0.2.1'));
    expect(p('email', 'bob@example.com')).not.toBe(p('email', 'bob2@example.com'));
  });

  it('keep kinds apart: the same text as an id and as an email differ', () => {
    expect(pseudonyms.pseudonymize('analytics', 'id', 'a@b.c')).not.toBe(
      pseudonyms.pseudonymize('analytics', 'email', 'a@b.c'),
    );
  });

  it('refuse a purpose that is not a plain lowercase name', () => {
    expect(() => pseudonyms.pseudonymize('../etc', 'id', 'x')).toThrow(TypeError);
  });
});

describe('pseudonyms under a dictionary attack', () => {
  const emails = Array.from({ length: 10_000 }, (_, i) => `user${i}@example.com`);
  const ips = Array.from({ length: 10_000 }, (_, i) => `10.${(i >> 8) & 0xff}.${i & 0xff}.${i % 7}`);
  const prefix = 8;

  function sha256Prefixes(inputs: string[]): Set<string> {
    const prefixes = new Set<string>();
    for (const input of inputs) {
      const digest = createHash('sha256').update(input).digest();
      for (const text of [digest.toString('hex'), digest.toString('base64url'), digest.toString('base64')]) {
        prefixes.add(text.slice(0, prefix));
      }
    }
    return prefixes;
  }

  it.each([
    ['emails', 'email', emails],
    ['IPv4 addresses', 'ip', ips],
  ] as const)('never match or share a prefix with SHA-256 of the %s', (_, kind, inputs) => {
    const table = sha256Prefixes(inputs);
    const body = (value: string) => pseudonyms.pseudonymize('analytics', kind, value).slice(3);
    const seen = new Set<string>();
    for (const input of inputs) {
      const pseudonym = body(input);
      expect(table.has(pseudonym.slice(0, prefix))).toBe(false);
      seen.add(pseudonym);
    }
    expect(seen.size).toBe(inputs.length);
  });

  it('gives the same input unrelated pseudonyms under two purposes', () => {
    const analytics = new Set<string>();
    const marketing = new Set<string>();
    for (const email of emails) {
      analytics.add(pseudonyms.pseudonymize('analytics', 'email', email).slice(3, 3 + prefix));
      marketing.add(pseudonyms.pseudonymize('marketing', 'email', email).slice(3, 3 + prefix));
    }
    expect(analytics.size).toBe(emails.length);
    expect([...marketing].filter((p) => analytics.has(p))).toEqual([]);
  });
});

describe('normalization', () => {
  it('writes emails trimmed and lowercased, Gmail aliases only when asked', () => {
    expect(normalizeEmail('  Alice.Smith+news@GoogleMail.com ')).toBe('alice.smith+news@googlemail.com');
    expect(normalizeEmail('Alice.Smith+news@GoogleMail.com', { gmailAliases: true })).toBe(
      'alicesmith@gmail.com',
    );
    expect(normalizeEmail('a.b+c@example.com', { gmailAliases: true })).toBe('a.b+c@example.com');
    expect(() => normalizeEmail('not an email')).toThrow(
      expect.objectContaining({ code: 'DEEPREF_INVALID_PSEUDONYM_INPUT' }),
    );
  });

  it('writes phone numbers as + and digits with the country code', () => {
    expect(normalizePhone('+1 (555) 123-4567')).toBe('+15551234567');
    expect(normalizePhone('0049 30 1234567')).toBe('+49301234567');
    expect(normalizePhone('+49 (0)30 1234567')).toBe('+49301234567');
    expect(normalizePhone('030/1234567', { defaultCountryCode: '49' })).toBe('+49301234567');
    expect(() => normalizePhone('030 1234567')).toThrow(/no country code/);
    expect(() => normalizePhone('+1 555 CALL NOW')).toThrow(
      expect.objectContaining({ code: 'DEEPREF_INVALID_PSEUDONYM_INPUT' }),
    );
  });

  it('writes IP addresses in canonical form', () => {
    expect(normalizeIp(' 192.0.2.1 ')).toBe('192.0.2.1');
    expect(normalizeIp('2001:0DB8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(normalizeIp('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(normalizeIp('[fe80::1%eth0]')).toBe('fe80::1');
    expect(normalizeIp('::ffff:c000:0201')).toBe('192.0.2.1');
    expect(() => normalizeIp('010.0.0.1')).toThrow(
      expect.objectContaining({ code: 'DEEPREF_INVALID_PSEUDONYM_INPUT' }),
    );
  });

  const messyCase = (text: string) =>
    fc
      .array(fc.boolean(), { minLength: text.length, maxLength: text.length })
      .map((upper) => [...text].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(''));
  const padded = (text: fc.Arbitrary<string>) =>
    fc
      .tuple(fc.constantFrom('', ' ', '\t', '  '), text, fc.constantFrom('', ' ', '\n'))
      .map((p) => p.join(''));

  it('is idempotent for emails, phones and IP addresses', () => {
    const idempotent = (kind: 'email' | 'phone' | 'ip', value: string, options = {}) => {
      const once = normalize(kind, value, options);
      expect(normalize(kind, once, options)).toBe(once);
    };
    const gmail = fc
      .tuple(
        fc.stringMatching(/^[a-z][a-z0-9.]{0,10}(\+[a-z0-9]{1,5})?$/),
        fc.constantFrom('gmail.com', 'googlemail.com'),
      )
      .map(([local, domain]) => `${local}@${domain}`);
    fc.assert(
      fc.property(padded(fc.emailAddress().chain(messyCase)), (email) => {
        idempotent('email', email);
        idempotent('email', email, { gmailAliases: true });
      }),
    );
    fc.assert(
      fc.property(padded(gmail.chain(messyCase)), (email) =>
        idempotent('email', email, { gmailAliases: true }),
      ),
    );
    fc.assert(
      fc.property(
        fc.constantFrom('+', '00', ''),
        fc.stringMatching(/^[1-9]\d{0,3}$/),
        fc.array(fc.stringMatching(/^\d{1,4}$/), { minLength: 1, maxLength: 4 }),
        fc.constantFrom(' ', '-', '.', '/'),
        (lead, first, groups, separator) => {
          const phone = `${lead}${[first, ...groups].join(separator)}`;
          const digits = phone.replace(/\D/g, '').replace(/^00/, '');
          fc.pre(digits.length >= 7 && digits.length <= 13);
          idempotent('phone', phone, { defaultCountryCode: '44' });
        },
      ),
    );
    fc.assert(fc.property(padded(fc.oneof(fc.ipV4(), fc.ipV6())), (ip) => idempotent('ip', ip)));
  });
});
