import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { Pseudonymizer } from '../pseudonymize.ts';
import { ReferencePolicyApplier } from './apply-policy.reference.ts';
import { PolicyApplier, type PolicyOutcome, type PolicyRoot } from './apply-policy.ts';
import { anyText, fieldName } from './pii-arbitraries.ts';
import { type PrivacyConfig, piiActions, privacyConfig } from './policy.ts';
import { piiTypes } from './recognizers.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-apply-policy-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const pseudonymizer = new Pseudonymizer(path.join(dir, 'secrets'));

// `group` names no person in its traits; `login` and `prompt_submission` have sensitive fields in the taxonomy.
const eventNames = ['page_view', 'prompt_submission', 'login', 'identify', 'group', 'checkout'];

const leaf = fc.oneof(
  { weight: 6, arbitrary: anyText },
  { weight: 1, arbitrary: fc.integer() },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      4111111111111111,
      4155550100,
      123456789,
      2079460958,
      -4155550100,
      1e8,
      99999999,
    ),
  },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.constantFrom(true, false, null) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);
const { object } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(fieldName, tie('value'), { maxKeys: 6 }),
}));
/** A root is an object (Segment's `context.traits` and `context.ip` included), now and then something else. */
const root = fc.oneof(
  { weight: 8, arbitrary: object },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
);
const parts = fc.record(
  {
    properties: root,
    traits: root,
    context: fc.oneof(root, fc.record({ traits: object, ip: anyText, page: object }, { requiredKeys: [] })),
  },
  { requiredKeys: [] },
);

const action = fc.constantFrom(...piiActions);
const rules = fc.dictionary(fieldName, action, { maxKeys: 5 });
/** Configs with every action for types, field names and event names. */
const config = fc
  .record(
    {
      types: fc.record(Object.fromEntries(piiTypes.map((type) => [type, action])) as never),
      fields: rules,
      events: fc.dictionary(fc.constantFrom(...eventNames), rules, { maxKeys: 3 }),
      threshold: fc.constantFrom(0.3, 0.5, 0.9),
    },
    { requiredKeys: [] },
  )
  .map((overrides) => privacyConfig(overrides as Partial<PrivacyConfig>));

/** The outcome as it would be stored: pending values written where they belong (as stand-in ciphertext). */
function stored(outcome: PolicyOutcome): string {
  for (const p of outcome.pending) {
    (p.target as Record<string | number, unknown>)[p.slot] = `enc(${p.fieldPath}|${p.plaintext})`;
  }
  return JSON.stringify(outcome.parts);
}

function expectSameOutcome(
  applier: PolicyApplier,
  reference: ReferencePolicyApplier,
  eventName: string,
  input: Partial<Record<PolicyRoot, unknown>>,
  canEncrypt: boolean,
) {
  const before = JSON.stringify(input);
  const expected = reference.apply(eventName, input, canEncrypt);
  const actual = applier.apply(eventName, input, canEncrypt);
  expect(actual.changed).toBe(expected.changed);
  expect(applier.changes(eventName, input)).toBe(expected.changed > 0);
  const pendingOf = (o: PolicyOutcome) => o.pending.map((p) => [p.slot, p.fieldPath, p.plaintext]);
  expect(pendingOf(actual)).toEqual(pendingOf(expected));
  expect(stored(actual)).toBe(stored(expected));
  expect(JSON.stringify(input)).toBe(before);
}

describe('PolicyApplier', () => {
  it('rewrites as the straightforward walk does under the default policy, with and without a subject', () => {
    // One applier for all runs: its memos fill up as the collector's do.
    const applier = new PolicyApplier(privacyConfig(), pseudonymizer);
    const reference = new ReferencePolicyApplier(privacyConfig(), pseudonymizer);
    fc.assert(
      fc.property(fc.constantFrom(...eventNames), parts, fc.boolean(), (eventName, input, canEncrypt) => {
        expectSameOutcome(applier, reference, eventName, input, canEncrypt);
      }),
      { numRuns: 1_500 },
    );
  });

  it('rewrites as the straightforward walk does under any rules, types and threshold', () => {
    fc.assert(
      fc.property(
        config,
        fc.constantFrom(...eventNames),
        parts,
        fc.boolean(),
        (policy, eventName, input, canEncrypt) => {
          const applier = new PolicyApplier(policy, pseudonymizer);
          const reference = new ReferencePolicyApplier(policy, pseudonymizer);
          expectSameOutcome(applier, reference, eventName, input, canEncrypt);
          // Asked twice, the memos answer the second time.
          expectSameOutcome(applier, reference, eventName, input, canEncrypt);
        },
      ),
      { numRuns: 1_500 },
    );
  });

  it('encrypts at the field paths of nested objects and arrays, and keeps context.ip to the network policy', () => {
    const applier = new PolicyApplier(privacyConfig({ fields: { memo: 'encrypt' } }), pseudonymizer);
    const outcome = applier.apply('page_view', {
      properties: { a: { memo: 'x', list: [{ memo: 1 }, { memo: [2] }] } },
      traits: { memo: ['y'] },
      context: { ip: '203.0.113.0', traits: { name: 'Jane Doe' } },
    });
    expect(outcome.pending.map((p) => [p.fieldPath, p.plaintext])).toEqual([
      ['properties.a.memo', 'x'],
      ['properties.a.list.0.memo', '1'],
      ['properties.a.list.1.memo', '[2]'],
      ['traits.memo', '["y"]'],
    ]);
    expect(outcome.parts.context).toEqual({ ip: '203.0.113.0', traits: { name: 'J*** D***' } });
    expect(applier.changes('page_view', { context: { ip: '203.0.113.7', page: { title: 'Pricing' } } })).toBe(
      false,
    );
  });
});
