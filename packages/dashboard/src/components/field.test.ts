import fc from 'fast-check';
import { createElement as h, type ReactElement, type ReactNode } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { setSearchParams } from '../router.tsx';
import { BreakdownField, InputField, SelectField, withoutSpaces } from './field.tsx';

// The fields write the query string through the router; here we only record what they would write.
vi.mock('../router.tsx', () => ({ setSearchParams: vi.fn() }));
const written = vi.mocked(setSearchParams);

const text = fc.string({ maxLength: 16 });
const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });

/** The input as the pages wrote it by hand before `InputField`, attributes in the same order. */
function handWrittenInput(props: Omit<Parameters<typeof InputField>[0], 'param'>) {
  return h(
    'label',
    { className: props.className },
    props.label,
    h('input', {
      type: props.type,
      min: props.min,
      defaultValue: props.value,
      placeholder: props.placeholder,
      'data-testid': props.testId,
    }),
  );
}

/** The input element a field draws, to reach its handlers without a browser. */
function inputOf(props: Parameters<typeof InputField>[0]): {
  onBlur: (e: unknown) => void;
  onKeyDown?: (e: unknown) => void;
} {
  const label = InputField(props) as ReactElement<{ children: ReactNode[] }>;
  return (label.props.children[1] as ReactElement<ReturnType<typeof inputOf>>).props;
}

/** The select's props; the options go in as createElement's children, so the object leaves them out. */
type SelectProps = Parameters<typeof SelectField>[0];

const typed = (value: string) => ({ currentTarget: { value } });

describe('a toolbar field', () => {
  beforeEach(() => written.mockClear());

  it('draws the same markup as the hand-written label and input it replaces', () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            label: text,
            value: fc.oneof(text, fc.integer()),
            placeholder: optional(text),
            testId: optional(text),
            className: optional(fc.constantFrom('wide', 'inline')),
            type: optional(fc.constant('number' as const)),
            min: optional(fc.integer()),
          },
          { requiredKeys: ['label', 'value'] },
        ),
        fc.boolean(),
        (props, commitOnEnter) => {
          expect(renderToStaticMarkup(h(InputField, { ...props, param: 'breakdown', commitOnEnter }))).toBe(
            renderToStaticMarkup(handWrittenInput(props)),
          );
        },
      ),
    );
  });

  it('draws the same markup as the hand-written label and select it replaces', () => {
    fc.assert(
      fc.property(
        text,
        fc.uniqueArray(text, { minLength: 1, maxLength: 5 }),
        fc.nat(),
        optional(text),
        (label, values, chosen, testId) => {
          const value = values[chosen % values.length]!;
          const options = values.map((v) => h('option', { key: v, value: v }, v));
          expect(
            renderToStaticMarkup(
              h(SelectField, { label, param: 'interval', value, testId } as SelectProps, options),
            ),
          ).toBe(
            renderToStaticMarkup(
              h('label', null, label, h('select', { value, onChange() {}, 'data-testid': testId }, options)),
            ),
          );
        },
      ),
    );
  });

  it('commits the typed text, trimmed, to its parameter when the input loses focus', () => {
    inputOf({ label: 'Breakdown by property', param: 'breakdown', value: '' }).onBlur(typed('  plan '));
    expect(written.mock.calls).toEqual([[{ breakdown: 'plan' }]]);
  });

  it('commits on Enter only when asked, through its own cleaning', () => {
    const plain = inputOf({ label: 'Cohort event', param: 'cohortEvent', value: '' });
    expect(plain.onKeyDown).toBeUndefined();

    const steps = inputOf({
      label: 'Steps',
      param: 'steps',
      value: '',
      clean: withoutSpaces,
      commitOnEnter: true,
    });
    steps.onKeyDown!({ key: 'a', ...typed('signup, first_login') });
    expect(written).not.toHaveBeenCalled();
    steps.onKeyDown!({ key: 'Enter', ...typed('signup, first_login') });
    steps.onBlur(typed(' signup ,\tfirst_login '));
    expect(written.mock.calls).toEqual([
      [{ steps: 'signup,first_login' }],
      [{ steps: 'signup,first_login' }],
    ]);
  });

  it('commits the breakdown, trimmed, on Enter as on leaving the field', () => {
    const label = BreakdownField({ value: '' }) as ReactElement<Parameters<typeof InputField>[0]>;
    const breakdown = inputOf(label.props);
    breakdown.onKeyDown!({ key: 'Enter', ...typed(' plan ') });
    breakdown.onBlur(typed('plan'));
    expect(written.mock.calls).toEqual([[{ breakdown: 'plan' }], [{ breakdown: 'plan' }]]);
  });

  it('commits the chosen option to its parameter as soon as it changes', () => {
    const label = SelectField({ label: 'Steps', param: 'depth', value: 3, children: null }) as ReactElement<{
      children: ReactNode[];
    }>;
    const select = label.props.children[1] as ReactElement<{ onChange: (e: unknown) => void }>;
    select.props.onChange({ target: { value: '5' } });
    expect(written.mock.calls).toEqual([[{ depth: '5' }]]);
  });
});
