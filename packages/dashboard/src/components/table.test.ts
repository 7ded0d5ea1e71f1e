import fc from 'fast-check';
import { createElement as h, type ReactNode } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { NumCell, numeric, Table } from './table.tsx';

/** A header as the pages wrote it by hand before `Table`: text columns, then right-aligned figure columns. */
function handWritten(text: string[], figures: string[], testId: string | undefined, rows: ReactNode) {
  return h(
    'table',
    { className: 'table', 'data-testid': testId },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        ...text.map((label) => h('th', null, label)),
        ...figures.map((label) => h('th', { className: 'num' }, label)),
      ),
    ),
    h('tbody', null, rows),
  );
}

const label = fc.string({ maxLength: 12 });

describe('a table', () => {
  it('draws the same markup as the hand-written header and body it replaces', () => {
    fc.assert(
      fc.property(
        fc.array(label, { minLength: 1, maxLength: 3 }),
        fc.array(label, { maxLength: 8 }),
        fc.option(fc.string({ minLength: 1, maxLength: 8 }), { nil: undefined }),
        fc.array(fc.integer(), { maxLength: 4 }),
        (text, figures, testId, values) => {
          const rows = values.map((v, i) => h('tr', { key: i }, h('td', null, String(v))));
          const table = h(Table, { columns: [...text, ...numeric(...figures)], testId }, rows);
          expect(renderToStaticMarkup(table)).toBe(
            renderToStaticMarkup(handWritten(text, figures, testId, rows)),
          );
        },
      ),
    );
  });

  it('adds its own classes after `table`, and scrolls sideways inside a wrapper when asked', () => {
    const html = renderToStaticMarkup(
      h(Table, { columns: ['Page'], className: 'vitals', testId: 'vitals-table', scroll: true }),
    );
    expect(html).toBe(
      '<div class="table-scroll"><table class="table vitals" data-testid="vitals-table">' +
        '<thead><tr><th>Page</th></tr></thead><tbody></tbody></table></div>',
    );
  });

  it('gives a header cell without a label its class and accessible name', () => {
    const html = renderToStaticMarkup(
      h(Table, { columns: [{ className: 'bar-cell', ariaLabel: 'Conversion from the start' }] }),
    );
    expect(html).toContain('<th class="bar-cell" aria-label="Conversion from the start"></th>');
  });

  it('right-aligns a figure cell and names it for tests only when given a test id', () => {
    expect(renderToStaticMarkup(h(NumCell, { testId: 'step-count' }, '12'))).toBe(
      '<td class="num" data-testid="step-count">12</td>',
    );
    expect(renderToStaticMarkup(h(NumCell, null, '12'))).toBe('<td class="num">12</td>');
  });
});
