/**
 * Tests against a service on the machine (PostgreSQL, Redis, NATS): when it cannot be reached they skip with a
 * message that says how to start it, except under `DEEPREF_REQUIRE_SERVICES=1` (CI), where they fail instead.
 */
import { beforeAll, describe } from 'vitest';

export const servicesRequired = process.env.DEEPREF_REQUIRE_SERVICES === '1';

export interface ServiceReach {
  /** Shown in messages, e.g. `PostgreSQL`. */
  service: string;
  url: string;
  /** Why it could not be reached; undefined when it answered. */
  unreachable: string | undefined;
}

/** Says once, on stderr, that a service is missing and what happens to its tests. */
export function warnUnreachable(reach: ServiceReach, hint: string): void {
  if (reach.unreachable === undefined) return;
  console.warn(
    `${reach.service} not reachable at ${reach.url} (${reach.unreachable}): ${servicesRequired ? 'failing' : 'skipping'} ` +
      `its tests. ${hint}`,
  );
}

/** A describe block that needs the service: skipped without it, or failing without it under CI. */
export function describeWithService(reach: ServiceReach, title: string, body: () => void): void {
  describe.skipIf(reach.unreachable !== undefined && !servicesRequired)(title, () => {
    beforeAll(() => {
      if (reach.unreachable !== undefined) {
        throw new Error(
          `${reach.service} not reachable at ${reach.url} (${reach.unreachable}); DEEPREF_REQUIRE_SERVICES=1 requires it`,
        );
      }
    });
    body();
  });
}
