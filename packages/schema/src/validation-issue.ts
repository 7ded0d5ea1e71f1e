/**
 * Validation failures as the collector reports them (dead-letter reasons, 400 bodies): a JSON Pointer into the
 * checked value and the rule it broke. Messages are built here from the schema's side of the error only, so the
 * offending value (possibly personal data) never reaches a log, a response or the dead letters.
 */
import type { TValidationError } from 'typebox/error';

export interface ValidationIssue {
  /** JSON Pointer (RFC 6901) into the value that was checked; `''` is the value itself. */
  readonly path: string;
  readonly message: string;
}

export type ValidationResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly errors: ValidationIssue[] };

function pointerSegment(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

function list(values: readonly unknown[]): string {
  return values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ');
}

function ruleMessage(error: TValidationError): string {
  switch (error.keyword) {
    case 'type':
      return typeof error.params.type === 'string'
        ? `must be ${error.params.type}`
        : `must be ${error.params.type.join(' or ')}`;
    case 'format':
      return `must match format "${error.params.format}"`;
    case 'enum':
      return `must be one of ${list(error.params.allowedValues)}`;
    case 'const':
      return `must be ${list([error.params.allowedValue])}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `must be ${error.params.comparison} ${error.params.limit}`;
    case 'multipleOf':
      return `must be a multiple of ${error.params.multipleOf}`;
    case 'minLength':
      return `must have at least ${error.params.limit} characters`;
    case 'maxLength':
      return `must have at most ${error.params.limit} characters`;
    case 'minItems':
      return `must have at least ${error.params.limit} items`;
    case 'maxItems':
      return `must have at most ${error.params.limit} items`;
    case 'minProperties':
      return `must have at least ${error.params.limit} properties`;
    case 'maxProperties':
      return `must have at most ${error.params.limit} properties`;
    case 'pattern':
      return `must match pattern "${String(error.params.pattern)}"`;
    case 'uniqueItems':
      return 'must not have duplicate items';
    default:
      return `breaks the "${error.keyword}" rule`;
  }
}

/** One union (`anyOf`/`oneOf`) that failed: TypeBox reports each branch's failure, then the union's own. */
interface FailedUnion {
  issue: { path: string; message: string };
  constants: unknown[];
  onlyConstants: boolean;
  complete: boolean;
}

const UNION_BRANCH = /\/(?:anyOf|oneOf)\/\d+/;

function unionMessage(union: FailedUnion): string {
  // Without the union's own error the branch list may have been cut by TypeBox's error limit.
  return union.complete && union.onlyConstants && union.constants.length > 0
    ? `must be one of ${list(union.constants)}`
    : 'must match one of the allowed shapes';
}

/**
 * Turns TypeBox errors into issues. A missing property and an unexpected one are reported at their own path
 * (`/properties/duration_ms is required`), which is what a sender needs to fix the event; a failed union is
 * one issue, not one per branch.
 */
export function toValidationIssues(errors: readonly TValidationError[]): ValidationIssue[] {
  const issues: { path: string; message: string }[] = [];
  const unions = new Map<string, FailedUnion>();
  const unionAt = (schemaPath: string, instancePath: string): FailedUnion => {
    let union = unions.get(schemaPath);
    if (union === undefined) {
      union = {
        issue: { path: instancePath, message: '' },
        constants: [],
        onlyConstants: true,
        complete: false,
      };
      unions.set(schemaPath, union);
      issues.push(union.issue);
    }
    return union;
  };
  for (const error of errors) {
    const branch = UNION_BRANCH.exec(error.schemaPath);
    if (branch !== null) {
      const union = unionAt(error.schemaPath.slice(0, branch.index), error.instancePath);
      if (error.keyword === 'const' && error.instancePath === union.issue.path) {
        union.constants.push(error.params.allowedValue);
      } else {
        union.onlyConstants = false;
      }
    } else if (error.keyword === 'anyOf' || error.keyword === 'oneOf') {
      unionAt(error.schemaPath, error.instancePath).complete = true;
    } else if (error.keyword === 'required') {
      for (const key of error.params.requiredProperties) {
        issues.push({ path: `${error.instancePath}/${pointerSegment(key)}`, message: 'is required' });
      }
    } else if (error.keyword === 'additionalProperties') {
      for (const key of error.params.additionalProperties) {
        issues.push({
          path: `${error.instancePath}/${pointerSegment(key)}`,
          message: 'is not an allowed property',
        });
      }
    } else if (error.keyword === 'boolean' && error.schemaPath.endsWith('/additionalProperties')) {
      // The same unexpected property, reported again by the `additionalProperties: false` sub-schema.
    } else {
      issues.push({ path: error.instancePath, message: ruleMessage(error) });
    }
  }
  for (const union of unions.values()) union.issue.message = unionMessage(union);
  return issues;
}
