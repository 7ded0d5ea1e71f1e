/**
 * Type-level checks: `tsc --noEmit` fails if `EventProperties` stops being precise (an unused
 * `@ts-expect-error` is itself an error). At run time these are no-ops.
 */
import Type from 'typebox';
import { expectTypeOf, it } from 'vitest';
import { defineEvent, type EventProperties, type Purpose, type RegisteredEventName } from './index.ts';

type ApiLatency = EventProperties<'api_latency'>;

it('types the properties of api_latency field by field', () => {
  expectTypeOf<ApiLatency['endpoint']>().toEqualTypeOf<string>();
  expectTypeOf<ApiLatency['method']>().toEqualTypeOf<
    'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS'
  >();
  expectTypeOf<ApiLatency['status_code']>().toEqualTypeOf<number>();
  expectTypeOf<ApiLatency['duration_ms']>().toEqualTypeOf<number>();
  expectTypeOf<ApiLatency['request_bytes']>().toEqualTypeOf<number | undefined>();
  expectTypeOf<ApiLatency['response_bytes']>().toEqualTypeOf<number | undefined>();

  const call: ApiLatency = {
    endpoint: '/api/documents/:id',
    method: 'GET',
    status_code: 200,
    duration_ms: 12.5,
  };
  expectTypeOf(call).toExtend<ApiLatency>();

  // @ts-expect-error status_code is a number, not a string
  const textStatus: ApiLatency = { ...call, status_code: '200' };
  // @ts-expect-error method is one of the HTTP methods
  const badMethod: ApiLatency = { ...call, method: 'FETCH' };
  // @ts-expect-error duration_ms is required
  const noDuration: ApiLatency = { endpoint: '/api/documents/:id', method: 'GET', status_code: 200 };
  expectTypeOf([textStatus, badMethod, noDuration]).toBeArray();
});

it('types other categories too', () => {
  expectTypeOf<EventProperties<'web_vital'>['name']>().toEqualTypeOf<
    'FCP' | 'LCP' | 'INP' | 'CLS' | 'TTFB'
  >();
  expectTypeOf<EventProperties<'payment'>['interval']>().toEqualTypeOf<'monthly' | 'annual'>();
  expectTypeOf<EventProperties<'prompt_submission'>['prompt_text']>().toEqualTypeOf<string | undefined>();
  expectTypeOf<EventProperties<'threat_detected'>['severity']>().toEqualTypeOf<
    'low' | 'medium' | 'high' | 'critical'
  >();
});

it('knows the registered names', () => {
  expectTypeOf<'api_latency'>().toExtend<RegisteredEventName>();
  expectTypeOf<'no_such_event'>().not.toExtend<RegisteredEventName>();
  // @ts-expect-error only registered names have typed properties
  expectTypeOf<EventProperties<'no_such_event'>>().toBeObject();
});

it('accepts only declared properties as sensitive fields', () => {
  const definition = defineEvent({
    category: 'user',
    group: 'example',
    description: 'An event with one free-text property.',
    properties: Type.Object({ note: Type.Optional(Type.String()) }),
    purposes: ['analytics'],
    // @ts-expect-error `notes` is not a property of this event
    sensitiveFields: ['notes'],
  });
  expectTypeOf(definition.purposes).toEqualTypeOf<readonly Purpose[]>();
});
