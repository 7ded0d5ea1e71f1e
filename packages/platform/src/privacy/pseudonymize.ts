/**
 * Keyed pseudonyms: HMAC-SHA256 of a normalized value under a secret per purpose, written `ps_<22 base64url>`.
 * A bare SHA-256 is reversed by a dictionary (there are only 2^32 IPv4 addresses); without the secret no one can
 * rebuild these, and one person's pseudonyms under two purposes cannot be joined.
 */
import { createHmac } from 'node:crypto';
import net from 'node:net';
import { DeeprefError } from '../errors.ts';
import { loadOrCreateSecret } from '../secrets.ts';

export type PseudonymKind = 'email' | 'phone' | 'ip' | 'id';

export interface NormalizeOptions {
  /** Read gmail.com and googlemail.com addresses as Gmail does: dots and a `+tag` in the local part do not count. */
  gmailAliases?: boolean;
  /** Country calling code (digits, e.g. `49`) for phone numbers written without one. */
  defaultCountryCode?: string;
}

const purposeName = /^[a-z][a-z0-9_]{0,62}$/;

/** Pseudonyms under secrets kept in `<secretsDir>/pseudonym-<purpose>.key`, created on first use. */
export class Pseudonymizer {
  readonly #secretsDir: string;
  readonly #options: NormalizeOptions;
  readonly #secrets = new Map<string, Buffer>();

  constructor(secretsDir: string, options: NormalizeOptions = {}) {
    this.#secretsDir = secretsDir;
    this.#options = options;
  }

  /** The pseudonym of `value` for `purpose` (e.g. `analytics`); equal inputs after normalization give equal pseudonyms. */
  pseudonymize(purpose: string, kind: PseudonymKind, value: string): string {
    return pseudonymWithSecret(this.#secretFor(purpose), kind, normalize(kind, value, this.#options));
  }

  #secretFor(purpose: string): Buffer {
    if (!purposeName.test(purpose)) {
      throw new TypeError(
        `A pseudonym purpose is a lowercase name such as "analytics"; got ${JSON.stringify(purpose)}.`,
      );
    }
    let secret = this.#secrets.get(purpose);
    if (!secret) {
      secret = loadOrCreateSecret(this.#secretsDir, `pseudonym-${purpose}`);
      this.#secrets.set(purpose, secret);
    }
    return secret;
  }
}

/** The pseudonym of an already normalized value; the kind is mixed in so an id and an email never collide. */
export function pseudonymWithSecret(secret: Buffer, kind: PseudonymKind, normalized: string): string {
  const mac = createHmac('sha256', secret).update(`deepref-pseudonym:v1\0${kind}\0${normalized}`).digest();
  return `ps_${mac.subarray(0, 16).toString('base64url')}`;
}

export function normalize(kind: PseudonymKind, value: string, options: NormalizeOptions = {}): string {
  switch (kind) {
    case 'email':
      return normalizeEmail(value, options);
    case 'phone':
      return normalizePhone(value, options);
    case 'ip':
      return normalizeIp(value);
    case 'id':
      return value.trim().normalize('NFC');
  }
}

/** Trimmed and lowercased; with `gmailAliases`, Gmail's dots and `+tag` removed and googlemail.com read as gmail.com. */
export function normalizeEmail(value: string, options: NormalizeOptions = {}): string {
  const email = value.trim().toLowerCase();
  const at = email.lastIndexOf('@');
  let local = email.slice(0, at);
  let domain = email.slice(at + 1);
  if (at <= 0 || domain.length === 0 || /\s/.test(email)) {
    throw new DeeprefError('DEEPREF_INVALID_PSEUDONYM_INPUT', {
      kind: 'email',
      detail: 'expected local-part@domain without spaces',
    });
  }
  if (options.gmailAliases && (domain === 'gmail.com' || domain === 'googlemail.com')) {
    domain = 'gmail.com';
    local = local.split('+')[0]!.replaceAll('.', '');
    if (local.length === 0) {
      throw new DeeprefError('DEEPREF_INVALID_PSEUDONYM_INPUT', {
        kind: 'email',
        detail: 'the Gmail address has no name before its dots and +tag',
      });
    }
  }
  return `${local}@${domain}`;
}

/**
 * `+` and the digits with the country code (E.164): `+49 (0)30 1234-567` stays international, `0049…` becomes
 * `+49…`, and a national number gets `defaultCountryCode` after its trunk `0` is dropped.
 */
export function normalizePhone(value: string, options: NormalizeOptions = {}): string {
  const phone = value.trim();
  const invalid = (detail: string) =>
    new DeeprefError('DEEPREF_INVALID_PSEUDONYM_INPUT', { kind: 'phone', detail });
  if (!/^\+?[\d\s().\-/]+$/.test(phone)) {
    throw invalid('only digits, spaces, ( ) . - / and a leading + are allowed');
  }
  // "+49 (0)30 …" writes the trunk prefix a caller dials only inside the country.
  let digits = phone.replace(/\(0\)/, '').replace(/\D/g, '');
  if (phone.startsWith('+')) {
    // already international
  } else if (digits.startsWith('00')) {
    digits = digits.slice(2);
  } else if (options.defaultCountryCode) {
    if (!/^\d{1,3}$/.test(options.defaultCountryCode)) throw invalid('defaultCountryCode must be 1-3 digits');
    digits = options.defaultCountryCode + digits.replace(/^0+/, '');
  } else {
    throw invalid('the number has no country code (+ or 00) and no defaultCountryCode is set');
  }
  if (digits.length < 7 || digits.length > 15) throw invalid('an international number has 7 to 15 digits');
  return `+${digits}`;
}

/** The canonical text of an IP address: IPv4 dotted decimal, IPv6 as RFC 5952, IPv4-mapped IPv6 as IPv4. */
export function normalizeIp(value: string): string {
  let ip = value.trim();
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  // A zone (fe80::1%eth0) names the local interface, not the address.
  ip = ip.split('%')[0]!;
  if (net.isIPv4(ip)) return ip;
  if (!net.isIPv6(ip)) {
    throw new DeeprefError('DEEPREF_INVALID_PSEUDONYM_INPUT', {
      kind: 'ip',
      detail: 'expected an IPv4 address without leading zeros or an IPv6 address',
    });
  }
  // WHATWG URL serializes IPv6 hosts as RFC 5952 does: lowercase, no leading zeros, longest zero run as ::.
  const canonical = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (mapped) {
    const high = Number.parseInt(mapped[1]!, 16);
    const low = Number.parseInt(mapped[2]!, 16);
    return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
  }
  return canonical;
}
