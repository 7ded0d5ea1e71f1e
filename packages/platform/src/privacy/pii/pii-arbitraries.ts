/**
 * Test data for the PII property tests: field names the recognizers and rules care about, and strings built from
 * the fragments PII is made of (addresses, numbers, separators, context words), next to arbitrary ones.
 */
import fc from 'fast-check';

/** Field names with a meaning to the policy (named types, URL fields, context words, rules), and a few without. */
export const fieldNames = [
  'name',
  'full_name',
  'firstName',
  'dob',
  'birthday',
  'email',
  'phone',
  'ssn',
  'card_number',
  'ip',
  'url',
  'page_url',
  'referrer',
  'order_id',
  'note',
  'title',
  'plan',
  'tags',
  'memo',
  'traits',
  'context',
  'prompt_text',
  'password',
  'device_fingerprint',
  'comment',
  'x',
  '',
] as const;

export const fieldName = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...fieldNames) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);

const fragment = fc.oneof(
  fc.constantFrom(
    'jane.doe@example.com',
    'a@b.co',
    'icon@2x.png',
    '+44 20 7946 0958',
    '(415) 555-0100',
    '415-555-0100',
    '4155550100',
    '020 7946 0958',
    '4111 1111 1111 1111',
    '4111111111111111',
    '378282246310005',
    '123-45-6789',
    '123 45 6789',
    '203.0.113.7',
    '1.2.3.4',
    '10.0.0.1',
    '2001:db8::1',
    '::1',
    'http://10.0.0.5/x?ip=203.0.113.9',
    'https://[2001:db8::1]/docs',
    'Jane Doe',
    "O'Brien",
    '1990-04-12',
    'order #',
    'phone ',
    'card ',
    'no. ',
    'Chrome/120.0.0.0',
    'ps_',
    'enc:v1:',
    ' ',
    '\n',
    'é',
    '@',
    ':',
    '.',
    '-',
    '(',
    ')',
    '+',
  ),
  fc.ipV4(),
  fc.ipV6(),
  fc.emailAddress(),
  fc.stringMatching(/^\d{1,16}$/),
  fc.string({ maxLength: 6 }),
);

/** Text made of PII fragments, with or without spaces between them. */
export const piiText = fc
  .tuple(fc.array(fragment, { maxLength: 5 }), fc.constantFrom('', ' ', ', '))
  .map(([parts, separator]) => parts.join(separator));

/** Values a pseudonym or an encryption left: the policy never touches them again. */
export const protectedText = fc.oneof(
  fc.stringMatching(/^ps_[A-Za-z0-9_-]{22}$/),
  fc.stringMatching(/^enc:v1:[A-Za-z0-9_-]{11}:[A-Za-z0-9_-]{38,60}$/),
);

/** Any string, PII text, or an already protected value. */
export const anyText = fc.oneof(
  { weight: 3, arbitrary: piiText },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 1, arbitrary: protectedText },
);
