import { describe, expect, it } from 'vitest';
import { defaultInterval, presetRange, rangeFromSearch, withRange } from './range.ts';

const now = Date.parse('2026-03-10T14:25:00.000Z');

describe('the date range', () => {
  it('ends a preset at the next full hour, so every request within the hour asks for the same range', () => {
    expect(presetRange('7d', now)).toEqual({
      from: '2026-03-03T15:00:00.000Z',
      to: '2026-03-10T15:00:00.000Z',
      preset: '7d',
    });
    expect(presetRange('24h', Date.parse('2026-03-10T15:00:00.000Z')).to).toBe('2026-03-10T15:00:00.000Z');
  });

  it('takes explicit bounds from the query string, and falls back to 30 days when they are unreadable', () => {
    expect(rangeFromSearch(new URLSearchParams('from=2026-01-01&to=2026-02-01'), now)).toEqual({
      from: '2026-01-01T00:00:00.000Z',
      to: '2026-02-01T00:00:00.000Z',
      preset: null,
    });
    for (const query of ['from=2026-02-01&to=2026-01-01', 'from=yesterday&to=2026-01-01', 'range=3y', '']) {
      expect(rangeFromSearch(new URLSearchParams(query), now), query).toEqual(presetRange('30d', now));
    }
  });

  it('picks hours up to two days, days up to 120 days, then weeks', () => {
    const span = (days: number) => ({
      from: '2026-01-01T00:00:00.000Z',
      to: new Date(Date.parse('2026-01-01') + days * 86_400_000).toISOString(),
      preset: null,
    });
    expect([span(1), span(2), span(3), span(120), span(121)].map(defaultInterval)).toEqual([
      'hour',
      'hour',
      'day',
      'day',
      'week',
    ]);
  });

  it('keeps the range in links to other pages, and only the range', () => {
    const search = new URLSearchParams('range=7d&event=signup&breakdown=plan');
    expect(withRange('/funnels', search)).toBe('/funnels?range=7d');
    expect(withRange('/trends', search, { event: 'page_view' })).toBe('/trends?event=page_view&range=7d');
    expect(withRange('/', new URLSearchParams())).toBe('/');
  });
});
