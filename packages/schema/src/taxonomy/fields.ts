/**
 * Property schemas that several events share, so that the same quantity has the same name, unit and bounds
 * everywhere (analytics joins client and server events on them).
 */
import Type from 'typebox';

/** An elapsed time in milliseconds. */
export const DurationMs = Type.Number({ minimum: 0 });
/** A count of things. */
export const Count = Type.Integer({ minimum: 0 });
/** A size in bytes. */
export const Bytes = Type.Integer({ minimum: 0 });
/** A share of a whole, 0 to 100. */
export const Percent = Type.Number({ minimum: 0, maximum: 100 });
/** A model or detector score, 0 to 1. */
export const Score = Type.Number({ minimum: 0, maximum: 1 });
/** An application identifier (document, comment, search, …); not a person's name or address. */
export const EntityId = Type.String({ minLength: 1, maxLength: 256 });
/** A short machine-readable code: a plan, a feature key, a reason. */
export const Code = Type.String({ minLength: 1, maxLength: 128 });
/** Free text a person wrote; always listed in `sensitiveFields`. */
export const FreeText = Type.String({ maxLength: 100_000 });
export const Uuid = Type.String({ format: 'uuid' });
/** A URL path or URL as the page knows it. */
export const UrlString = Type.String({ maxLength: 4096 });
export const HttpMethod = Type.Enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** ISO 4217 currency code. */
export const Currency = Type.String({ pattern: '^[A-Z]{3}$' });
export const BillingInterval = Type.Enum(['monthly', 'annual']);
