/**
 * Type-level checks of `track`: `tsc --noEmit` (in `npm test`) fails if a wrong property type for a registered
 * event compiles (an unused `@ts-expect-error` is itself an error). The calls are never run.
 */
import { expectTypeOf, it } from 'vitest';
import type { Client, TrackArgs } from './client.ts';

function typedCalls(client: Client): void {
  client.track('web_vital', { name: 'LCP', value: 1234.5, rating: 'good' });
  client.track('form_submit', { form_id: 'signup', field_count: 3 });
  client.track('page_view');
  client.track('checkout_wizard_step', { step: 2, anything: ['goes'] });
  client.track('checkout_wizard_step');
  client.track('payment', { amount: 10, currency: 'EUR', interval: 'monthly' } as never, {
    purposes: ['data_collection'],
  });

  // @ts-expect-error web_vital.value is a number
  client.track('web_vital', { name: 'LCP', value: '1234' });
  // @ts-expect-error web_vital.name is one of FCP, LCP, INP, CLS, TTFB
  client.track('web_vital', { name: 'FID', value: 12 });
  // @ts-expect-error form_submit needs form_id
  client.track('form_submit', { field_count: 3 });
  // @ts-expect-error field_change is closed: a value cannot ride along
  client.track('field_change', { form_id: 'signup', field_name: 'email', value: 'a@b.c' });
  // @ts-expect-error a registered event with required properties needs them
  client.track('link_click');
  // @ts-expect-error purposes are the schema's purposes
  client.track('checkout_wizard_step', {}, { purposes: ['advertising'] });
}

it('types registered events by their schema and leaves custom events open', () => {
  expectTypeOf(typedCalls).toBeFunction();
  expectTypeOf<TrackArgs<'scroll_depth'>[0]>().toEqualTypeOf<{ depth_percent: number; path?: string }>();
  expectTypeOf<TrackArgs<'my_custom_event'>[0]>().toEqualTypeOf<Record<string, unknown> | undefined>();
});
