import type { TSchema } from 'typebox';
import { expect, it, vi } from 'vitest';

const compilations = vi.hoisted(() => ({ count: 0 }));

vi.mock('typebox/compile', async (importOriginal) => {
  const actual = await importOriginal<typeof import('typebox/compile')>();
  return {
    ...actual,
    Compile: (type: TSchema) => {
      compilations.count += 1;
      return actual.Compile(type);
    },
  };
});

const { validateProperties } = await import('./index.ts');

it('compiles an event’s validator on its first use, and only then', () => {
  expect(compilations.count).toBe(0);
  validateProperties('page_view', { path: '/' });
  validateProperties('page_view', { path: 7 });
  expect(compilations.count).toBe(1);
  validateProperties('api_latency', {});
  expect(compilations.count).toBe(2);
  validateProperties('checkout_clicked', {});
  expect(compilations.count).toBe(2);
});
