import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DetectionMemo } from './detection-memo.ts';
import { anyText, fieldName } from './pii-arbitraries.ts';
import { defaultThreshold, detectInField, detectSpans, fieldType, mayHoldSpans } from './recognizers.ts';

describe('mayHoldSpans', () => {
  it('is false only for text in which no recognizer finds anything, whatever the field', () => {
    fc.assert(
      fc.property(anyText, fieldName, fc.boolean(), (text, key, personNameKey) => {
        if (mayHoldSpans(text)) return;
        expect(detectSpans(text, { key, threshold: 0 })).toEqual([]);
        const type = fieldType(key, personNameKey);
        if (type !== 'person_name' && type !== 'date_of_birth') {
          expect(detectInField(key, text, { threshold: 0, personNameKey })).toEqual([]);
        }
      }),
      { numRuns: 5_000 },
    );
  });

  it('says yes for an @, a colon or four digits anywhere', () => {
    expect(mayHoldSpans('Pricing page')).toBe(false);
    expect(mayHoldSpans('v1.2.3')).toBe(false);
    expect(mayHoldSpans('x@y')).toBe(true);
    expect(mayHoldSpans('a:b')).toBe(true);
    expect(mayHoldSpans('1 2 3 4')).toBe(true);
  });
});

describe('DetectionMemo', () => {
  it('finds what detectInField finds, for repeated and new values, with or without a person’s name key', () => {
    const memo = new DetectionMemo(defaultThreshold);
    // Few keys and values, so that most runs ask the memo again about something it has seen.
    const seen: [string, string][] = [];
    const pair = fc.oneof(
      fc.tuple(fieldName, anyText),
      fc.nat().map((i) => seen[i % Math.max(1, seen.length)] ?? ['note', 'a@b.co']),
    );
    fc.assert(
      fc.property(pair, fc.boolean(), ([key, text], personNameKey) => {
        seen.push([key, text]);
        const expected = detectInField(key, text, { threshold: defaultThreshold, personNameKey });
        expect(memo.detect(key, text, personNameKey)).toEqual(expected);
        expect(memo.detect(key, text, personNameKey)).toEqual(expected);
      }),
      { numRuns: 5_000 },
    );
  });

  it('stays right once emptied for being full, and for values too long to remember', () => {
    const memo = new DetectionMemo(defaultThreshold);
    for (let i = 0; i < 25_000; i++) {
      const text = i % 2 === 0 ? `call 415-555-${String(i % 10_000).padStart(4, '0')}` : `page ${i}`;
      const key = i % 3 === 0 ? `field_${i}` : 'note';
      expect(memo.detect(key, text, false)).toEqual(
        detectInField(key, text, { threshold: defaultThreshold }),
      );
    }
    const long = `${'x'.repeat(600)} jane@example.com`;
    expect(memo.detect('note', long, false)).toEqual(detectInField('note', long));
    expect(memo.detect('name', 'Jane Doe', true)).toEqual(
      detectInField('name', 'Jane Doe', { personNameKey: true }),
    );
    expect(memo.detect('name', 'Jane Doe', false)).toEqual([]);
  });
});
