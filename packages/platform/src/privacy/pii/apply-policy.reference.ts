/**
 * The straightforward PII walk the collector used before `PolicyApplier` was made cheap: a copy of every container,
 * every field path built, the recognizers asked about every string. Kept for the tests only, as the reference the
 * optimised applier must equal (apply-policy.test.ts); nothing in the platform imports it.
 */
import { isEncrypted } from '../crypto/field-encryption.ts';
import type { Pseudonymizer, PseudonymKind } from '../pseudonymize.ts';
import { type PendingEncryption, type PolicyOutcome, type PolicyRoot, policyRoots } from './apply-policy.ts';
import { fullMask, maskValue } from './masking.ts';
import { fieldRule, type PiiAction, type PrivacyConfig } from './policy.ts';
import { type Detection, detectInField, fieldType, type PiiType } from './recognizers.ts';

type Container = Record<string, unknown> | unknown[];
/** Where a value goes: the container being built, its key or index there, and its field path. */
type Place = Pick<PendingEncryption, 'target' | 'slot' | 'fieldPath'>;

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

export class ReferencePolicyApplier {
  readonly #config: PrivacyConfig;
  readonly #pseudonyms: Pseudonymizer;

  constructor(config: PrivacyConfig, pseudonyms: Pseudonymizer) {
    this.#config = config;
    this.#pseudonyms = pseudonyms;
  }

  /** What the recognizers find in a field's value. */
  detect(key: string, value: string, personNames: boolean): Detection[] {
    return detectInField(key, value, { threshold: this.#config.threshold, personNameKey: personNames });
  }

  /** The pseudonym of a value under the configured purpose. */
  pseudonym(kind: PseudonymKind, value: string): string {
    return this.#pseudonyms.pseudonymize(this.#config.pseudonymPurpose, kind, value);
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
        rewritten[root] = walk.object(value as Record<string, unknown>, root, root, 0);
      }
    }
    return { parts: rewritten, pending: walk.pending, changed: walk.changed };
  }

  /** Free text with every detected span masked (§7.1 formats); used where no field structure is known. */
  maskSpans(text: string, key?: string): string {
    return maskDetections(text, detectInField(key ?? '', text, { threshold: this.#config.threshold }));
  }
}

class Walk {
  readonly pending: PendingEncryption[] = [];
  changed = 0;

  constructor(
    readonly config: PrivacyConfig,
    readonly applier: ReferencePolicyApplier,
    readonly eventName: string,
    readonly canEncrypt: boolean,
  ) {}

  object(input: Record<string, unknown>, root: PolicyRoot, path: string, depth: number) {
    const output: Record<string, unknown> = {};
    // `name` is a person in identify traits (and Segment's context.traits); elsewhere it names pages and libraries,
    // and a group call's traits describe the group (a company's name is not personal data).
    const personNames =
      (root === 'traits' && depth === 0 && this.eventName !== 'group') || path === 'context.traits';
    for (const key of Object.keys(input)) {
      // What the network policy kept of the address (in a dead letter's raw item); enrich removes it from events.
      if (path === 'context' && key === 'ip') {
        output[key] = input[key];
        continue;
      }
      const rule = fieldRule(this.config, this.eventName, key, root === 'properties' && depth === 0);
      const value = this.value(
        input[key],
        key,
        key,
        `${path}.${key}`,
        root,
        depth,
        rule,
        personNames,
        output,
      );
      if (value !== DROP) output[key] = value;
    }
    return output;
  }

  value(
    value: unknown,
    key: string,
    slot: string | number,
    fieldPath: string,
    root: PolicyRoot,
    depth: number,
    rule: PiiAction | undefined,
    personNames: boolean,
    target: Container,
  ): unknown {
    if (value === null || value === undefined || typeof value === 'boolean') return value;
    // Already protected (a replayed dead letter, an event sent twice through the stage): never twice.
    if (typeof value === 'string' && (isEncrypted(value) || pseudonymPattern.test(value))) return value;
    if (rule !== undefined) {
      if (rule === 'keep') return value;
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      const type = fieldType(key, personNames) ?? this.wholeValueType(text, key);
      return this.act(rule, type, text, { target, slot, fieldPath });
    }
    if (typeof value === 'string') return this.text(value, key, personNames, { target, slot, fieldPath });
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value) || Math.abs(value) < smallestScannedInteger) return value;
      const text = String(value);
      const type = this.wholeValueType(text, key);
      return type === undefined
        ? value
        : this.act(this.config.types[type], type, text, { target, slot, fieldPath });
    }
    if (Array.isArray(value)) {
      const output: unknown[] = [];
      value.forEach((element, i) => {
        const kept = this.value(
          element,
          key,
          i,
          `${fieldPath}.${i}`,
          root,
          depth + 1,
          rule,
          personNames,
          output,
        );
        output.push(kept === DROP ? null : kept);
      });
      return output;
    }
    if (typeof value === 'object') {
      return this.object(value as Record<string, unknown>, root, fieldPath, depth + 1);
    }
    return value;
  }

  text(value: string, key: string, personNames: boolean, place: Place): unknown {
    const detections = this.applier.detect(key, value, personNames);
    if (detections.length === 0) return value;
    const [first] = detections;
    if (detections.length === 1 && coversWhole(value, first!)) {
      return this.act(this.config.types[first!.type], first!.type, value, place);
    }
    this.changed++;
    return maskDetections(value, detections);
  }

  act(action: PiiAction, type: PiiType | undefined, text: string, place: Place) {
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
        if (!this.canEncrypt) return DROP;
        this.pending.push({ ...place, plaintext: text });
        // Overwritten once the subject's key is known; never stored as it is.
        return fullMask;
      }
    }
  }

  pseudonym(type: PiiType | undefined, text: string): string {
    const kind = type === undefined ? undefined : pseudonymKinds[type];
    if (kind !== undefined) {
      try {
        return this.applier.pseudonym(kind, text);
      } catch {
        // Not normalizable (a phone number without country code and no defaultCountryCode): keyed as it is.
      }
    }
    return this.applier.pseudonym('id', text);
  }

  /** The type of a value that is one detection from end to end (spaces aside), if it is. */
  wholeValueType(text: string, key: string): PiiType | undefined {
    const detections = this.applier.detect(key, text, false);
    return detections.length === 1 && coversWhole(text, detections[0]!) ? detections[0]!.type : undefined;
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
