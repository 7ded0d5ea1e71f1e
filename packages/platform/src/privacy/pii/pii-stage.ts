/**
 * The collector's PII stage (DESIGN.md: validate → enrich → consent gate → PII policy → event log): applies the
 * policy to every event of a batch before the first write, encrypting with each subject's data key (looked up
 * once per subject per batch, through the key cache), and scrubs the raw payload of each dead letter the same way.
 */
import type { StoredEvent } from '@deepref/schema';
import type { EdgeDecision, EdgeStage } from '../../collector/pipeline.ts';
import { maxNesting, nestedDeeperThan, rawTruncatedMarker } from '../../collector/wire.ts';
import { encryptField } from '../crypto/field-encryption.ts';
import type { DataKey } from '../keys/key-store.ts';
import type { Pseudonymizer } from '../pseudonymize.ts';
import { type PendingEncryption, PolicyApplier, type PolicyRoot, policyRoots } from './apply-policy.ts';
import type { CachedKeyStore } from './cached-key-store.ts';
import { eventSubject } from './encrypted-fields.ts';
import { fullMask } from './masking.ts';
import { type PrivacyConfig, sensitiveFieldNames } from './policy.ts';

export interface PiiStageDeps {
  config: PrivacyConfig;
  keyStore: CachedKeyStore;
  pseudonymizer: Pseudonymizer;
}

export interface PiiStage extends EdgeStage {
  /**
   * A dead letter's raw payload as it may be stored: parsed, the policy applied as to an event (values to encrypt
   * are encrypted for the item's subject, or dropped when it has none) and every other string's PII masked; a
   * payload that is not JSON (cut at the size limit) has its ruled fields' values and detected spans masked as text.
   */
  scrubDeadLetter(raw: string): Promise<string>;
}

/** Top-level keys of a raw item that identify or time it; they are kept as they are. */
const envelopeKeys = new Set([
  'eventId',
  'messageId',
  'type',
  'event',
  'eventName',
  'timestamp',
  'originalTimestamp',
  'sentAt',
  'receivedAt',
  'sessionId',
  'userId',
  'anonymousId',
  'groupId',
  'previousId',
  'integrations',
]);

export function createPiiStage(deps: PiiStageDeps): PiiStage {
  const { config, keyStore } = deps;
  const applier = new PolicyApplier(config, deps.pseudonymizer);
  const ruledKeys = keysWithRules(config);

  /** Encrypts the pending values with their subjects' keys, one lookup per subject. */
  async function encryptPending(work: { subject: string; pending: PendingEncryption[] }[]): Promise<void> {
    const subjects = work.filter((w) => w.pending.length > 0).map((w) => w.subject);
    if (subjects.length === 0) return;
    const keys: Map<string, DataKey> = await keyStore.dataKeysFor(subjects);
    for (const { subject, pending } of work) {
      const key = keys.get(subject);
      for (const p of pending) {
        (p.target as Record<string | number, unknown>)[p.slot] = encryptField(key!, p.fieldPath, p.plaintext);
      }
    }
  }

  async function apply(events: readonly StoredEvent[]): Promise<EdgeDecision[]> {
    const work: { subject: string; pending: PendingEncryption[] }[] = [];
    const rewritten = events.map((event) => {
      // Most events hold nothing the policy changes: those are found without copying them.
      if (!applier.changes(event.eventName, event)) return event;
      const subject = eventSubject(event);
      const outcome = applier.apply(event.eventName, event, subject !== undefined);
      if (outcome.changed === 0) return event;
      if (subject !== undefined) work.push({ subject, pending: outcome.pending });
      const copy: StoredEvent = { ...event, properties: outcome.parts.properties ?? {} };
      if (outcome.parts.traits) copy.traits = outcome.parts.traits;
      if (outcome.parts.context) copy.context = outcome.parts.context;
      return copy;
    });
    await encryptPending(work);
    return rewritten.map((event) => ({ event }));
  }

  async function scrubDeadLetter(raw: string): Promise<string> {
    let item: unknown;
    try {
      item = JSON.parse(raw);
    } catch {
      return scrubText(raw);
    }
    // Too deep for the policy's walk (the reason it was refused, maybe): scrubbed as text.
    if (
      item === null ||
      typeof item !== 'object' ||
      Array.isArray(item) ||
      nestedDeeperThan(item, maxNesting)
    ) {
      return scrubText(raw);
    }
    const fields = item as Record<string, unknown>;
    // A Segment call without an event name is named by its type, as the collector names it (`group`, `identify`).
    const eventName = [fields.eventName, fields.event, fields.type].find(
      (name) => typeof name === 'string',
    ) as string | undefined;
    const subject = eventSubject(fields);
    const roots: Partial<Record<PolicyRoot, unknown>> = {};
    const others: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(fields)) {
      if (policyRoots.includes(key as PolicyRoot) && value !== null && typeof value === 'object') {
        roots[key as PolicyRoot] = value;
      } else if (!(envelopeKeys.has(key) && (typeof value === 'string' || key === 'integrations'))) {
        others[key] = value;
      }
    }
    const outcome = applier.apply(eventName ?? '', roots, subject !== undefined);
    // Keys outside the envelope are why many items were refused; they get the policy too, but are never encrypted
    // (a replay would refuse them again, so nothing would ever decrypt them).
    const stray = applier.apply(eventName ?? '', { properties: others }, false);
    if (subject !== undefined) await encryptPending([{ subject, pending: outcome.pending }]);
    const scrubbed: Record<string, unknown> = {};
    for (const key of Object.keys(fields)) {
      if (Object.hasOwn(others, key)) {
        if (Object.hasOwn(stray.parts.properties!, key)) scrubbed[key] = stray.parts.properties![key];
      } else {
        scrubbed[key] = outcome.parts[key as PolicyRoot] ?? fields[key];
      }
    }
    return JSON.stringify(scrubbed);
  }

  /** A payload that is no JSON value: ruled fields' string values replaced, detected spans masked. */
  function scrubText(raw: string): string {
    const cut = raw.endsWith(rawTruncatedMarker);
    const text = cut ? raw.slice(0, -rawTruncatedMarker.length) : raw;
    const withoutRuled = text.replace(
      /"((?:[^"\\]|\\.){1,64})"(\s*:\s*)"(?:[^"\\]|\\.)*("?)/g,
      (pair, key: string, colon: string, close: string) =>
        ruledKeys.has(key) ? `"${key}"${colon}"${fullMask}${close}` : pair,
    );
    return applier.maskSpans(withoutRuled) + (cut ? rawTruncatedMarker : '');
  }

  return { name: 'pii', apply, scrubDeadLetter };
}

/** Field names any rule (of any event, or the taxonomy's sensitive fields) does not keep as they are. */
function keysWithRules(config: PrivacyConfig): Set<string> {
  const keys = new Set<string>();
  const add = (rules: Record<string, string>) => {
    for (const [key, action] of Object.entries(rules)) if (action !== 'keep') keys.add(key);
  };
  add(config.fields);
  for (const rules of Object.values(config.events)) add(rules);
  for (const field of sensitiveFieldNames()) keys.add(field);
  return keys;
}
