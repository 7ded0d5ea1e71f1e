import { describe, expect, it } from 'vitest';
import { parseRetryAfter, retryDelay } from './backoff.ts';

const options = { initialDelayMs: 500, maxDelayMs: 60_000 };

describe('retry delays', () => {
  it('doubles from 0.5 s up to 60 s, with half of each step random', () => {
    const low = [1, 2, 3, 4, 8, 20].map((attempt) => retryDelay(attempt, options, undefined, () => 0));
    const high = [1, 2, 3, 4, 8, 20].map((attempt) =>
      retryDelay(attempt, options, undefined, () => 0.999999),
    );
    expect(low).toEqual([250, 500, 1000, 2000, 30_000, 30_000]);
    expect(high).toEqual([499, 999, 1999, 3999, 59_999, 59_999]);
  });

  it('waits at least what Retry-After says, plus at most a tenth of it', () => {
    expect(retryDelay(1, options, 2000, () => 0)).toBe(2000);
    expect(retryDelay(1, options, 2000, () => 0.999999)).toBe(2199);
    expect(retryDelay(9, options, 0, () => 0.5)).toBe(0);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2024-11-23T08:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Sat, 23 Nov 2024 08:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Sat, 23 Nov 2024 07:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
