/**
 * The wire formats onto the event envelope: the reference's browser wrapper (`POST /api/telemetry/events`, a
 * JSON array of `{eventId, eventName, timestamp, sessionId, userId, properties}`) and the Segment tracking API
 * (`/v1/batch` and the single calls). Every item becomes either an envelope or a dead letter with its reason, so
 * one bad event never fails the others; only a body that is not a batch or an event at all is refused whole.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  checkIdentity,
  type EventEnvelope,
  type EventType,
  eventDefinition,
  isRegisteredEvent,
  isStoredIsoTime,
  isUuid,
  isValidEnvelope,
  type ValidationIssue,
  validateEnvelope,
  validateProperties,
} from '@deepref/schema';
import type { IngestConfig } from '../config.ts';
import { type DeadLetterReason, DeeprefError } from '../errors.ts';

export type WireResult =
  | { ok: true; envelope: EventEnvelope }
  | { ok: false; reason: DeadLetterReason; message: string; raw: string };

export interface WireContext {
  /** Namespaces ids derived from Segment `messageId`s, so two sources never collide. */
  sourceId: string;
  receivedAt: Date;
  limits: Pick<IngestConfig, 'maxEventBytes' | 'strict'>;
  /**
   * What a dead letter's raw item keeps of `context.ip`: pass the IP policy (`anonymizeIp` from enrich.ts).
   * Without it the address is removed from raw items.
   */
  anonymizeIp?: (ip: string) => string | undefined;
}

/** Segment's call types by path: `/v1/track` or the short `/v1/t`; `import` is the legacy name of `batch`. */
export type SegmentCall = 'batch' | EventType;

const segmentCalls: Record<string, SegmentCall> = {
  batch: 'batch',
  b: 'batch',
  import: 'batch',
  track: 'track',
  t: 'track',
  identify: 'identify',
  i: 'identify',
  page: 'page',
  p: 'page',
  screen: 'screen',
  s: 'screen',
  group: 'group',
  g: 'group',
  alias: 'alias',
  a: 'alias',
};

/** The call a Segment path names (`track`, `t`, `/v1/t`), or undefined. */
export function segmentCallOf(path: string): SegmentCall | undefined {
  const name = path.slice(path.lastIndexOf('/') + 1).toLowerCase();
  return Object.hasOwn(segmentCalls, name) ? segmentCalls[name] : undefined;
}

/** `POST /api/telemetry/events`: an array of wrapper events, or `{ batch: [...], context?, sentAt? }`. */
export function mapReferenceBody(body: unknown, ctx: WireContext): WireResult[] {
  if (Array.isArray(body))
    return body.map((item) => mapItem(item, noBatchFields, 'reference', undefined, ctx));
  if (isObject(body) && Array.isArray(body.batch)) {
    const shared = batchFields(body);
    return body.batch.map((item) => mapItem(item, shared, 'reference', undefined, ctx));
  }
  throw new DeeprefError('DEEPREF_INVALID_BODY', {
    detail: 'expected a JSON array of events or an object with a `batch` array',
  });
}

/**
 * A Segment call. For `batch`, the body's `context`, `integrations` and `sentAt` apply to every item and an item's
 * own fields win. `context` and `integrations` are merged key by key, one level deep: an item with
 * `context.page` keeps the batch's `context.library`, and its `page` replaces the batch's `page` whole (so the
 * title of one page never lands on another page's url).
 */
export function mapSegmentBody(call: SegmentCall, body: unknown, ctx: WireContext): WireResult[] {
  if (call === 'batch') {
    if (!isObject(body) || !Array.isArray(body.batch)) {
      throw new DeeprefError('DEEPREF_INVALID_BODY', { detail: 'expected an object with a `batch` array' });
    }
    const shared = batchFields(body);
    return body.batch.map((item) => mapItem(item, shared, 'segment', undefined, ctx));
  }
  if (!isObject(body)) {
    throw new DeeprefError('DEEPREF_INVALID_BODY', { detail: `expected one ${call} call as a JSON object` });
  }
  return [mapItem(body, noBatchFields, 'segment', call, ctx)];
}

type Format = 'reference' | 'segment';
type Item = Record<string, unknown>;

/** What an item inherits when it comes alone or in a bare array; shared by all of them, so never written. */
const noBatchFields: Item = Object.freeze({});

/** The batch-level fields an item inherits; `writeKey` is a credential and never travels with an event. */
function batchFields(body: Item): Item {
  const shared: Item = {};
  if (body.context !== undefined) shared.context = body.context;
  if (body.integrations !== undefined) shared.integrations = body.integrations;
  if (body.sentAt !== undefined) shared.sentAt = body.sentAt;
  return shared;
}

class DeadLetter {
  constructor(
    readonly reason: DeadLetterReason,
    readonly message: string,
  ) {}
}

function mapItem(
  item: unknown,
  shared: Item,
  format: Format,
  call: EventType | undefined,
  ctx: WireContext,
): WireResult {
  if (!isObject(item)) {
    const raw = capRaw(stringify(item) ?? '', ctx.limits.maxEventBytes);
    return deadLetter('payload_format', `the item is ${describeKind(item)}, not a JSON object`, raw);
  }
  const maxBytes = ctx.limits.maxEventBytes;
  if (sharedTooDeep(shared)) {
    return deadLetter('payload_format', tooDeep('the batch context the item inherits'), '');
  }
  // The exact size (serialising the item again) only when a cheap upper bound of it does not settle the limit,
  // which it does for any item nested less than 64 levels deep.
  let rawSize: number | undefined;
  if (jsonBytesBound(item, maxBytes) > maxBytes) {
    const json = stringify(item);
    if (json === undefined || nestedDeeperThan(item, maxNesting)) {
      return deadLetter('payload_format', tooDeep('the item'), capRaw(json ?? '', maxBytes));
    }
    rawSize = Buffer.byteLength(json);
  }
  try {
    if (rawSize !== undefined && rawSize > maxBytes) {
      throw new DeadLetter(
        'size_violation',
        `the event is ${rawSize} bytes of JSON; the limit is ${maxBytes}`,
      );
    }
    return { ok: true as const, envelope: toEnvelope(item, shared, format, call, ctx) };
  } catch (error) {
    if (!(error instanceof DeadLetter)) throw error;
    const merged = mergeItem(shared, item);
    const raw = capRaw(stringify(scrubRawIp(merged, ctx.anonymizeIp)) ?? '', ctx.limits.maxEventBytes);
    return deadLetter(error.reason, error.message, raw);
  }
}

function deadLetter(reason: DeadLetterReason, message: string, raw: string): WireResult {
  return { ok: false, reason, message, raw };
}

const eventTypes: readonly EventType[] = ['track', 'page', 'screen', 'identify', 'group', 'alias'];

/**
 * The envelope's strings that the warehouse and the lake keep as text columns, which are UTF-8: a lone surrogate
 * has no UTF-8 form and would be stored there as U+FFFD while the log kept the original, so the stores would
 * disagree on the event's name or ids. Inside `properties`, `context` and `traits` it survives in the log, as a JSON
 * escape; the warehouse and the lake hold U+FFFD there (event-columns.ts).
 */
const textColumnFields = [
  'eventName',
  'sessionId',
  'userId',
  'anonymousId',
  'groupId',
  'previousId',
] as const;

/** `String.prototype.isWellFormed` (ES2024, in Node 20; the project's TypeScript lib is ES2023). */
interface WellFormedCheck {
  isWellFormed(): boolean;
}

/** Whether a string has a lone surrogate; `isWellFormed` answers a one-byte string without reading it. */
function hasLoneSurrogate(value: string): boolean {
  return !(value as unknown as WellFormedCheck).isWellFormed();
}

function toEnvelope(
  item: Item,
  shared: Item,
  format: Format,
  call: EventType | undefined,
  ctx: WireContext,
): EventEnvelope {
  const type = call ?? item.type ?? (format === 'reference' ? 'track' : undefined);
  if (typeof type !== 'string' || !eventTypes.includes(type as EventType)) {
    throw new DeadLetter(
      'schema_violation',
      type === undefined ? '/type is required' : `/type must be one of ${eventTypes.join(', ')}`,
    );
  }
  const eventType = type as EventType;

  const eventId = eventIdOf(item, ctx.sourceId);
  if (eventId === undefined) {
    throw new DeadLetter(
      'schema_violation',
      `/${item.eventId != null ? 'eventId' : 'messageId'} must be a string`,
    );
  }
  const candidate: Record<string, unknown> = {
    eventId,
    type: eventType,
    eventName: eventNameOf(item, eventType),
  };
  const sentAt = sentAtTime(item.sentAt ?? shared.sentAt);
  const timestamp = item.timestamp ?? item.originalTimestamp;
  if (timestamp === undefined) {
    candidate.timestamp = sentAt ?? ctx.receivedAt.toISOString();
  } else {
    const iso = isoTime(timestamp);
    if (iso === undefined)
      throw new DeadLetter('schema_violation', '/timestamp must be an ISO 8601 date-time');
    candidate.timestamp = iso;
  }
  // An unreadable sentAt only loses the skew correction; it is not worth an event.
  if (sentAt !== undefined) candidate.sentAt = sentAt;
  // Written out rather than looped over a list of names: named stores and loads stay monomorphic.
  const sessionId = idOf(item.sessionId);
  if (sessionId !== undefined) candidate.sessionId = sessionId;
  const userId = idOf(item.userId);
  if (userId !== undefined) candidate.userId = userId;
  const anonymousId = idOf(item.anonymousId);
  if (anonymousId !== undefined) candidate.anonymousId = anonymousId;
  const groupId = idOf(item.groupId);
  if (groupId !== undefined) candidate.groupId = groupId;
  const previousId = idOf(item.previousId);
  if (previousId !== undefined) candidate.previousId = previousId;
  candidate.properties = propertiesOf(item, eventType);
  if (item.traits !== undefined) candidate.traits = item.traits;
  const context = mergeField(shared.context, item.context);
  if (context !== undefined) candidate.context = context;
  const integrations = mergeField(shared.integrations, item.integrations);
  if (integrations !== undefined) candidate.integrations = integrations;
  if (format === 'reference') liftWrapperContext(candidate);

  if (!checkIdentity(candidate)) throw new DeadLetter('missing_identity', 'needs userId or anonymousId');
  if (eventType === 'group' && candidate.groupId === undefined) {
    throw new DeadLetter('schema_violation', '/groupId is required for a group call');
  }
  if (eventType === 'alias') {
    const missing = ['previousId', 'userId'].filter((key) => candidate[key] === undefined);
    if (missing.length) {
      const paths = missing.map((key) => `/${key}`).join(' and ');
      const verb = missing.length > 1 ? 'are' : 'is';
      throw new DeadLetter('schema_violation', `${paths} ${verb} required for an alias call`);
    }
  }
  if (!isValidEnvelope(candidate)) {
    const result = validateEnvelope(candidate);
    throw new DeadLetter(
      'schema_violation',
      result.ok ? 'invalid envelope' : describeIssues(result.errors, ''),
    );
  }
  for (const key of textColumnFields) {
    const value = candidate[key];
    if (typeof value === 'string' && hasLoneSurrogate(value)) {
      throw new DeadLetter(
        'schema_violation',
        `/${key} must be well-formed Unicode (it has a lone surrogate)`,
      );
    }
  }
  const { eventName } = candidate;
  // identify, group and alias name people and accounts, not events; strict mode is about the taxonomy of events.
  if (ctx.limits.strict && (eventType === 'track' || eventType === 'page' || eventType === 'screen')) {
    if (!isRegisteredEvent(eventName)) {
      throw new DeadLetter(
        'unknown_event',
        'the event name is not registered and the collector is in strict mode',
      );
    }
  }
  const properties = validateProperties(eventName, candidate.properties);
  if (!properties.ok)
    throw new DeadLetter('schema_violation', describeIssues(properties.errors, '/properties'));
  return candidate;
}

/** Paths and rules only: never a value, which may be personal data. */
function describeIssues(issues: readonly ValidationIssue[], prefix: string): string {
  const shown = issues.slice(0, 10).map((issue) => `${prefix}${issue.path || ''} ${issue.message}`.trim());
  return issues.length > 10 ? `${shown.join('; ')}; and ${issues.length - 10} more` : shown.join('; ');
}

function eventNameOf(item: Item, type: EventType): string {
  switch (type) {
    case 'track': {
      const name = item.eventName ?? item.event;
      if (typeof name !== 'string' || name.trim() === '') {
        throw new DeadLetter('schema_violation', '/event is required for a track call and must be a string');
      }
      return name;
    }
    case 'page':
      return 'page_view';
    case 'screen':
      return 'screen_view';
    default:
      return type;
  }
}

/** `properties`, with a page or screen call's top-level `name` and `category` copied in (they win). */
function propertiesOf(item: Item, type: EventType): unknown {
  const properties = item.properties ?? {};
  if ((type !== 'page' && type !== 'screen') || !isObject(properties)) return properties;
  const named = copyObject(properties);
  if (typeof item.name === 'string') named.name = item.name;
  if (typeof item.category === 'string') named.category = item.category;
  return named;
}

/** The reference wrapper puts the page's context into every event's properties (reference §1.3). */
const wrapperContextKeys = ['url', 'referrer', 'userAgent', 'screenResolution', 'viewport'] as const;

/**
 * Moves the wrapper's `url`, `referrer`, `userAgent`, `screenResolution` and `viewport` from `properties` into
 * `context` (`page.url`, `page.referrer`, `userAgent`, `screen`, `viewport`; "1920x1080" becomes
 * `{ width: 1920, height: 1080 }`), where the enrich stage and the queries look for them. A slot the item's own
 * `context` fills is left alone. They stay in `properties` only where the event's registered schema declares them
 * (`page_view` has `url` and `referrer`): the closed schemas, such as the form events, would refuse them otherwise.
 */
function liftWrapperContext(candidate: Record<string, unknown>): void {
  const properties = candidate.properties;
  if (!isObject(properties) || !hasWrapperContext(properties)) return;
  if (candidate.context !== undefined && !isObject(candidate.context)) return;
  const context = copyObject(candidate.context as Item | undefined);
  const page = isObject(context.page) ? copyObject(context.page) : {};
  const { url, referrer, userAgent, screenResolution, viewport } = properties;
  if (typeof url === 'string' && page.url === undefined) page.url = url;
  if (typeof referrer === 'string' && page.referrer === undefined) page.referrer = referrer;
  if (Object.keys(page).length > 0 && (context.page === undefined || isObject(context.page)))
    context.page = page;
  if (typeof userAgent === 'string' && context.userAgent === undefined) context.userAgent = userAgent;
  const screen = dimensions(screenResolution);
  if (screen && context.screen === undefined) context.screen = screen;
  const view = dimensions(viewport);
  if (view && context.viewport === undefined) context.viewport = view;
  candidate.context = context;

  const declared = eventDefinition(String(candidate.eventName))?.properties.properties ?? {};
  const kept = copyObject(properties);
  for (const key of wrapperContextKeys) if (!Object.hasOwn(declared, key)) delete kept[key];
  candidate.properties = kept;
}

/** A loop rather than `some` with a closure: this runs for every reference event, most of which have none. */
function hasWrapperContext(properties: Item): boolean {
  for (const key of wrapperContextKeys) if (Object.hasOwn(properties, key)) return true;
  return false;
}

function dimensions(value: unknown): { width: number; height: number } | undefined {
  const match = typeof value === 'string' ? /^(\d{1,6})x(\d{1,6})$/.exec(value) : null;
  return match ? { width: Number(match[1]), height: Number(match[2]) } : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Event ids

/** The namespace of ids derived from Segment message ids (a fixed random UUID; never change it). */
const messageIdNamespace = Buffer.from('8b0f6a3e2c5d4f71a9e4d2c7b1f03a56', 'hex');

/**
 * The event's id: `eventId` (reference wrapper) or `messageId` (Segment), lowercased, when it is a UUID. Segment
 * libraries' message ids are often not (`ajs-next-…`, `node-next-…`), so those become a name-based UUID (version 5
 * layout, SHA-1) of the source id and the message id: a retry of the same message gets the same id and is
 * deduplicated. An event with no id at all gets a random (v4) UUID; its retries cannot be recognised.
 * Undefined when the id is neither a string nor a number.
 */
export function eventIdOf(
  item: { eventId?: unknown; messageId?: unknown },
  sourceId: string,
): string | undefined {
  const given = item.eventId ?? item.messageId;
  if (given === undefined || given === null || given === '') return randomUUID();
  if (typeof given === 'string' && isUuid(given)) return given.toLowerCase();
  if (typeof given === 'string' || (typeof given === 'number' && Number.isFinite(given))) {
    return nameBasedUuid(`${sourceId}\n${String(given)}`);
  }
  return undefined;
}

function nameBasedUuid(name: string): string {
  const bytes = createHash('sha1').update(messageIdNamespace).update(name).digest();
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Values

/** Ids as strings; numeric ids, which some clients send, are accepted as their decimal string. */
function idOf(value: unknown): unknown {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (value === '' || value === null) return undefined;
  return value;
}

const isoPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

/**
 * An ISO 8601 date-time with a zone, as UTC with milliseconds (`toISOString`); undefined for anything else.
 * Out-of-range fields roll over as Date.parse rolls them (`2024-02-30` is `2024-03-01`).
 */
function isoTime(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  // Most clients send the stored form already: checked from the character codes, no regex and no Date.
  if (isStoredIsoTime(value)) return value;
  if (!isoPattern.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

// The items of a batch share their `sentAt` (the batch's, or each SDK's own, repeated): read once per run of them.
let lastSentAtInput: unknown;
let lastSentAt: string | undefined;

function sentAtTime(value: unknown): string | undefined {
  if (value !== lastSentAtInput || typeof value !== 'string') {
    lastSentAt = isoTime(value);
    lastSentAtInput = value;
  }
  return lastSentAt;
}

function isObject(value: unknown): value is Item {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function describeKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** A batch-level field under an item's own: objects merged key by key, anything else the item's if it has one. */
function mergeField(shared: unknown, own: unknown): unknown {
  if (shared === undefined) return own;
  if (own === undefined) return shared;
  return isObject(shared) && isObject(own) ? copyObject(shared, own) : own;
}

/**
 * A new object with the keys of `sources`, later ones winning. Object.assign is some twenty times faster than
 * spread on these mixed shapes, but it assigns, and assigning a `__proto__` key sets the prototype instead of
 * copying the key: objects with one (body.ts removes them; other callers may not) take the slow, exact path.
 */
function copyObject(...sources: (Item | undefined)[]): Item {
  if (!sources.some((source) => source !== undefined && Object.hasOwn(source, '__proto__'))) {
    return Object.assign({}, ...sources);
  }
  const copy: Item = {};
  for (const source of sources) {
    for (const [key, value] of Object.entries(source ?? {})) {
      Object.defineProperty(copy, key, { value, writable: true, enumerable: true, configurable: true });
    }
  }
  return copy;
}

/** The item with the batch's fields under it, as a dead letter keeps it (replayable on its own). */
function mergeItem(shared: Item, item: Item): Item {
  const merged: Item = { ...shared, ...item };
  for (const key of ['context', 'integrations'] as const) {
    const value = mergeField(shared[key], item[key]);
    if (value !== undefined) merged[key] = value;
  }
  return merged;
}

/**
 * A raw item as it may be kept in the dead letters: `context.ip` replaced by what the IP policy keeps (removed
 * when no policy is given or it keeps nothing) and the `writeKey` removed. Returns a copy; non-objects as they are.
 */
export function scrubRawIp(item: unknown, anonymizeIp?: (ip: string) => string | undefined): unknown {
  if (!isObject(item)) return item;
  const { writeKey: _writeKey, ...rest } = item;
  if (!isObject(rest.context) || !Object.hasOwn(rest.context, 'ip')) return rest;
  const { ip, ...context } = rest.context;
  const kept = typeof ip === 'string' && anonymizeIp ? anonymizeIp(ip) : undefined;
  return { ...rest, context: kept === undefined ? context : { ...context, ip: kept } };
}

/** Marks a raw item cut at the event size limit. */
export const rawTruncatedMarker = '…[truncated by deepref]';

function capRaw(json: string, maxBytes: number): string {
  if (json.length <= maxBytes / 3 || Buffer.byteLength(json) <= maxBytes) return json;
  return Buffer.from(json).subarray(0, maxBytes).toString('utf8') + rawTruncatedMarker;
}

/**
 * An upper bound of `Buffer.byteLength(JSON.stringify(value))` for the values `JSON.parse` makes, found without
 * building the text; Infinity once past `budget`, and for anything else (other prototypes, functions, undefined,
 * nesting deeper than 64, a getter that throws), which sends the caller to the exact count. A string counts 6
 * bytes a UTF-16 unit (the longest escape, `\u001f`; no character takes more than 3 bytes a unit in UTF-8), a
 * number 25 (`-1.7976931348623157e+308` is 24), every key, colon, comma and bracket counted.
 */
export function jsonBytesBound(value: unknown, budget: number): number {
  try {
    return bound(value, budget, 0);
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

function bound(value: unknown, budget: number, depth: number): number {
  switch (typeof value) {
    case 'string':
      return 2 + 6 * value.length;
    case 'number':
      return 25;
    case 'boolean':
      return 5;
    case 'object': {
      if (value === null) return 4;
      if (depth >= 64) return Number.POSITIVE_INFINITY;
      if (Array.isArray(value)) {
        let total = 2 + value.length;
        for (let i = 0; i < value.length; i++) {
          total += bound(value[i], budget - total, depth + 1);
          if (total > budget) return Number.POSITIVE_INFINITY;
        }
        return total;
      }
      const prototype = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null) return Number.POSITIVE_INFINITY;
      let total = 2;
      // for…in also visits inherited enumerable keys, which JSON.stringify skips: they only raise the bound.
      for (const key in value) {
        total += 4 + 6 * key.length + bound((value as Item)[key], budget - total, depth + 1);
        if (total > budget) return Number.POSITIVE_INFINITY;
      }
      return total;
    }
    default:
      return Number.POSITIVE_INFINITY;
  }
}

/**
 * Levels of objects and arrays an item may nest, itself the first: the stages after the wire walk events
 * recursively (the PII walk ran out of stack past about 2,500 levels, answering 500 for the whole batch, which the
 * client would retry for ever), and no client needs more.
 */
export const maxNesting = 1_024;

function tooDeep(what: string): string {
  return `${what} nests objects and arrays more than ${maxNesting} levels deep`;
}

/** Whether `value` nests objects and arrays more than `limit` levels deep (it is the first); no recursion. */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  const values: unknown[] = [value];
  const depths: number[] = [1];
  while (values.length > 0) {
    const next = values.pop();
    const depth = depths.pop()!;
    if (next === null || typeof next !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(next) ? next : Object.values(next)) {
      if (child !== null && typeof child === 'object') {
        values.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

// A batch's items share its fields: their depth is checked once for the run of items that share them.
let lastShared: Item = noBatchFields;
let lastSharedTooDeep = false;

function sharedTooDeep(shared: Item): boolean {
  if (shared !== lastShared) {
    lastSharedTooDeep = nestedDeeperThan(shared, maxNesting);
    lastShared = shared;
  }
  return lastSharedTooDeep;
}

/** JSON text of a value, or undefined when it cannot be serialised (nesting deeper than the stack). */
function stringify(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}
