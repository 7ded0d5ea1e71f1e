/**
 * An envelope into the event the log keeps: the server's receive time, the clock-skew-corrected event time, the
 * device parsed from the user agent, and the network address only as the IP policy allows. The raw address is
 * removed from `context` here, so it never reaches a stored event.
 */
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { isIPv4, isIPv6 } from 'node:net';
import {
  type DeviceInfo,
  type EventEnvelope,
  firstStorableMillis,
  formatIsoMillis,
  lastStorableMillis,
  parseIsoMillis,
  type StoredEvent,
} from '@deepref/schema';
import type { IpPolicy } from '../config.ts';

/** What the HTTP request tells about the sender, beside the envelope. */
export interface RequestFacts {
  /** The peer address as Fastify reports it (`request.ip`, after its trustProxy rules). */
  ip?: string | undefined;
  /** The request's User-Agent header. */
  userAgent?: string | undefined;
  /** `Sec-GPC: 1` (Global Privacy Control) or `DNT: 1` (Do Not Track) was sent: the consent gate reads it. */
  privacySignal?: boolean | undefined;
}

export interface EnrichOptions {
  ipPolicy: IpPolicy;
  /** The key for `ipPolicy: 'hash'` (`loadOrCreateSecret(dir, 'ip-hash')`); required for that policy. */
  ipHashKey?: Buffer | string | undefined;
  /** Distinct user agents kept parsed (LRU); default 10 000. */
  userAgentCacheSize?: number;
}

export interface EnrichInput {
  sourceId: string;
  receivedAt: Date;
  request: RequestFacts;
}

/**
 * Builds the enrich stage; one per process, so its user agent cache is shared by all requests. The stored event
 * shares `properties`, `traits` and `integrations` with the envelope (and `context` when it has no `ip`): the
 * envelope is not meant to be used after this stage.
 */
export function createEnricher(
  options: EnrichOptions,
): (envelope: EventEnvelope, input: EnrichInput) => StoredEvent {
  const { ipPolicy, ipHashKey } = options;
  if (ipPolicy === 'hash' && !ipHashKey) throw new Error("ipPolicy 'hash' needs ipHashKey.");
  const devices = new UserAgentCache(options.userAgentCacheSize);

  // Every event of a request shares one receivedAt; format it once.
  let lastReceivedAt: Date | undefined;
  let lastReceivedAtMs = Number.NaN;
  let lastReceivedAtIso = '';

  // The events of a request mostly share one address; the HMAC is the costly part of the hash policy.
  let lastClientIp: string | undefined;
  let lastPeerIp: string | undefined;
  let lastKept: string | undefined;
  const keptAddress = (clientIp: string | undefined, peerIp: string | undefined): string | undefined => {
    if (ipPolicy === 'drop') return undefined;
    if (clientIp !== lastClientIp || peerIp !== lastPeerIp || lastKept === undefined) {
      const address = pickAddress(clientIp, peerIp);
      lastClientIp = clientIp;
      lastPeerIp = peerIp;
      lastKept = address === undefined ? undefined : keepAddress(address, ipPolicy, ipHashKey);
    }
    return lastKept;
  };

  return (envelope, { sourceId, receivedAt, request }) => {
    if (receivedAt !== lastReceivedAt) {
      lastReceivedAt = receivedAt;
      lastReceivedAtMs = receivedAt.getTime();
      lastReceivedAtIso = receivedAt.toISOString();
    }
    const context = envelope.context;
    // Field by field rather than by spread: one object shape for every event, and several times faster.
    const event: StoredEvent = {
      eventId: envelope.eventId,
      type: envelope.type,
      eventName: envelope.eventName,
      timestamp: correctClockSkewAt(envelope.timestamp, envelope.sentAt, lastReceivedAtMs),
      originalTimestamp: envelope.timestamp,
      receivedAt: lastReceivedAtIso,
      sourceId,
      properties: envelope.properties,
      device: devices.device(context?.userAgent ?? request.userAgent),
    };
    if (envelope.sentAt !== undefined) event.sentAt = envelope.sentAt;
    if (envelope.sessionId !== undefined) event.sessionId = envelope.sessionId;
    if (envelope.userId !== undefined) event.userId = envelope.userId;
    if (envelope.anonymousId !== undefined) event.anonymousId = envelope.anonymousId;
    if (envelope.groupId !== undefined) event.groupId = envelope.groupId;
    if (envelope.previousId !== undefined) event.previousId = envelope.previousId;
    if (envelope.traits !== undefined) event.traits = envelope.traits;
    if (envelope.integrations !== undefined) event.integrations = envelope.integrations;
    if (context !== undefined) event.context = withoutIp(context);
    const kept = keptAddress(context?.ip, request.ip);
    if (kept !== undefined) event.ip = kept;
    return event;
  };
}

/** The context without `ip`; the envelope's own object is left as it was. */
function withoutIp(context: NonNullable<EventEnvelope['context']>): NonNullable<EventEnvelope['context']> {
  if (!Object.hasOwn(context, 'ip')) return context;
  const { ip: _ip, ...rest } = context;
  return rest;
}

// The events of a batch share their `sentAt`: parsed once for the run of events that repeat it.
let lastSentAt: string | undefined;
let lastSent = Number.NaN;

function parseSentAt(sentAt: string): number {
  if (sentAt !== lastSentAt) {
    lastSent = parseIsoMillis(sentAt);
    lastSentAt = sentAt;
  }
  return lastSent;
}

/**
 * Segment's correction: the client's clock is assumed off by `sentAt − receivedAt`, so the event time moves by
 * `receivedAt − sentAt`. Without `sentAt` (or with an unreadable one), or when the corrected time would fall outside
 * the years 0000 to 9999, the client's time is kept.
 */
export function correctClockSkew(timestamp: string, sentAt: string | undefined, receivedAt: Date): string {
  return correctClockSkewAt(timestamp, sentAt, receivedAt.getTime());
}

/** `correctClockSkew` with the receive time in milliseconds, read once per request. */
function correctClockSkewAt(timestamp: string, sentAt: string | undefined, receivedAtMs: number): string {
  if (sentAt === undefined) return timestamp;
  const sent = parseSentAt(sentAt);
  if (Number.isNaN(sent)) return timestamp;
  const event = parseIsoMillis(timestamp);
  if (Number.isNaN(event)) return timestamp;
  const corrected = event + (receivedAtMs - sent);
  // A correction past the years 0000 to 9999 (or NaN) keeps the client's time: no warehouse would load it.
  return corrected >= firstStorableMillis && corrected <= lastStorableMillis
    ? formatIsoMillis(corrected)
    : timestamp;
}

// ---------------------------------------------------------------------------------------------------------------
// Network address

/**
 * An address read once: IPv4 as dotted text, IPv6 as its eight 16-bit groups. IPv4-mapped IPv6
 * (`::ffff:1.2.3.4`, common behind dual-stack sockets) is the IPv4 address; a zone (`%eth0`) is dropped.
 */
type Address = { v4: string; v6?: undefined } | { v4?: undefined; v6: number[] };

function parseAddress(value: string | undefined): Address | undefined {
  if (!value) return undefined;
  const ip = value.trim();
  if (isIPv4(ip)) return { v4: ip };
  const zone = ip.indexOf('%');
  const address = zone === -1 ? ip : ip.slice(0, zone);
  if (!isIPv6(address)) return undefined;
  const g = expandIpv6(address);
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return { v4: `${g[6]! >> 8}.${g[6]! & 0xff}.${g[7]! >> 8}.${g[7]! & 0xff}` };
  }
  return { v6: g };
}

/** `context.ip` (a server-side SDK reports its end user's address there, as in Segment) else the peer address. */
function pickAddress(clientIp: string | undefined, peerIp: string | undefined): Address | undefined {
  return parseAddress(clientIp) ?? parseAddress(peerIp);
}

/**
 * What `policy` keeps of an address: its /24 (IPv4) or /48 (IPv6) network, a keyed hash (HMAC-SHA256, hex, first
 * 32 characters) of its canonical form, or nothing. Undefined for anything that is not an IP address.
 */
export function anonymizeIp(ip: string, policy: IpPolicy, hashKey?: Buffer | string): string | undefined {
  const address = parseAddress(ip);
  return address === undefined ? undefined : keepAddress(address, policy, hashKey);
}

/** The /24 of an IPv4 address (`a.b.c.0`) or the /48 of an IPv6 address in RFC 5952 form (`2001:db8:1::`). */
export function truncateIp(ip: string): string | undefined {
  return anonymizeIp(ip, 'truncate');
}

function keepAddress(
  address: Address,
  policy: IpPolicy,
  hashKey: Buffer | string | undefined,
): string | undefined {
  if (policy === 'drop') return undefined;
  const { v4, v6 } = address;
  if (policy === 'truncate') {
    return v4 !== undefined
      ? `${v4.slice(0, v4.lastIndexOf('.'))}.0`
      : formatIpv6([v6[0]!, v6[1]!, v6[2]!, 0, 0, 0, 0, 0]);
  }
  if (!hashKey) throw new Error("ipPolicy 'hash' needs a key.");
  // One spelling per address, so that its hash does not depend on how it was written.
  const canonical = v4 ?? v6.map((group) => group.toString(16).padStart(4, '0')).join(':');
  return createHmac('sha256', hashKey).update(canonical).digest('hex').slice(0, 32);
}

/** RFC 5952 text: lowercase, no leading zeros, the longest run of two or more zero groups (first wins) as `::`. */
function formatIpv6(groups: number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** The eight groups of a valid IPv6 address (checked by `isIPv6` before), with `::` and a dotted tail expanded. */
function expandIpv6(address: string): number[] {
  const gap = address.indexOf('::');
  const groups: number[] = [];
  const tail: number[] = [];
  pushGroups(gap === -1 ? address : address.slice(0, gap), groups);
  if (gap !== -1) pushGroups(address.slice(gap + 2), tail);
  while (groups.length + tail.length < 8) groups.push(0);
  for (const group of tail) groups.push(group);
  return groups;
}

function pushGroups(part: string, into: number[]): void {
  if (part === '') return;
  for (const piece of part.split(':')) {
    if (!piece.includes('.')) {
      into.push(Number.parseInt(piece, 16));
      continue;
    }
    const [a, b, c, d] = piece.split('.').map(Number) as [number, number, number, number];
    into.push((a << 8) | b, (c << 8) | d);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// User agent

interface UaResult {
  browser: { name?: string; version?: string };
  os: { name?: string; version?: string };
  device: { type?: string };
}
// ua-parser-js 1.x is CommonJS without type declarations.
const parseUa = createRequire(import.meta.url)('ua-parser-js') as (ua: string) => UaResult;

/** ua-parser-js 1.x does not recognise crawlers; these names cover the common ones and headless browsers. */
const botPattern =
  /bot\b|crawler|spider|crawling|slurp|facebookexternalhit|bingpreview|mediapartners-google|headlesschrome|lighthouse|phantomjs/i;

/** ua-parser-js reads only the first 500 characters, so the cache key is cut there too. */
const UA_MAX_LENGTH = 500;

/**
 * The device a user agent describes. `deviceType` is `bot`, one of ua-parser-js's types (`mobile`, `tablet`,
 * `console`, `smarttv`, `wearable`, `embedded`, `xr`), `desktop` when a browser or OS is recognised without a
 * device type, else `unknown` (curl, server SDKs, no user agent).
 */
export function parseUserAgent(userAgent: string | undefined): DeviceInfo {
  if (!userAgent) return { deviceType: 'unknown' };
  const ua = userAgent.slice(0, UA_MAX_LENGTH);
  const result = parseUa(ua);
  const device: DeviceInfo = { deviceType: 'unknown' };
  if (result.browser.name) device.browser = result.browser.name;
  if (result.browser.version) device.browserVersion = result.browser.version;
  if (result.os.name) device.os = result.os.name;
  if (result.os.version) device.osVersion = result.os.version;
  if (botPattern.test(ua)) device.deviceType = 'bot';
  else if (result.device.type) device.deviceType = result.device.type;
  else if (device.browser || device.os) device.deviceType = 'desktop';
  return device;
}

/**
 * Parsed user agents by string, least recently used dropped first. Parsing costs tens of microseconds and the
 * collector sees few distinct user agents, so nearly every event is a hit. Each answer is a fresh copy, so a
 * later stage may change its event's device without touching the cache.
 */
export class UserAgentCache {
  private readonly entries = new Map<string, DeviceInfo>();
  /** The last entry set, which is the last in the map's order (evictions only remove the first). */
  private newestKey = '';
  private newest: DeviceInfo | undefined;

  constructor(private readonly maxEntries = 10_000) {}

  get size(): number {
    return this.entries.size;
  }

  device(userAgent: string | undefined): DeviceInfo {
    const key = userAgent ? userAgent.slice(0, UA_MAX_LENGTH) : '';
    // The events of a request mostly share one user agent: the most recent entry needs no move to the end.
    if (key === this.newestKey && this.newest !== undefined) return { ...this.newest };
    let device = this.entries.get(key);
    if (device) {
      this.entries.delete(key);
    } else {
      device = parseUserAgent(key);
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(key, device);
    this.newestKey = key;
    this.newest = device;
    return { ...device };
  }
}
