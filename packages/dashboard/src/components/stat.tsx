/** A headline figure: a label, the value as text, and the raw value in `data-value` for tests and tools. */
import type { ReactNode } from 'react';

type Value = number | null | undefined;

/**
 * The value's text: `format` when the text is the value through one of the format.ts functions (so the two cannot
 * disagree), `text` when it is written some other way.
 */
type Shown = { format: (value: Value) => string; text?: undefined } | { text: string; format?: undefined };

export function Stat({
  label,
  value,
  text,
  format,
  testId,
  hint,
}: {
  label: string;
  value: Value;
  testId: string;
  hint?: ReactNode;
} & Shown) {
  return (
    <div className="stat">
      <div className="stat-label">{label}</div>
      <div className="stat-value" data-testid={testId} data-value={value ?? ''}>
        {text === undefined ? format(value) : text}
      </div>
      {hint && <div className="stat-hint">{hint}</div>}
    </div>
  );
}

export function Panel({
  title,
  actions,
  children,
}: {
  title: string;
  actions?: ReactNode;
  children: ReactNode;
}) {
  return (
    <section className="panel">
      <header className="panel-header">
        <h2>{title}</h2>
        {actions && <div className="panel-actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}
