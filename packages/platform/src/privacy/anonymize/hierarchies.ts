/**
 * Generalization hierarchies for k-anonymity (§7.5): each quasi-identifier gets an ordered list of ever coarser
 * recodings, level 0 being the value itself and the last level `*` (fully suppressed). The reference's rules
 * (age by decade, zip to 3 digits, salary by 10 000, date to month) are levels of these hierarchies.
 */

/** A recoding of one value; `null`/`undefined` inputs are kept as `*` at every level above 0. */
export type Generalizer = (value: unknown) => string;

export interface Hierarchy {
  /** What the levels are, for reports: e.g. ['exact', '5 years', '10 years', '20 years', '*']. */
  readonly levels: readonly string[];
  /** Generalizes `value` to `level` (0 ≤ level < levels.length). */
  generalize(value: unknown, level: number): string;
}

const SUPPRESSED = '*';

function hierarchy(levels: readonly [string, Generalizer][]): Hierarchy {
  const all: [string, Generalizer][] = [...levels, [SUPPRESSED, () => SUPPRESSED]];
  return {
    levels: all.map(([name]) => name),
    generalize(value, level) {
      const step = all[level];
      if (!step) throw new RangeError(`level ${level} is outside 0..${all.length - 1}`);
      if (value === null || value === undefined) return SUPPRESSED;
      return step[1](value);
    },
  };
}

function asNumber(value: unknown): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n)) throw new TypeError(`expected a number, got ${JSON.stringify(value)}`);
  return n;
}

/** Numeric bands of the given widths: `40-49` for width 10. Widths should grow, each a multiple of the last. */
export function numericBands(
  widths: readonly number[],
  format: (low: number, high: number) => string = range,
) {
  return hierarchy([
    ['exact', (v) => String(asNumber(v))],
    ...widths.map((width): [string, Generalizer] => [
      `${width}`,
      (v) => {
        const low = Math.floor(asNumber(v) / width) * width;
        return format(low, low + width - 1);
      },
    ]),
  ]);
}

function range(low: number, high: number) {
  return `${low}-${high}`;
}

/** Age: exact, 5-, 10- and 20-year bands (the reference's rule is the 10-year band). */
export const ageHierarchy = numericBands([5, 10, 20]);

/** Salary: exact, bands of 10 000 (the reference's rule), 50 000 and 100 000. */
export const salaryHierarchy = numericBands([10_000, 50_000, 100_000], (low, high) => `$${low}-$${high + 1}`);

/** Zip code: full, then the last digits replaced by `*` one at a time down to a 1-digit prefix. */
export function zipHierarchy(length = 5): Hierarchy {
  const steps: [string, Generalizer][] = [['exact', (v) => String(v)]];
  for (let keep = length - 1; keep >= 1; keep--) {
    steps.push([`${keep}-digit prefix`, (v) => String(v).slice(0, keep).padEnd(length, '*')]);
  }
  return hierarchy(steps);
}

/** A date (ISO string or Date): day, month (the reference's rule), quarter, year. */
export const dateHierarchy = hierarchy([
  ['day', (v) => isoDate(v).slice(0, 10)],
  ['month', (v) => isoDate(v).slice(0, 7)],
  [
    'quarter',
    (v) => {
      const iso = isoDate(v);
      return `${iso.slice(0, 4)}-Q${Math.floor((Number(iso.slice(5, 7)) - 1) / 3) + 1}`;
    },
  ],
  ['year', (v) => isoDate(v).slice(0, 4)],
]);

function isoDate(value: unknown): string {
  const date = value instanceof Date ? value : new Date(String(value));
  if (Number.isNaN(date.getTime())) throw new TypeError(`expected a date, got ${JSON.stringify(value)}`);
  return date.toISOString();
}

/** A categorical value generalized through explicit groups, e.g. city → region → country. */
export function categoryHierarchy(levels: readonly { name: string; map: Record<string, string> }[]) {
  return hierarchy([
    ['exact', (v) => String(v)],
    ...levels.map(({ name, map }): [string, Generalizer] => [name, (v) => map[String(v)] ?? SUPPRESSED]),
  ]);
}
