import type { TValidationError } from 'typebox/error';
import { describe, expect, it } from 'vitest';
import { toValidationIssues } from './validation-issue.ts';

const constError = (schemaPath: string, allowedValue: unknown): TValidationError => ({
  keyword: 'const',
  schemaPath,
  instancePath: '/kind',
  params: { allowedValue },
});

describe('toValidationIssues', () => {
  it('reports a union of constants as one issue listing the allowed values', () => {
    const errors: TValidationError[] = [
      constError('#/properties/kind/anyOf/0', 'a'),
      constError('#/properties/kind/anyOf/1', 2),
      { keyword: 'anyOf', schemaPath: '#/properties/kind', instancePath: '/kind', params: {} },
    ];
    expect(toValidationIssues(errors)).toEqual([{ path: '/kind', message: 'must be one of a, 2' }]);
  });

  it('does not claim a complete list when the error limit cut the union short', () => {
    expect(toValidationIssues([constError('#/properties/kind/anyOf/0', 'a')])).toEqual([
      { path: '/kind', message: 'must match one of the allowed shapes' },
    ]);
  });

  it('reports a union of shapes as one issue, nested branches included', () => {
    const errors: TValidationError[] = [
      {
        keyword: 'type',
        schemaPath: '#/properties/kind/anyOf/0',
        instancePath: '/kind',
        params: { type: 'string' },
      },
      {
        keyword: 'const',
        schemaPath: '#/properties/kind/anyOf/1/anyOf/0',
        instancePath: '/kind',
        params: { allowedValue: 1 },
      },
      { keyword: 'anyOf', schemaPath: '#/properties/kind/anyOf/1', instancePath: '/kind', params: {} },
      { keyword: 'anyOf', schemaPath: '#/properties/kind', instancePath: '/kind', params: {} },
    ];
    expect(toValidationIssues(errors)).toEqual([
      { path: '/kind', message: 'must match one of the allowed shapes' },
    ]);
  });

  it('builds messages from the schema only', () => {
    const errors: TValidationError[] = [
      { keyword: 'maxLength', schemaPath: '#/properties/a', instancePath: '/a', params: { limit: 3 } },
      {
        keyword: 'type',
        schemaPath: '#/properties/b',
        instancePath: '/b',
        params: { type: ['string', 'null'] },
      },
      {
        keyword: 'uniqueItems',
        schemaPath: '#/properties/c',
        instancePath: '/c',
        params: { duplicateItems: [0] },
      },
      { keyword: 'not', schemaPath: '#/properties/d', instancePath: '/d', params: {} },
    ];
    expect(toValidationIssues(errors)).toEqual([
      { path: '/a', message: 'must have at most 3 characters' },
      { path: '/b', message: 'must be string or null' },
      { path: '/c', message: 'must not have duplicate items' },
      { path: '/d', message: 'breaks the "not" rule' },
    ]);
  });
});
