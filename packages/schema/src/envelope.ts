/**
 * The event envelope (DESIGN.md "The event envelope"): what every source sends, after the collector has mapped
 * its wire format (reference wrapper, Segment spec) onto it, and what the server adds before the first write.
 */
import Type, { type Static } from 'typebox';

/** The Segment call types; a plain `track` is what the reference's browser wrapper sends. */
export const EventType = Type.Union([
  Type.Literal('track'),
  Type.Literal('page'),
  Type.Literal('screen'),
  Type.Literal('identify'),
  Type.Literal('group'),
  Type.Literal('alias'),
]);
export type EventType = Static<typeof EventType>;

const Id = Type.String({ minLength: 1, maxLength: 256 });
const IsoTime = Type.String({ format: 'date-time', maxLength: 64 });

/** Client-side context; known keys are typed, anything else a library adds is kept as it is. */
export const EventContext = Type.Object(
  {
    page: Type.Optional(
      Type.Object(
        {
          url: Type.Optional(Type.String({ maxLength: 4096 })),
          path: Type.Optional(Type.String({ maxLength: 4096 })),
          referrer: Type.Optional(Type.String({ maxLength: 4096 })),
          title: Type.Optional(Type.String({ maxLength: 1024 })),
          search: Type.Optional(Type.String({ maxLength: 4096 })),
        },
        { additionalProperties: true },
      ),
    ),
    userAgent: Type.Optional(Type.String({ maxLength: 1024 })),
    screen: Type.Optional(Type.Object({}, { additionalProperties: true })),
    viewport: Type.Optional(Type.Object({}, { additionalProperties: true })),
    locale: Type.Optional(Type.String({ maxLength: 64 })),
    timezone: Type.Optional(Type.String({ maxLength: 64 })),
    ip: Type.Optional(Type.String({ maxLength: 64 })),
    library: Type.Optional(
      Type.Object(
        {
          name: Type.Optional(Type.String({ maxLength: 128 })),
          version: Type.Optional(Type.String({ maxLength: 64 })),
        },
        { additionalProperties: true },
      ),
    ),
  },
  { additionalProperties: true },
);
export type EventContext = Static<typeof EventContext>;

/** What a source sends, mapped onto one shape. `userId` or `anonymousId` is required (checked by `checkIdentity`). */
export const EventEnvelope = Type.Object(
  {
    eventId: Type.String({ format: 'uuid' }),
    type: EventType,
    eventName: Type.String({ minLength: 1, maxLength: 200 }),
    timestamp: IsoTime,
    sentAt: Type.Optional(IsoTime),
    sessionId: Type.Optional(Id),
    userId: Type.Optional(Id),
    anonymousId: Type.Optional(Id),
    groupId: Type.Optional(Id),
    previousId: Type.Optional(Id),
    properties: Type.Object({}, { additionalProperties: true }),
    traits: Type.Optional(Type.Object({}, { additionalProperties: true })),
    context: Type.Optional(EventContext),
    integrations: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
  { additionalProperties: false },
);
export type EventEnvelope = Static<typeof EventEnvelope>;

/** Parsed from the user agent on the server; never sent by a client. */
export const DeviceInfo = Type.Object({
  browser: Type.Optional(Type.String()),
  browserVersion: Type.Optional(Type.String()),
  os: Type.Optional(Type.String()),
  osVersion: Type.Optional(Type.String()),
  deviceType: Type.String(),
});
export type DeviceInfo = Static<typeof DeviceInfo>;

/**
 * An event as the event log keeps it: the envelope with the server's additions. `timestamp` is the skew-corrected
 * event time; `originalTimestamp` what the client said. `ip` holds only what the network policy allows
 * (a truncated address or a keyed hash), never the raw address.
 */
export const StoredEvent = Type.Object({
  ...EventEnvelope.properties,
  receivedAt: IsoTime,
  originalTimestamp: IsoTime,
  sourceId: Type.String(),
  device: DeviceInfo,
  ip: Type.Optional(Type.String()),
});
export type StoredEvent = Static<typeof StoredEvent>;
