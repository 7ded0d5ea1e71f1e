/**
 * The collector's first check of every event: the envelope's shape (compiled once, JIT-accelerated) and the
 * presence of an identity. On the hot path call `isValidEnvelope`; `validateEnvelope` says what is wrong.
 */
import { Compile } from 'typebox/compile';
import { EventEnvelope } from './envelope.ts';
// Registers the faster date-time and uuid checks before anything is compiled.
import './formats.ts';
import { toValidationIssues, type ValidationIssue } from './validation-issue.ts';

export type EnvelopeValidation =
  | { readonly ok: true; readonly value: EventEnvelope }
  | { readonly ok: false; readonly errors: ValidationIssue[] };

const compileEnvelope = () => Compile(EventEnvelope);
type EnvelopeValidator = ReturnType<typeof compileEnvelope>;

let compiled: EnvelopeValidator | undefined;

function envelopeValidator(): EnvelopeValidator {
  compiled ??= compileEnvelope();
  return compiled;
}

const MISSING_IDENTITY: ValidationIssue = Object.freeze({
  path: '',
  message: 'must have userId or anonymousId',
});

/** True when the envelope names its subject: a `userId`, an `anonymousId`, or both. */
export function checkIdentity(envelope: {
  readonly userId?: unknown;
  readonly anonymousId?: unknown;
}): boolean {
  return typeof envelope.userId === 'string' || typeof envelope.anonymousId === 'string';
}

/** Shape and identity, allocating nothing beyond what the compiled check does. */
export function isValidEnvelope(value: unknown): value is EventEnvelope {
  return envelopeValidator().Check(value) && checkIdentity(value as EventEnvelope);
}

export function validateEnvelope(value: unknown): EnvelopeValidation {
  const validator = envelopeValidator();
  if (validator.Check(value)) {
    return checkIdentity(value) ? { ok: true, value } : { ok: false, errors: [MISSING_IDENTITY] };
  }
  const errors = toValidationIssues(validator.Errors(value));
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && !checkIdentity(value)) {
    errors.push(MISSING_IDENTITY);
  }
  return { ok: false, errors };
}
