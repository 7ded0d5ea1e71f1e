/**
 * What a registered event is: its place in the taxonomy, the typed shape of its properties, the consent purposes
 * it needs and the properties the PII policy must encrypt.
 */
import type { TObject, TProperties } from 'typebox';

/**
 * Why data is processed, in the words of the consent gate. An event is stored only when the subject has granted
 * every purpose its definition lists (an empty list is never used: `data_collection` is the floor).
 * - `data_collection`: needed to run, bill and secure the service (server telemetry, security, billing records).
 * - `analytics`: product and usage analytics (behaviour in the app, client-side experience).
 * - `osint_enrichment`: enrichment from public sources (reference §2.6); no registered event needs it today.
 * - `marketing`: campaigns and attribution.
 */
export type Purpose = 'data_collection' | 'analytics' | 'osint_enrichment' | 'marketing';
export const PURPOSES: readonly Purpose[] = ['data_collection', 'analytics', 'osint_enrichment', 'marketing'];

/** The reference's top-level families (§1.1, §2). */
export type EventCategory = 'user' | 'performance' | 'business' | 'ai' | 'security';

export interface EventDefinition<Properties extends TObject = TObject> {
  readonly category: EventCategory;
  /** The reference's sub-family inside the category, e.g. `navigation`, `server`, `subscription`. */
  readonly group: string;
  readonly description: string;
  readonly properties: Properties;
  readonly purposes: readonly Purpose[];
  /** Top-level property names the PII policy encrypts with the subject's data key. */
  readonly sensitiveFields?: readonly string[];
}

/**
 * Declares one event. An identity function whose only job is typing: `sensitiveFields` must name declared
 * properties, and the exact property schema is kept so that `EventProperties<N>` is precise.
 */
export function defineEvent<P extends TProperties>(
  definition: EventDefinition<TObject<P>> & {
    readonly sensitiveFields?: readonly Extract<keyof P, string>[];
  },
): EventDefinition<TObject<P>> {
  return definition;
}
