/** How the jobs read events: the person behind an event, and typed reads of taxonomy properties. */
import type { StoredEvent } from '@deepref/schema';

/** The signed-in user, else the anonymous visitor. */
export const personOf = (e: StoredEvent): string | undefined => e.userId ?? e.anonymousId;

export function numberProperty(e: StoredEvent, name: string): number | undefined {
  const value = (e.properties as Record<string, unknown>)[name];
  return typeof value === 'number' ? value : undefined;
}

export function stringProperty(e: StoredEvent, name: string): string | undefined {
  const value = (e.properties as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}
