/**
 * The PII policy: what happens to a value, decided per event type and field name, then by the PII type the
 * recognizers find in it. These are the `privacy` settings of the platform's config, with safe defaults.
 */
import { eventDefinition, registeredEventNames, registeredEvents } from '@deepref/schema';
import { defaultThreshold, type PiiType } from './recognizers.ts';

/**
 * - `keep`: stored as sent, not scanned.
 * - `mask`: §7.1's format for the value's type (`j***@***.***`, `***-***-0100`), `***` when it has none.
 * - `pseudonymize`: a keyed HMAC-SHA256 pseudonym (`ps_…`) of the normalized value, one secret per purpose.
 * - `encrypt`: AES-256-GCM under the subject's data key (`enc:v1:…`); erasing the subject erases the value.
 * - `drop`: the field is removed (an array keeps `null` in its place).
 */
export type PiiAction = 'keep' | 'mask' | 'pseudonymize' | 'encrypt' | 'drop';
export const piiActions: readonly PiiAction[] = ['keep', 'mask', 'pseudonymize', 'encrypt', 'drop'];

export interface PrivacyConfig {
  /**
   * What a property whose whole value is recognized as a type gets. Spans found inside longer text are always
   * masked, so free text keeps its meaning without the PII.
   */
  types: Record<PiiType, PiiAction>;
  /** Rules by field name, at any depth of `properties`, `traits` and `context`; they win over `types`. */
  fields: Record<string, PiiAction>;
  /**
   * Rules for one event name's fields; they win over `fields`. A registered event's `sensitiveFields` (taxonomy)
   * are encrypted unless a rule here says otherwise.
   */
  events: Record<string, Record<string, PiiAction>>;
  /** Confidence from which a recognizer's detection counts, in [0, 1]. */
  threshold: number;
  /** The purpose whose secret keys the pseudonyms (`secrets/pseudonym-<purpose>.key`). */
  pseudonymPurpose: string;
  /** Country calling code (digits) for phone numbers written without one, so they pseudonymize as E.164. */
  defaultCountryCode?: string;
  /** Subjects whose unwrapped data keys stay in memory (least recently used evicted first). */
  dataKeyCacheSize: number;
  /**
   * How long a cached data key is used before the key store is asked again: the longest a key that another process
   * destroyed (an erasure) can still encrypt new values here.
   */
  dataKeyCacheTtlMs: number;
}

/** AI and other free text people write: encrypted whole, whatever the event (the taxonomy lists most of them too). */
const freeTextFields = [
  'prompt_text',
  'response_text',
  'completion_text',
  'correction_text',
  'edited_text',
  'comment_text',
  'query_text',
  'message_text',
  'transcript',
];

/** Clear-text secrets never reach disk (DESIGN.md "Privacy at the edge"). */
const secretFields = ['password', 'passwd', 'secret', 'api_key', 'apikey', 'access_token', 'refresh_token'];

export const defaultPrivacyConfig: PrivacyConfig = {
  types: {
    email: 'pseudonymize',
    phone: 'pseudonymize',
    ip_address: 'pseudonymize',
    ssn: 'drop',
    credit_card: 'drop',
    person_name: 'mask',
    date_of_birth: 'mask',
  },
  fields: {
    ...Object.fromEntries(freeTextFields.map((field) => [field, 'encrypt' as const])),
    ...Object.fromEntries(secretFields.map((field) => [field, 'drop' as const])),
  },
  events: {},
  threshold: defaultThreshold,
  pseudonymPurpose: 'analytics',
  dataKeyCacheSize: 10_000,
  dataKeyCacheTtlMs: 10_000,
};

/** The defaults with `overrides` laid over them, maps merged key by key. */
export function privacyConfig(overrides: Partial<PrivacyConfig> = {}): PrivacyConfig {
  return {
    ...defaultPrivacyConfig,
    ...overrides,
    types: { ...defaultPrivacyConfig.types, ...overrides.types },
    fields: { ...defaultPrivacyConfig.fields, ...overrides.fields },
    events: { ...defaultPrivacyConfig.events, ...overrides.events },
  };
}

/**
 * The rule for a field, if one names it: the event's own rules, then (for a top-level property) the taxonomy's
 * `sensitiveFields`, then the rules by field name. Undefined leaves the value to the recognizers.
 */
export function fieldRule(
  config: PrivacyConfig,
  eventName: string,
  key: string,
  topLevelProperty: boolean,
): PiiAction | undefined {
  const own = config.events[eventName];
  if (own && Object.hasOwn(own, key)) return own[key];
  if (topLevelProperty && eventDefinition(eventName)?.sensitiveFields?.includes(key)) return 'encrypt';
  return Object.hasOwn(config.fields, key) ? config.fields[key] : undefined;
}

/** `fieldRule` for one event name, as lookups: `topLevel` for the top level of `properties`, `nested` elsewhere. */
export interface EventFieldRules {
  topLevel: ReadonlyMap<string, PiiAction | undefined>;
  nested: ReadonlyMap<string, PiiAction | undefined>;
}

/**
 * The rules of `fieldRule` for every field of an event of `eventName`, worked out once: the rules by field name,
 * the taxonomy's `sensitiveFields` laid over them at the top level, the event's own rules over both. A field then
 * costs one lookup instead of three. Own property names stand for `Object.hasOwn`, as `fieldRule` asks it.
 */
export function eventFieldRules(config: PrivacyConfig, eventName: string): EventFieldRules {
  const nested = new Map<string, PiiAction | undefined>();
  for (const key of Object.getOwnPropertyNames(config.fields)) nested.set(key, config.fields[key]);
  const topLevel = new Map(nested);
  for (const key of eventDefinition(eventName)?.sensitiveFields ?? []) topLevel.set(key, 'encrypt');
  const own = config.events[eventName];
  if (own) {
    for (const key of Object.getOwnPropertyNames(own)) {
      nested.set(key, own[key]);
      topLevel.set(key, own[key]);
    }
  }
  return { topLevel, nested };
}

/** Every field name a registered event lists in `sensitiveFields`. */
export function sensitiveFieldNames(): string[] {
  return registeredEventNames.flatMap(
    (name) => (registeredEvents[name] as { sensitiveFields?: readonly string[] }).sensitiveFields ?? [],
  );
}
