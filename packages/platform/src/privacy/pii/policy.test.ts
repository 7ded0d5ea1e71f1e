import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fieldNames } from './pii-arbitraries.ts';
import { eventFieldRules, fieldRule, type PrivacyConfig, piiActions, privacyConfig } from './policy.ts';

const eventNames = ['page_view', 'prompt_submission', 'login', 'feedback_given', 'checkout', 'constructor'];
const key = fc.oneof(fc.constantFrom(...fieldNames, '__proto__', 'toString', 'length'), fc.string());
const rules = fc.dictionary(key, fc.constantFrom(...piiActions), { maxKeys: 6 });

describe('eventFieldRules', () => {
  it('gives every field of an event the rule fieldRule gives it, at the top level of properties and below', () => {
    const config = fc.record({
      fields: rules,
      events: fc.dictionary(fc.constantFrom(...eventNames), rules, { maxKeys: 3 }),
    });
    fc.assert(
      fc.property(config, fc.constantFrom(...eventNames), fc.array(key), (overrides, eventName, keys) => {
        const merged: PrivacyConfig = privacyConfig(overrides);
        const compiled = eventFieldRules(merged, eventName);
        for (const k of [...keys, ...Object.keys(merged.fields), 'prompt_text', 'device_fingerprint']) {
          expect(compiled.topLevel.get(k)).toBe(fieldRule(merged, eventName, k, true));
          expect(compiled.nested.get(k)).toBe(fieldRule(merged, eventName, k, false));
        }
      }),
      { numRuns: 1_000 },
    );
  });
});
