/**
 * A field of a page's toolbar: a label naming an input or a select that keeps one of the page's choices in the
 * query string (`PageProps.search`), so the choice survives a reload and travels with a shared link.
 */
import type { ReactNode } from 'react';
import { setSearchParams } from '../router.tsx';

/** Typed text as the parameter's value: without the spaces around it. */
function trimmed(text: string): string {
  return text.trim();
}

/** Typed text as a comma-separated list (steps, weeks): without spaces anywhere. */
export function withoutSpaces(text: string): string {
  return text.replace(/\s+/g, '');
}

/**
 * An input whose text is the parameter `param`. It is uncontrolled, so typing does not reload the page's figures;
 * the text is committed (through `clean`) when the input loses focus, and on Enter when `commitOnEnter`.
 */
export function InputField({
  label,
  param,
  value,
  placeholder,
  testId,
  className,
  type,
  min,
  clean = trimmed,
  commitOnEnter = false,
}: {
  label: string;
  param: string;
  /** The parameter's value when the page is drawn. */
  value: string | number;
  placeholder?: string;
  testId?: string;
  /** The label's class: `wide` for a long list, `inline` inside a panel's header. */
  className?: string;
  type?: 'number';
  min?: number;
  clean?: (text: string) => string;
  commitOnEnter?: boolean;
}) {
  return (
    <label className={className}>
      {label}
      <input
        type={type}
        min={min}
        defaultValue={value}
        placeholder={placeholder}
        data-testid={testId}
        onKeyDown={
          commitOnEnter
            ? (e) => {
                if (e.key === 'Enter') setSearchParams({ [param]: clean(e.currentTarget.value) });
              }
            : undefined
        }
        onBlur={(e) => setSearchParams({ [param]: clean(e.currentTarget.value) })}
      />
    </label>
  );
}

/**
 * The "Breakdown by property" field of the pages that split their figures by an event property (trends, funnels):
 * one component, so that it behaves the same on each, committing on Enter as well as on leaving it.
 */
export function BreakdownField({ value }: { value: string }) {
  return (
    <InputField
      label="Breakdown by property"
      param="breakdown"
      value={value}
      placeholder="e.g. plan"
      commitOnEnter
    />
  );
}

/** A select whose chosen option is the parameter `param`, committed as soon as it changes. */
export function SelectField({
  label,
  param,
  value,
  testId,
  children,
}: {
  label: string;
  param: string;
  value: string | number;
  testId?: string;
  /** The options; one whose value is `value` is shown chosen. */
  children: ReactNode;
}) {
  return (
    <label>
      {label}
      <select
        value={value}
        onChange={(e) => setSearchParams({ [param]: e.target.value })}
        data-testid={testId}
      >
        {children}
      </select>
    </label>
  );
}
