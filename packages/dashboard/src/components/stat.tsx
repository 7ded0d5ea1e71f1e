/** A headline figure: a label, the value as text, and the raw value in `data-value` for tests and tools. */
import type { ReactNode } from 'react';

export function Stat({
  label,
  value,
  text,
  testId,
  hint,
}: {
  label: string;
  value: number | null | undefined;
  text: string;
  testId: string;
  hint?: ReactNode;
}) {
  return (
    <div className="stat">
      <div className="stat-label">{label}</div>
      <div className="stat-value" data-testid={testId} data-value={value ?? ''}>
        {text}
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
