/**
 * The registered event taxonomy (reference §1.1, §2): every event name the platform knows, with its typed
 * properties, consent purposes and sensitive fields. Names outside it are custom events, accepted as they come
 * unless a project turns strict mode on (the collector's job).
 */
import type { Static } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';
// Registers the faster date-time and uuid checks before anything is compiled.
import '../formats.ts';
import { toValidationIssues, type ValidationResult } from '../validation-issue.ts';
import { aiEvents } from './ai.ts';
import { businessEvents } from './business.ts';
import type { EventDefinition } from './definition.ts';
import { performanceEvents } from './performance.ts';
import { securityEvents } from './security.ts';
import { userEvents } from './user.ts';

export { aiEvents } from './ai.ts';
export { businessEvents } from './business.ts';
export {
  defineEvent,
  type EventCategory,
  type EventDefinition,
  PURPOSES,
  type Purpose,
} from './definition.ts';
export { performanceEvents } from './performance.ts';
export { securityEvents } from './security.ts';
export { userEvents } from './user.ts';

/** Every registered event by name. The category files share no name (a test checks it). */
export const registeredEvents = {
  ...userEvents,
  ...performanceEvents,
  ...businessEvents,
  ...aiEvents,
  ...securityEvents,
};

export type RegisteredEventName = keyof typeof registeredEvents;

/** The typed properties of a registered event, e.g. `EventProperties<'api_latency'>['duration_ms']` is `number`. */
export type EventProperties<N extends RegisteredEventName> = Static<
  (typeof registeredEvents)[N]['properties']
>;

export const registeredEventNames = Object.freeze(Object.keys(registeredEvents) as RegisteredEventName[]);

export function isRegisteredEvent(name: string): name is RegisteredEventName {
  return Object.hasOwn(registeredEvents, name);
}

/** The definition of a registered event, or `undefined` for a custom event. */
export function eventDefinition(name: string): EventDefinition | undefined {
  return isRegisteredEvent(name) ? registeredEvents[name] : undefined;
}

const OK: ValidationResult = Object.freeze({ ok: true });

// Compiling all events up front costs start-up time for events a deployment may never see.
const validators = new Map<RegisteredEventName, Validator>();

function propertiesValidator(name: RegisteredEventName): Validator {
  let validator = validators.get(name);
  if (validator === undefined) {
    validator = Compile(registeredEvents[name].properties);
    validators.set(name, validator);
  }
  return validator;
}

/**
 * Checks an event's `properties` against its registered schema. Custom (unregistered) names pass: whether
 * they are allowed at all is the collector's strict-mode decision. Paths are JSON Pointers into `properties`
 * (`/duration_ms`); prefix `/properties` to point into the envelope.
 */
export function validateProperties(eventName: string, properties: unknown): ValidationResult {
  if (!isRegisteredEvent(eventName)) return OK;
  const validator = propertiesValidator(eventName);
  if (validator.Check(properties)) return OK;
  return { ok: false, errors: toValidationIssues(validator.Errors(properties)) };
}
