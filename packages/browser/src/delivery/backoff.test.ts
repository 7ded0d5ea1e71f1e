import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maxRetryAfterMs, maxRetryMs, minRetryMs, parseRetryAfter, retryDelay } from './backoff.ts';

describe('retryDelay', () => {
  it('starts at 0.5 s and doubles up to 60 s, jittered within the lower half', () => {
    expect(retryDelay(0, 0, () => 1)).toBe(500);
    expect(retryDelay(0, 0, () => 0)).toBe(250);
    expect(retryDelay(1, 0, () => 1)).toBe(1000);
    expect(retryDelay(6, 0, () => 1)).toBe(32_000);
    expect(retryDelay(7, 0, () => 1)).toBe(60_000);
    expect(retryDelay(500, 0, () => 0)).toBe(30_000);
  });

  it('stays within [d/2, d] of its nominal delay and never above 60 s without Retry-After', () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (n, r) => {
        const nominal = Math.min(maxRetryMs, minRetryMs * 2 ** n);
        const delay = retryDelay(n, 0, () => r);
        expect(delay).toBeGreaterThanOrEqual(Math.floor(nominal / 2));
        expect(delay).toBeLessThanOrEqual(nominal);
      }),
    );
  });

  it('never waits less than Retry-After asks, up to an hour', () => {
    fc.assert(
      fc.property(
        fc.nat(40),
        fc.nat(10 * maxRetryAfterMs),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (n, after, r) => {
          const delay = retryDelay(n, after, () => r);
          expect(delay).toBeGreaterThanOrEqual(Math.min(after, maxRetryAfterMs));
          expect(delay).toBeLessThanOrEqual(Math.max(maxRetryMs, Math.min(after, maxRetryAfterMs)));
        },
      ),
    );
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates', () => {
    const now = Date.UTC(2030, 0, 1, 0, 0, 0);
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Tue, 01 Jan 2030 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Mon, 31 Dec 2029 23:00:00 GMT', now)).toBe(0);
  });

  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(null)).toBe(0);
    expect(parseRetryAfter('')).toBe(0);
    expect(parseRetryAfter('soon')).toBe(0);
    expect(parseRetryAfter('-5')).toBe(0);
  });
});
