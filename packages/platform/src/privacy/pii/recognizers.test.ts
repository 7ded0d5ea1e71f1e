import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maskValue } from './masking.ts';
import { type Detection, detectInField, detectSpans, luhnValid } from './recognizers.ts';

const found = (text: string, detections: Detection[]) =>
  detections.map((d) => [d.type, text.slice(d.start, d.end)]);

const digit = fc.integer({ min: 0, max: 9 }).map(String);
const digits = (n: number) => fc.array(digit, { minLength: n, maxLength: n }).map((d) => d.join(''));

/** A card number of a known network (prefix, length) with its Luhn check digit. */
const cardNumber = fc
  .constantFrom(
    ['4', 16],
    ['4', 13],
    ['51', 16],
    ['55', 16],
    ['2221', 16],
    ['34', 15],
    ['37', 15],
    ['6011', 16],
    ['3528', 16],
    ['62', 16],
  )
  .chain(([prefix, length]) =>
    digits((length as number) - (prefix as string).length - 1).map((middle) => {
      const body = `${prefix}${middle}`;
      return body + [...'0123456789'].find((d) => luhnValid(body + d))!;
    }),
  );

/** The number written plain, or grouped as printed on the card (4-4-4-4, Amex 4-6-5) by spaces, dashes or dots. */
const cardText = fc.tuple(cardNumber, fc.constantFrom('', ' ', '-', '.')).map(([card, separator]) => {
  if (separator === '' || card.length === 13) return card;
  if (card.length === 15) return [card.slice(0, 4), card.slice(4, 10), card.slice(10)].join(separator);
  return card.replace(/(\d{4})(?=\d)/g, `$1${separator}`);
});

const word = fc.constantFrom('paid', 'with', 'the', 'thanks', 'today', 'and', 'please', 'ok', 'new', 'hello');
const sentence = (value: fc.Arbitrary<string>) =>
  fc
    .tuple(fc.array(word, { maxLength: 4 }), value, fc.array(word, { maxLength: 4 }))
    .map(([before, v, after]) => ({ text: [...before, v, ...after].join(' '), value: v }));

describe('recognizers: property tests', () => {
  it('finds every Luhn-valid card of a known network, in any grouping, amid ordinary words', () => {
    fc.assert(
      fc.property(sentence(cardText), ({ text, value }) => {
        expect(found(text, detectSpans(text))).toEqual([['credit_card', value]]);
      }),
    );
  });

  it('finds no card once any one digit is changed (Luhn catches every single-digit error)', () => {
    fc.assert(
      fc.property(cardNumber, fc.nat(), fc.integer({ min: 1, max: 9 }), (card, at, delta) => {
        const i = at % card.length;
        const changed = card.slice(0, i) + ((Number(card[i]) + delta) % 10) + card.slice(i + 1);
        expect(detectSpans(`card ${changed}`).filter((d) => d.type === 'credit_card')).toEqual([]);
      }),
    );
  });

  it('finds a dashed SSN exactly when its area, group and serial follow the SSA rules', () => {
    fc.assert(
      fc.property(digits(3), digits(2), digits(4), (area, group, serial) => {
        const valid =
          area !== '000' && area !== '666' && area[0] !== '9' && group !== '00' && serial !== '0000';
        const text = `ssn ${area}-${group}-${serial}`;
        expect(found(text, detectSpans(text))).toEqual(valid ? [['ssn', `${area}-${group}-${serial}`]] : []);
      }),
    );
  });

  it('finds every IPv4 address, and IPv6 addresses of two groups or more', () => {
    fc.assert(
      fc.property(sentence(fc.ipV4()), ({ text, value }) => {
        expect(found(text, detectSpans(text))).toEqual([['ip_address', value]]);
      }),
    );
    const fullIpv6 = fc
      .array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 })
      .map((g) => g.map((n) => n.toString(16)).join(':'));
    fc.assert(
      fc.property(sentence(fullIpv6), ({ text, value }) => {
        expect(found(text, detectSpans(text))).toEqual([['ip_address', value]]);
      }),
    );
  });

  it('finds plain email addresses whole', () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
    const email = fc
      .tuple(
        fc.stringMatching(/^[a-z0-9]([a-z0-9._+-]{0,15}[a-z0-9])?$/),
        fc.array(label, { minLength: 1, maxLength: 3 }),
        fc.constantFrom('com', 'org', 'io', 'de', 'co', 'info'),
      )
      .filter(([local]) => !local.includes('..'))
      .map(([local, labels, tld]) => `${local}@${labels.join('.')}.${tld}`);
    fc.assert(
      fc.property(sentence(email), ({ text, value }) => {
        expect(found(text, detectSpans(text))).toEqual([['email', value]]);
      }),
    );
  });

  it('never takes a UUID, an ISO timestamp, an epoch time or a version string for PII', () => {
    const nearMiss = fc.oneof(
      fc.uuid(),
      fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString()),
      fc.integer({ min: 1e9, max: 2e9 }).map((t) => `timestamp ${t}`),
      fc.integer({ min: 1e12, max: 2e12 }).map((t) => `ts ${t}`),
      fc.tuple(fc.nat(30), fc.nat(30), fc.nat(300)).map(([a, b, c]) => `v${a}.${b}.${c}`),
      fc.tuple(fc.nat(30), fc.nat(30), fc.nat(30), fc.nat(30)).map((v) => `version ${v.join('.')}`),
    );
    fc.assert(
      fc.property(nearMiss, (text) => {
        expect(detectSpans(text)).toEqual([]);
      }),
    );
  });

  it('masks to a form that is found again by no recognizer and keeps at most four digits', () => {
    const pii = fc.oneof(
      cardText.map((v) => ['credit_card', v] as const),
      fc.ipV4().map((v) => ['ip_address', v] as const),
      fc.tuple(digits(3), digits(2), digits(4)).map(([a, g, s]) => ['ssn', `${a}-${g}-${s}`] as const),
      digits(7).map((d) => ['phone', `+1 415 ${d.slice(0, 3)} ${d.slice(3)}`] as const),
    );
    fc.assert(
      fc.property(pii, ([type, value]) => {
        const masked = maskValue(type, value);
        expect(detectSpans(`${type} ${masked}`)).toEqual([]);
        expect(masked.replace(/\D/g, '').length).toBeLessThanOrEqual(4);
        expect(masked).not.toContain(value);
      }),
    );
  });
});

describe('recognizers: context words', () => {
  it('lowers an ambiguous digit run after order, id, timestamp, invoice or tracking', () => {
    for (const word of ['order', 'id', 'invoice', 'tracking', 'timestamp']) {
      expect(detectSpans(`${word} 4111 1111 1111 1111`), word).toEqual([]);
      expect(detectSpans(`${word} 415-555-0100`), word).toEqual([]);
      expect(detectSpans(`${word} 123-45-6789`), word).toEqual([]);
    }
    expect(found('card 4111 1111 1111 1111', detectSpans('card 4111 1111 1111 1111'))).toEqual([
      ['credit_card', '4111 1111 1111 1111'],
    ]);
  });

  it('reads the field name as context: a bare number is a phone in `phone` and an id in `order_id`', () => {
    expect(found('4155550100', detectInField('phone', '4155550100'))).toEqual([['phone', '4155550100']]);
    expect(detectInField('order_id', '4155550100')).toEqual([]);
    expect(detectSpans('4155550100')).toEqual([]);
    expect(found('123456789', detectInField('ssn', '123456789'))).toEqual([['ssn', '123456789']]);
    expect(detectInField('zip_code', '123456789')).toEqual([]);
  });

  it('takes names and dates of birth only from fields named for them', () => {
    expect(found('Jane Doe', detectInField('full_name', 'Jane Doe'))).toEqual([['person_name', 'Jane Doe']]);
    expect(found('Jane Doe', detectInField('name', 'Jane Doe', { personNameKey: true }))).toEqual([
      ['person_name', 'Jane Doe'],
    ]);
    expect(detectInField('name', 'Pricing page')).toEqual([]);
    expect(found('1990-04-12', detectInField('dateOfBirth', '1990-04-12'))).toEqual([
      ['date_of_birth', '1990-04-12'],
    ]);
    expect(detectInField('created_at', '1990-04-12')).toEqual([]);
  });
});

describe('masking formats (reference §7.1)', () => {
  it('writes each type as §7.1 does', () => {
    expect(maskValue('email', 'jane.doe@example.com')).toBe('jan***@***.***');
    expect(maskValue('email', 'jo@x.io')).toBe('j***@***.***');
    expect(maskValue('phone', '+1 (415) 555-0100')).toBe('***-***-0100');
    expect(maskValue('ssn', '123-45-6789')).toBe('***-**-6789');
    expect(maskValue('credit_card', '4111 1111 1111 1111')).toBe('****-****-****-1111');
    expect(maskValue('ip_address', '203.0.113.7')).toBe('203.***.***.***');
    expect(maskValue('ip_address', '2001:db8::1')).toBe('2001:****:****:****:****:****:****:****');
    expect(maskValue('person_name', 'José María Álvarez')).toBe('J*** Á***');
    expect(maskValue('date_of_birth', '1990-04-12')).toBe('**/**/****');
  });
});

describe('recognizers: URLs', () => {
  it("keeps the address a page was served from, and still finds a visitor's address or email in the URL", () => {
    expect(detectInField('url', 'http://127.0.0.1:8080/example?x=1')).toEqual([]);
    expect(detectInField('page_url', 'https://[2001:db8::1]/docs')).toEqual([]);
    const types = detectInField('url', 'http://10.0.0.5/track?client=203.0.113.7&mail=ann@example.com').map(
      (d) => d.type,
    );
    expect(types).toEqual(['ip_address', 'email']);
    // A value that is a URL counts as one whatever its field; in free text an address is detected as ever.
    expect(detectInField('source', 'http://127.0.0.1:5173/app.js')).toEqual([]);
    expect(detectInField('note', 'served from http://127.0.0.1/').map((d) => d.type)).toEqual(['ip_address']);
  });
});
