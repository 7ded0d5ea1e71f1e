/**
 * The PII recognizers: find emails, phone numbers, US SSNs, payment card numbers and IP addresses in text, and
 * person names and dates of birth in fields named for them. Each candidate gets a confidence from its shape and
 * its validity (Luhn and IIN for cards, area/group/serial for SSNs, a real IPv4/IPv6 address), moved up or down by
 * the words before it and by the field's name ("order", "id", "timestamp" lower an ambiguous digit run; "phone",
 * "card", "ssn" raise it); a detection counts from the threshold on.
 */
import { isIPv4, isIPv6 } from 'node:net';

export const piiTypes = [
  'email',
  'phone',
  'ssn',
  'credit_card',
  'ip_address',
  'person_name',
  'date_of_birth',
] as const;
export type PiiType = (typeof piiTypes)[number];

export interface Detection {
  type: PiiType;
  /** UTF-16 offsets into the scanned text: `text.slice(start, end)` is the detected value. */
  start: number;
  end: number;
  /** Confidence in [0, 1] after the context adjustments. */
  score: number;
}

export interface DetectOptions {
  /** The name of the field the text is the value of; its words count as context. */
  key?: string;
  /** Detections below this score are not returned; default `defaultThreshold`. */
  threshold?: number;
}

/** A detection counts from here: a Luhn-valid card of a known issuer or a dashed SSN passes alone, a bare run of digits needs a context word. */
export const defaultThreshold = 0.5;

/** Raise the score of a candidate of the type when they stand before it (or in its field's name). */
const supportingWords: Record<PiiType, ReadonlySet<string>> = {
  email: new Set(['email', 'mail', 'e']),
  phone: new Set([
    'phone',
    'tel',
    'telephone',
    'call',
    'mobile',
    'cell',
    'sms',
    'whatsapp',
    'fax',
    'contact',
  ]),
  ssn: new Set(['ssn', 'social', 'security', 'ssa', 'taxpayer', 'itin']),
  credit_card: new Set([
    'card',
    'credit',
    'debit',
    'visa',
    'mastercard',
    'amex',
    'discover',
    'cc',
    'pan',
    'cardnumber',
  ]),
  ip_address: new Set(['ip', 'ipv4', 'ipv6', 'address', 'host', 'client', 'remote', 'addr', 'from']),
  person_name: new Set(),
  date_of_birth: new Set(),
};

/** Words that say a digit run is an identifier, a time or a version rather than a person's number. */
const contradictingWords: ReadonlySet<string> = new Set([
  'order',
  'orders',
  'id',
  'ids',
  'timestamp',
  'ts',
  'time',
  'epoch',
  'invoice',
  'tracking',
  'shipment',
  'version',
  'ver',
  'build',
  'release',
  'ref',
  'reference',
  'sku',
  'serial',
  'zip',
  'postal',
  'postcode',
  'isbn',
  'uuid',
  'txn',
  'transaction',
  'ticket',
  'item',
  'product',
  'confirmation',
  'booking',
  'request',
  'trace',
  'span',
  'checksum',
]);

const supportBonus = 0.3;
const contradictionPenalty = 0.45;
/** How far before a candidate context words are looked for, in characters. */
const contextWindow = 40;

/** Only digit runs are ambiguous; an email or IPv6 address is not an order id whatever stands before it. */
const contextSensitive: ReadonlySet<PiiType> = new Set(['phone', 'ssn', 'credit_card', 'ip_address']);

/** File extensions that make `name@2x.png` an asset name rather than an address. */
const fileExtensions = new Set([
  'png',
  'jpg',
  'jpeg',
  'gif',
  'svg',
  'webp',
  'avif',
  'ico',
  'js',
  'css',
  'map',
]);

// Unicode letters in the local part and the domain (RFC 6531, IDN); an apostrophe inside the local part (o'brien).
const emailPattern =
  /(?<![\p{L}\p{N}._%+-])[\p{L}\p{N}](?:[\p{L}\p{N}._%+'-]{0,62}[\p{L}\p{N}_%+-])?@(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+(\p{L}{2,24})(?![\p{L}\p{N}_-])/gu;
// Not after a product token (`Chrome/120.0.0.0`) or inside a longer dotted run; a sentence's full stop may follow.
const ipv4Pattern = /(?<![\w.])(?<![A-Za-z]\/)(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)/g;
const ipv6Pattern =
  /(?<![\w:.])(?:[0-9A-Fa-f]{1,4}:|::)(?:[0-9A-Fa-f]{0,4}:){0,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?(?![\w:])/g;
const ssnPattern = /(?<![\w.+-])(\d{3})([ -]?)(\d{2})\2(\d{4})(?![\w-]|\.\d)/g;
const cardPattern = /(?<![\w.+-])\d(?:[ .-]?\d){11,18}(?![\w-]|\.\d)/g;
const phonePattern = /(?<![\w.+(-])(?:\+\(?|\()?\d[\d ().-]{5,22}\d(?![\w-]|\.\d)/g;

/**
 * The detections in `text`, best first where candidates overlap, then in order of position. Only emails, phone
 * numbers, SSNs, cards and IP addresses are found in free text; names and dates of birth need their field
 * (`detectInField`).
 */
export function detectSpans(text: string, options: DetectOptions = {}): Detection[] {
  const threshold = options.threshold ?? defaultThreshold;
  // One pass to learn which recognizers can match at all: most strings have no @, no colon and few digits.
  let digits = 0;
  let at = false;
  let colon = false;
  let dot = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 64) at = true;
    else if (c === 58) colon = true;
    else if (c === 46) dot = true;
  }
  if (!at && !colon && digits < 4) return [];

  const candidates: Detection[] = [];
  const keyWords = options.key === undefined ? [] : wordsOfKey(options.key);
  const add = (type: PiiType, start: number, end: number, base: number) => {
    const score = contextSensitive.has(type) ? adjust(type, base, text, start, keyWords) : base;
    if (score >= threshold) candidates.push({ type, start, end, score });
  };

  if (at) {
    for (const match of text.matchAll(emailPattern)) {
      const tld = match[1]!.toLowerCase();
      add('email', match.index, match.index + match[0].length, fileExtensions.has(tld) ? 0.1 : 0.95);
    }
  }
  if (digits >= 4 && dot) {
    for (const match of text.matchAll(ipv4Pattern)) {
      if (isIPv4(match[0])) add('ip_address', match.index, match.index + match[0].length, 0.85);
    }
  }
  if (colon && text.indexOf(':') !== text.lastIndexOf(':')) {
    for (const match of text.matchAll(ipv6Pattern)) {
      const base = ipv6Score(match[0]);
      if (base > 0) add('ip_address', match.index, match.index + match[0].length, base);
    }
  }
  if (digits >= 9) {
    for (const match of text.matchAll(ssnPattern)) {
      const base = ssnScore(match[1]!, match[2]!, match[3]!, match[4]!);
      if (base > 0) add('ssn', match.index, match.index + match[0].length, base);
    }
    for (const match of text.matchAll(phonePattern)) {
      const base = phoneScore(match[0]);
      if (base > 0) add('phone', match.index, match.index + match[0].length, base);
    }
  }
  if (digits >= 12) {
    for (const match of text.matchAll(cardPattern)) {
      const base = cardScore(match[0]);
      if (base > 0) add('credit_card', match.index, match.index + match[0].length, base);
    }
  }
  return resolveOverlaps(candidates);
}

/**
 * Whether `detectSpans` can find anything in `text` at all (its first check, on its own): every recognizer needs an
 * `@` (email), a `:` (IPv6) or four digits (IPv4, SSN, phone, card). Most values (page titles, button and plan
 * names) have none; the scan stops as soon as the answer is yes. detection-memo.test.ts checks it against the
 * recognizers themselves.
 */
export function mayHoldSpans(text: string): boolean {
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (++digits === 4) return true;
    } else if (c === 64 || c === 58) return true;
  }
  return false;
}

/** Keeps the best of overlapping candidates (higher score, then longer), in order of position. */
function resolveOverlaps(candidates: Detection[]): Detection[] {
  if (candidates.length < 2) return candidates;
  candidates.sort((a, b) => b.score - a.score || b.end - b.start - (a.end - a.start) || a.start - b.start);
  const kept: Detection[] = [];
  for (const candidate of candidates) {
    if (kept.every((k) => candidate.end <= k.start || candidate.start >= k.end)) kept.push(candidate);
  }
  return kept.sort((a, b) => a.start - b.start);
}

/** The score after the words before the candidate and the field's name are taken into account. */
function adjust(type: PiiType, base: number, text: string, start: number, keyWords: string[]): number {
  let supported = false;
  let contradicted = false;
  const consider = (word: string) => {
    if (supportingWords[type].has(word)) supported = true;
    else if (contradictingWords.has(word)) contradicted = true;
  };
  for (const word of keyWords) consider(word);
  const before = text.slice(Math.max(0, start - contextWindow), start);
  for (const match of before.toLowerCase().matchAll(/[a-z]+/g)) consider(match[0]);
  // `#4111…` and `no. 4111…` number something; people do not write their phone number that way.
  if (/(?:#|\bno\.?)\s*$/i.test(before)) contradicted = true;
  let score = base;
  if (supported) score += supportBonus;
  if (contradicted) score -= contradictionPenalty;
  return Math.min(1, Math.max(0, score));
}

// Field names repeat from event to event: their words are worked out once (the map is emptied when full).
const keyWordsCache = new Map<string, string[]>();
const keyWordsCacheSize = 4096;

/** The words of a field name: `orderId`, `order_id` and `order-id` all give `order`, `id`. */
export function wordsOfKey(key: string): string[] {
  let words = keyWordsCache.get(key);
  if (words === undefined) {
    words = key
      .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter((word) => word.length > 0);
    if (keyWordsCache.size >= keyWordsCacheSize) keyWordsCache.clear();
    keyWordsCache.set(key, words);
  }
  return words;
}

/** Whether a number passes the Luhn check (every card number does; a random one only one time in ten). */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** The issuer networks by IIN prefix and the lengths their card numbers have. */
const issuers: { name: string; prefix: (iin: number) => boolean; lengths: readonly number[] }[] = [
  { name: 'visa', prefix: (iin) => Math.floor(iin / 100000) === 4, lengths: [13, 16, 19] },
  {
    name: 'mastercard',
    prefix: (iin) => (iin >= 510000 && iin < 560000) || (iin >= 222100 && iin < 272100),
    lengths: [16],
  },
  {
    name: 'amex',
    prefix: (iin) => Math.floor(iin / 10000) === 34 || Math.floor(iin / 10000) === 37,
    lengths: [15],
  },
  {
    name: 'discover',
    prefix: (iin) =>
      Math.floor(iin / 100) === 6011 || (iin >= 644000 && iin < 660000) || (iin >= 622126 && iin <= 622925),
    lengths: [16, 17, 18, 19],
  },
  {
    name: 'diners',
    prefix: (iin) =>
      (iin >= 300000 && iin < 306000) || Math.floor(iin / 10000) === 36 || Math.floor(iin / 10000) === 38,
    lengths: [14, 15, 16, 17, 18, 19],
  },
  { name: 'jcb', prefix: (iin) => iin >= 352800 && iin < 359000, lengths: [16, 17, 18, 19] },
  { name: 'unionpay', prefix: (iin) => Math.floor(iin / 10000) === 62, lengths: [16, 17, 18, 19] },
  {
    name: 'maestro',
    prefix: (iin) => Math.floor(iin / 10000) === 50 || (iin >= 560000 && iin < 700000),
    lengths: [12, 13, 14, 15, 16, 17, 18, 19],
  },
];

/** Whether the digits have the prefix and length of a known card network. */
export function knownIssuer(digits: string): boolean {
  const iin = Number(digits.slice(0, 6));
  return issuers.some((issuer) => issuer.prefix(iin) && issuer.lengths.includes(digits.length));
}

function cardScore(candidate: string): number {
  // Groups are split by one kind of separator throughout, or by none.
  const separators = candidate.replace(/\d/g, '');
  if (separators.length > 0 && !/^(?: +|-+|\.+)$/.test(separators)) return 0;
  if (separators.length > 0 && candidate.split(/[ .-]/).some((group) => group.length < 3)) return 0;
  const digits = candidate.replace(/\D/g, '');
  if (digits.length < 12 || digits.length > 19 || /^(\d)\1+$/.test(digits) || !luhnValid(digits)) return 0;
  return knownIssuer(digits) ? 0.9 : 0.35;
}

/** SSA rules: area 001-899 except 666, group 01-99, serial 0001-9999. Dashes make it an SSN; bare digits need context. */
function ssnScore(area: string, separator: string, group: string, serial: string): number {
  if (area === '000' || area === '666' || area[0] === '9' || group === '00' || serial === '0000') return 0;
  if (separator === '-') return 0.85;
  return separator === ' ' ? 0.6 : 0.3;
}

function ipv6Score(candidate: string): number {
  if (!isIPv6(candidate)) return 0;
  const groups = candidate.split(':').filter((group) => group.length > 0);
  // `::`, `::1` and `a::b` are too short to be anything but code (`std::`), loopback or chance.
  if (groups.length < 2 || candidate.length < 6) return 0;
  return 0.85;
}

/**
 * Phone shapes: international (`+` and 8-15 digits), `00` and a country code, North American (`(415) 555-0100`,
 * `415-555-0100`, `415.555.0100`, with or without `+1`/`1`), and national numbers with a trunk `0` written in
 * groups (`020 7946 0958`, `030 1234567`, `01 23 45 67 89`). Ten bare digits are only likely.
 */
export function phoneScore(candidate: string): number {
  if (/[ ().-]{2}/.test(candidate.replace(/\) /g, ')').replace(/ \(/g, '('))) return 0;
  const open = candidate.indexOf('(');
  const close = candidate.indexOf(')');
  if ((open === -1) !== (close === -1) || close < open || candidate.lastIndexOf('(') !== open) return 0;
  const digits = candidate.replace(/\D/g, '');
  const separated = /[ ().-]/.test(candidate);
  if (candidate.startsWith('+')) {
    return digits.length >= 8 && digits.length <= 15 && digits[0] !== '0' ? 0.85 : 0;
  }
  if (candidate.startsWith('00')) {
    return separated && digits.length >= 10 && digits.length <= 17 && digits[2] !== '0' ? 0.65 : 0;
  }
  const national = digits.length === 11 && digits[0] === '1' ? digits.slice(1) : digits;
  const nanp = national.length === 10 && /^[2-9]\d\d[2-9]\d{6}$/.test(national);
  if (nanp && /^(?:1[ .-]?)?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}$/.test(candidate)) return 0.8;
  if (!separated) return nanp ? 0.45 : 0;
  if (
    candidate.startsWith('0') &&
    // Ten digits or more: the 3-2-4 shape of an SSN (nine) is not read as a national number.
    digits.length >= 10 &&
    digits.length <= 11 &&
    /^0\d{1,4}(?:[ -]\d{2,8}){1,4}$/.test(candidate)
  ) {
    return 0.65;
  }
  return 0;
}

/** Field names (by their words joined, `first_name` → `firstname`) that hold one kind of PII. */
const fieldTypes = new Map<string, PiiType>([
  ...['email', 'emailaddress', 'mail', 'useremail', 'contactemail', 'workemail', 'personalemail'].map(
    (key) => [key, 'email'] as const,
  ),
  ...[
    'phone',
    'phonenumber',
    'mobile',
    'mobilephone',
    'mobilenumber',
    'cell',
    'cellphone',
    'tel',
    'telephone',
    'fax',
    'msisdn',
    'contactphone',
  ].map((key) => [key, 'phone'] as const),
  ...['ssn', 'socialsecuritynumber', 'socialsecurity'].map((key) => [key, 'ssn'] as const),
  ...['creditcard', 'creditcardnumber', 'cardnumber', 'ccnumber', 'cc', 'pan'].map(
    (key) => [key, 'credit_card'] as const,
  ),
  ...['ip', 'ipaddress', 'clientip', 'remoteip', 'sourceip', 'userip', 'remoteaddr', 'xforwardedfor'].map(
    (key) => [key, 'ip_address'] as const,
  ),
  ...[
    'firstname',
    'lastname',
    'fullname',
    'givenname',
    'familyname',
    'surname',
    'middlename',
    'maidenname',
    'displayname',
    'customername',
    'contactname',
    'cardholdername',
    'billingname',
    'shippingname',
  ].map((key) => [key, 'person_name'] as const),
  ...['dob', 'dateofbirth', 'birthdate', 'birthday', 'bornon'].map((key) => [key, 'date_of_birth'] as const),
]);

/**
 * The PII type a field of this name holds, if its name says. A bare `name` is a person only where the caller
 * knows it is (`personNameKey`: the top level of `traits`); elsewhere it names pages, plans and libraries.
 */
export function fieldType(key: string, personNameKey = false): PiiType | undefined {
  const joined = wordsOfKey(key).join('');
  if (personNameKey && joined === 'name') return 'person_name';
  return fieldTypes.get(joined);
}

const personName = /^\p{L}[\p{L}\p{M}'’.-]*(?:\s+\p{L}[\p{L}\p{M}'’.-]*){0,5}$/u;

/**
 * The detections in the value of a field: the whole value when the field's name says it holds a name or a date
 * of birth (and it looks like one), else what `detectSpans` finds with the field's name as context.
 */
export function detectInField(
  key: string,
  value: string,
  options: DetectOptions & { personNameKey?: boolean } = {},
): Detection[] {
  const type = fieldType(key, options.personNameKey);
  const trimmed = value.trim();
  const start = value.indexOf(trimmed);
  const whole = (t: PiiType): Detection[] => [{ type: t, start, end: start + trimmed.length, score: 0.9 }];
  if (type === 'person_name' && trimmed.length <= 128 && personName.test(trimmed)) return whole(type);
  if (type === 'date_of_birth' && /\d/.test(trimmed) && trimmed.length <= 64) return whole(type);
  const spans = detectSpans(value, { ...options, key });
  // In a URL (a URL field, or a value that is one), an address right after `//` is the host the page or script
  // was served from (a server), not a visitor's.
  return urlKey.test(key) || /^[a-z][a-z0-9+.-]*:\/\//i.test(value.trimStart())
    ? spans.filter(
        (span) => !(span.type === 'ip_address' && /\/\/(?:[^@/\s]*@)?\[?$/.test(value.slice(0, span.start))),
      )
    : spans;
}

/** Fields that hold URLs: page URLs, referrers, links. */
const urlKey = /(^|_)(url|uri|href|referrer|referer|link)$/i;
