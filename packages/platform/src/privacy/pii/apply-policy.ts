/**
 * The PII policy applied to one event's `properties`, `traits` and `context`: rules by field name first, then the
 * recognizers on every string (and every long integer). A value recognized whole gets its type's action; spans
 * found inside longer text are masked in place. Encryption is left to the caller (it needs the subject's key,
 * looked up once per batch): the values to encrypt come back as pending writes.
 *
 * Most events hold no PII at all, so the collector first asks `changes` (a walk that builds nothing and stops at
 * the first value the policy would change) and only rewrites the events it says yes for.
 */
import { isEncrypted } from '../crypto/field-encryption.ts';
import type { Pseudonymizer, PseudonymKind } from '../pseudonymize.ts';
import { DetectionMemo } from './detection-memo.ts';
import { fullMask, maskValue } from './masking.ts';
import { type EventFieldRules, eventFieldRules, type PiiAction, type PrivacyConfig } from './policy.ts';
import { type Detection, detectInField, fieldType, type PiiType } from './recognizers.ts';

/** The parts of an event (or of a dead letter's raw item) the policy rewrites. */
export const policyRoots = ['properties', 'traits', 'context'] as const;
export type PolicyRoot = (typeof policyRoots)[number];

type Container = Record<string, unknown> | unknown[];

/** A value the policy says to encrypt: write `encryptField(key of subject, fieldPath, plaintext)` at `target[slot]`. */
export interface PendingEncryption {
  target: Container;
  slot: string | number;
  /** The field's path, bound into the ciphertext: `properties.prompt_text`, `traits.address.street`, `properties.tags.0`. */
  fieldPath: string;
  plaintext: string;
}

export interface PolicyOutcome {
  /** The rewritten roots (fresh objects; the input is not changed). Absent roots stay absent. */
  parts: Partial<Record<PolicyRoot, Record<string, unknown>>>;
  pending: PendingEncryption[];
  /** How many values were masked, pseudonymized, dropped or queued for encryption. */
  changed: number;
}

const pseudonymPattern = /^ps_[A-Za-z0-9_-]{22}$/;
const pseudonymKinds: Partial<Record<PiiType, PseudonymKind>> = {
  email: 'email',
  phone: 'phone',
  ip_address: 'ip',
};
/** Integers this long may be phone, card or SSN numbers sent as JSON numbers. */
const smallestScannedInteger = 1e8;
/** Marks a slot to remove once the walk is done (an array keeps `null` in its place). */
const DROP = Symbol('drop');

/** Pseudonyms of values up to this length are remembered (emails and IPs repeat), this many in all. */
const memoMaxLength = 512;
const memoEntries = 10_000;
/** Event names whose field rules are kept worked out; emptied when full (dead letters may name anything). */
const ruleSetEntries = 1_000;

export class PolicyApplier {
  readonly #config: PrivacyConfig;
  readonly #pseudonyms: Pseudonymizer;
  readonly #detections: DetectionMemo;
  readonly #pseudonymMemo = new Map<PseudonymKind, Map<string, string>>();
  #pseudonymEntries = 0;
  readonly #rules = new Map<string, EventFieldRules>();

  constructor(config: PrivacyConfig, pseudonyms: Pseudonymizer) {
    this.#config = config;
    this.#pseudonyms = pseudonyms;
    this.#detections = new DetectionMemo(config.threshold);
  }

  /** What the recognizers find in a field's value (remembered for short values; shared arrays, not to change). */
  detect(key: string, value: string, personNames: boolean): readonly Detection[] {
    return this.#detections.detect(key, value, personNames);
  }

  /** The pseudonym of a value under the configured purpose (remembered for short values). */
  pseudonym(kind: PseudonymKind, value: string): string {
    if (value.length > memoMaxLength) return this.#pseudonymize(kind, value);
    let values = this.#pseudonymMemo.get(kind);
    let pseudonym = values?.get(value);
    if (pseudonym === undefined) {
      pseudonym = this.#pseudonymize(kind, value);
      if (this.#pseudonymEntries >= memoEntries) {
        this.#pseudonymMemo.clear();
        this.#pseudonymEntries = 0;
        values = undefined;
      }
      if (values === undefined) {
        values = new Map();
        this.#pseudonymMemo.set(kind, values);
      }
      values.set(value, pseudonym);
      this.#pseudonymEntries++;
    }
    return pseudonym;
  }

  #pseudonymize(kind: PseudonymKind, value: string): string {
    return this.#pseudonyms.pseudonymize(this.#config.pseudonymPurpose, kind, value);
  }

  /** The field rules of an event name (`fieldRule`, worked out once per name). */
  rules(eventName: string): EventFieldRules {
    let rules = this.#rules.get(eventName);
    if (rules === undefined) {
      rules = eventFieldRules(this.#config, eventName);
      if (this.#rules.size >= ruleSetEntries) this.#rules.clear();
      this.#rules.set(eventName, rules);
    }
    return rules;
  }

  /**
   * Whether `apply` would change anything (its `changed` above 0), found without building anything and stopping
   * at the first value it would change.
   */
  changes(eventName: string, parts: Partial<Record<PolicyRoot, unknown>>): boolean {
    const scan = new ChangeScan(this.#config, this, eventName);
    for (const root of policyRoots) {
      const value = parts[root];
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        const personNames = root === 'traits' && eventName !== 'group';
        if (scan.object(value as Record<string, unknown>, root, 0, personNames)) return true;
      }
    }
    return false;
  }

  /**
   * Applies the policy to an event of `eventName`. With `canEncrypt` false (no subject is known, as in some dead
   * letters) a value to encrypt is dropped instead.
   */
  apply(eventName: string, parts: Partial<Record<PolicyRoot, unknown>>, canEncrypt = true): PolicyOutcome {
    const walk = new Walk(this.#config, this, eventName, canEncrypt);
    const rewritten: PolicyOutcome['parts'] = {};
    for (const root of policyRoots) {
      const value = parts[root];
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        const personNames = root === 'traits' && eventName !== 'group';
        rewritten[root] = walk.root(value as Record<string, unknown>, root, personNames);
      }
    }
    return { parts: rewritten, pending: walk.pending, changed: walk.changed };
  }

  /** Free text with every detected span masked (§7.1 formats); used where no field structure is known. */
  maskSpans(text: string, key?: string): string {
    return maskDetections(text, detectInField(key ?? '', text, { threshold: this.#config.threshold }));
  }
}

/*
 * Where `ChangeScan` and `Walk` decide alike. `name` is a person in identify traits (the top level of `traits`,
 * except in a group call, whose traits describe the group) and in Segment's `context.traits`; elsewhere it names
 * pages and libraries. `context.ip` is what the network policy kept of the address (in a dead letter's raw item;
 * enrich removes it from events): it is left to that policy.
 */

/** Whether the object at `key` of a container at `depth` is Segment's `context.traits`. */
function isContextTraits(root: PolicyRoot, depth: number, key: string): boolean {
  return root === 'context' && depth === 0 && key === 'traits';
}

/** The rules that apply to the keys of an object at `depth` under `root`. */
function rulesAt(rules: EventFieldRules, root: PolicyRoot, depth: number) {
  return root === 'properties' && depth === 0 ? rules.topLevel : rules.nested;
}

/** Already protected (a replayed dead letter, an event sent twice through the stage): never twice. */
function isProtected(value: string): boolean {
  // Both forms start with a fixed prefix: `ps_…` or `enc:v1:…`; most values are ruled out by their first letter.
  const first = value.charCodeAt(0);
  return (first === 112 || first === 101) && (isEncrypted(value) || pseudonymPattern.test(value));
}

function isScannedInteger(value: number): boolean {
  return Number.isSafeInteger(value) && Math.abs(value) >= smallestScannedInteger;
}

/** The type of a value that is one detection from end to end (spaces aside), if it is. */
function wholeValueType(applier: PolicyApplier, text: string, key: string): PiiType | undefined {
  const detections = applier.detect(key, text, false);
  return detections.length === 1 && coversWhole(text, detections[0]!) ? detections[0]!.type : undefined;
}

/** `Walk`'s decisions without its output: whether any value would count in `changed`. */
class ChangeScan {
  readonly #types: PrivacyConfig['types'];
  readonly #applier: PolicyApplier;
  readonly #rules: EventFieldRules;

  constructor(config: PrivacyConfig, applier: PolicyApplier, eventName: string) {
    this.#types = config.types;
    this.#applier = applier;
    this.#rules = applier.rules(eventName);
  }

  object(input: Record<string, unknown>, root: PolicyRoot, depth: number, personNames: boolean): boolean {
    const rules = rulesAt(this.#rules, root, depth);
    const contextRoot = root === 'context' && depth === 0;
    // `Object.keys`' keys without its array (a scan goes through every event); the answer is the same in any order.
    for (const key in input) {
      if (!Object.hasOwn(input, key)) continue;
      if (contextRoot && key === 'ip') continue;
      if (this.value(input[key], key, root, depth, rules.get(key), personNames)) return true;
    }
    return false;
  }

  value(
    value: unknown,
    key: string,
    root: PolicyRoot,
    depth: number,
    rule: PiiAction | undefined,
    personNames: boolean,
  ): boolean {
    if (value === null || value === undefined || typeof value === 'boolean') return false;
    if (typeof value === 'string') {
      if (isProtected(value)) return false;
      if (rule !== undefined) return rule !== 'keep';
      return this.text(value, key, personNames);
    }
    if (rule !== undefined) return rule !== 'keep';
    if (typeof value === 'number') {
      if (!isScannedInteger(value)) return false;
      const type = wholeValueType(this.#applier, String(value), key);
      return type !== undefined && this.#types[type] !== 'keep';
    }
    if (Array.isArray(value)) {
      // A hole reads as undefined, which changes nothing, as `Walk` skips it.
      for (let i = 0; i < value.length; i++) {
        if (this.value(value[i], key, root, depth + 1, rule, personNames)) return true;
      }
      return false;
    }
    if (typeof value === 'object') {
      const names = isContextTraits(root, depth, key);
      return this.object(value as Record<string, unknown>, root, depth + 1, names);
    }
    return false;
  }

  text(value: string, key: string, personNames: boolean): boolean {
    const detections = this.#applier.detect(key, value, personNames);
    if (detections.length === 0) return false;
    const first = detections[0]!;
    if (detections.length === 1 && coversWhole(value, first)) return this.#types[first.type] !== 'keep';
    return true;
  }
}

/** The policy applied: every container copied, values rewritten, encryptions queued with their field paths. */
class Walk {
  readonly pending: PendingEncryption[] = [];
  changed = 0;
  readonly #config: PrivacyConfig;
  readonly #applier: PolicyApplier;
  readonly #rules: EventFieldRules;
  readonly #canEncrypt: boolean;
  /** The keys and indices from the root to the container being walked; a field path is built only to encrypt. */
  readonly #trail: (string | number)[] = [];

  constructor(config: PrivacyConfig, applier: PolicyApplier, eventName: string, canEncrypt: boolean) {
    this.#config = config;
    this.#applier = applier;
    this.#rules = applier.rules(eventName);
    this.#canEncrypt = canEncrypt;
  }

  root(input: Record<string, unknown>, root: PolicyRoot, personNames: boolean): Record<string, unknown> {
    this.#trail.length = 0;
    this.#trail.push(root);
    return this.object(input, root, 0, personNames);
  }

  object(input: Record<string, unknown>, root: PolicyRoot, depth: number, personNames: boolean) {
    const output: Record<string, unknown> = {};
    const rules = rulesAt(this.#rules, root, depth);
    const contextRoot = root === 'context' && depth === 0;
    for (const key of Object.keys(input)) {
      if (contextRoot && key === 'ip') {
        output[key] = input[key];
        continue;
      }
      const value = this.value(input[key], key, key, root, depth, rules.get(key), personNames, output);
      if (value !== DROP) output[key] = value;
    }
    return output;
  }

  value(
    value: unknown,
    key: string,
    slot: string | number,
    root: PolicyRoot,
    depth: number,
    rule: PiiAction | undefined,
    personNames: boolean,
    target: Container,
  ): unknown {
    if (value === null || value === undefined || typeof value === 'boolean') return value;
    if (typeof value === 'string' && isProtected(value)) return value;
    if (rule !== undefined) {
      if (rule === 'keep') return value;
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      const type = fieldType(key, personNames) ?? wholeValueType(this.#applier, text, key);
      return this.act(rule, type, text, target, slot);
    }
    if (typeof value === 'string') return this.text(value, key, personNames, target, slot);
    if (typeof value === 'number') {
      if (!isScannedInteger(value)) return value;
      const text = String(value);
      const type = wholeValueType(this.#applier, text, key);
      return type === undefined ? value : this.act(this.#config.types[type], type, text, target, slot);
    }
    if (Array.isArray(value)) {
      const output: unknown[] = [];
      this.#trail.push(slot);
      for (let i = 0; i < value.length; i++) {
        // Holes are skipped, as `forEach` would (JSON has none).
        if (!(i in value)) continue;
        const kept = this.value(value[i], key, i, root, depth + 1, rule, personNames, output);
        output.push(kept === DROP ? null : kept);
      }
      this.#trail.pop();
      return output;
    }
    if (typeof value === 'object') {
      this.#trail.push(slot);
      const names = isContextTraits(root, depth, key);
      const output = this.object(value as Record<string, unknown>, root, depth + 1, names);
      this.#trail.pop();
      return output;
    }
    return value;
  }

  text(value: string, key: string, personNames: boolean, target: Container, slot: string | number): unknown {
    const detections = this.#applier.detect(key, value, personNames);
    if (detections.length === 0) return value;
    const first = detections[0]!;
    if (detections.length === 1 && coversWhole(value, first)) {
      return this.act(this.#config.types[first.type], first.type, value, target, slot);
    }
    this.changed++;
    return maskDetections(value, detections);
  }

  act(action: PiiAction, type: PiiType | undefined, text: string, target: Container, slot: string | number) {
    if (action === 'keep') return text;
    this.changed++;
    switch (action) {
      case 'mask':
        return type === undefined ? fullMask : maskValue(type, text);
      case 'pseudonymize':
        return this.pseudonym(type, text);
      case 'drop':
        return DROP;
      case 'encrypt': {
        if (!this.#canEncrypt) return DROP;
        const fieldPath = `${this.#trail.join('.')}.${slot}`;
        this.pending.push({ target, slot, fieldPath, plaintext: text });
        // Overwritten once the subject's key is known; never stored as it is.
        return fullMask;
      }
    }
  }

  pseudonym(type: PiiType | undefined, text: string): string {
    const kind = type === undefined ? undefined : pseudonymKinds[type];
    if (kind !== undefined) {
      try {
        return this.#applier.pseudonym(kind, text);
      } catch {
        // Not normalizable (a phone number without country code and no defaultCountryCode): keyed as it is.
      }
    }
    return this.#applier.pseudonym('id', text);
  }
}

function coversWhole(text: string, detection: Detection): boolean {
  return text.slice(0, detection.start).trim() === '' && text.slice(detection.end).trim() === '';
}

function maskDetections(text: string, detections: readonly Detection[]): string {
  if (detections.length === 0) return text;
  let out = '';
  let at = 0;
  for (const detection of detections) {
    out +=
      text.slice(at, detection.start) + maskValue(detection.type, text.slice(detection.start, detection.end));
    at = detection.end;
  }
  return out + text.slice(at);
}
