/**
 * How the dashboard writes numbers, in one place (en-US, whatever the browser's locale) so that a test can
 * format the API's answer the same way and compare it with what a page shows.
 */
const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const money = new Intl.NumberFormat('en-US', {
  style: 'currency',
  currency: 'USD',
  maximumFractionDigits: 0,
});

/** A count of events or people: `12,345`. */
export function formatCount(value: number | null | undefined): string {
  return value == null ? '–' : integer.format(value);
}

/** Any other figure, at most two decimals: `3.14`. */
export function formatDecimal(value: number | null | undefined): string {
  return value == null ? '–' : decimal.format(value);
}

/** A share given as a fraction: 0.1234 → `12.3%`. */
export function formatPercent(fraction: number | null | undefined, digits = 1): string {
  return fraction == null ? '–' : `${(fraction * 100).toFixed(digits)}%`;
}

/** A signed change given as a fraction: 0.05 → `+5.0%`. */
export function formatChange(fraction: number | null | undefined, digits = 1): string {
  if (fraction == null) return '–';
  const text = formatPercent(fraction, digits);
  return fraction > 0 ? `+${text}` : text;
}

/** Milliseconds: `85 ms` below a second, `1.24 s` above. */
export function formatMs(ms: number | null | undefined): string {
  if (ms == null) return '–';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** A duration in seconds, in its largest sensible unit: `42 s`, `7.5 min`, `3.2 h`, `2.1 d`. */
export function formatSeconds(seconds: number | null | undefined): string {
  if (seconds == null) return '–';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${(seconds / 60).toFixed(1)} min`;
  if (seconds < 86_400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}

/** An amount of money in dollars, whole: `$12,345`. */
export function formatMoney(value: number | null | undefined): string {
  return value == null ? '–' : money.format(value);
}
