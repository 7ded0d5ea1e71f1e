import fc from 'fast-check';
import { createElement as h } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { formatCount, formatDecimal, formatMoney, formatMs, formatPercent } from '../format.ts';
import { Stat } from './stat.tsx';

const formats = { formatCount, formatDecimal, formatMoney, formatMs, formatPercent };

describe('a headline figure', () => {
  it('shows a value through its format exactly as the same value with the formatted text', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.values(formats)),
        fc.oneof(fc.double({ noNaN: true }), fc.integer(), fc.constant(null), fc.constant(undefined)),
        fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
        (format, value, hint) => {
          const common = { label: 'Trials', value, testId: 'revenue-trials', hint };
          expect(renderToStaticMarkup(h(Stat, { ...common, format }))).toBe(
            renderToStaticMarkup(h(Stat, { ...common, text: format(value) })),
          );
        },
      ),
    );
  });

  it('carries the raw value in data-value, empty when there is none', () => {
    const html = renderToStaticMarkup(
      h(Stat, { label: 'MRR', value: null, format: formatMoney, testId: 'mrr' }),
    );
    expect(html).toBe(
      `<div class="stat"><div class="stat-label">MRR</div><div class="stat-value" data-testid="mrr" data-value="">${formatMoney(null)}</div></div>`,
    );
  });
});
