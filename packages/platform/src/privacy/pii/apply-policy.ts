/**
 * The PII policy applied to one event's `properties`, `traits` and `context`: rules by field name first, then the
 * recognizers on every string (and every long integer). A value recognized whole gets its type's action; spans
 * found inside longer text are masked in place. Encryption is left to the caller (it needs the subject's key,
 * looked up once per batch): the values to encrypt come back as pending writes.
 */
import { isEncrypted } from '../crypto/field-encryption.ts';
import type { Pseudonymizer, PseudonymKind } from '../pseudonymize.ts';
import { fullMask, maskValue } from './masking.ts';
import { fieldRule, type PiiAction, type PrivacyConfig } from './policy.ts';
import { type Detection, detectInField, fieldType, type PiiType } from './recognizers.ts';

/** The parts of an event (or of a dead letter's raw item) the policy rewrites. */
export const policyRoots = ['properties', 'traits', 'context'] as const;
export type PolicyRoot = (typeof policyRoots)[number];

type Container = Record<string, unknown> | unknown[];
/** Where a value goes: the container being built, its key or index there, and its field path. */
type Place = Pick<PendingEncryption, 'target' | 'slot' | 'fieldPath'>;

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

/** Values up to this length are remembered with their detections and pseudonyms (user agents, URLs, emails repeat). */
const memoMaxLength = 512;
const memoEntries = 10_000;

/** A bounded memo: emptied when full, which costs one miss per entry instead of an LRU's bookkeeping per hit. */
class Memo<V> {
  readonly #entries = new Map<string, V>();
  get(key: string, compute: () => V): V {
    let value = this.#entries.get(key);
    if (value === undefined) {
      value = compute();
      if (this.#entries.size >= memoEntries) this.#entries.clear();
      this.#entries.set(key, value);
    }
    return value;
  }
}

export class PolicyApplier {
  readonly #config: PrivacyConfig;
  readonly #pseudonyms: Pseudonymizer;
  readonly #detections = new Memo<Detection[]>();
  readonly #pseudonymMemo = new Memo<string>();

  constructor(config: PrivacyConfig, pseudonyms: Pseudonymizer) {
    this.#config = config;
    this.#pseudonyms = pseudonyms;
  }

  /** What the recognizers find in a field's value (remembered for short values). */
  detect(key: string, value: string, personNames: boolean): Detection[] {
    const compute = () =>
      detectInField(key, value, { threshold: this.#config.threshold, personNameKey: personNames });
    if (value.length > memoMaxLength) return compute();
    return this.#detections.get(`${personNames ? 1 : 0}${key}\0${value}`, compute);
  }

  /** The pseudonym of a value under the configured purpose (remembered for short values). */
  pseudonym(kind: PseudonymKind, value: string): string {
    const compute = () => this.#pseudonyms.pseudonymize(this.#config.pseudonymPurpose, kind, value);
    if (value.length > memoMaxLength) return compute();
    return this.#pseudonymMemo.get(`${kind}\0${value}`, compute);
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
    readonly applier: PolicyApplier,
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
