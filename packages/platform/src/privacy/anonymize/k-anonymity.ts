/**
 * k-anonymity by full-domain generalization with suppression (§7.5, in the manner of ARX): every combination of
 * hierarchy levels (the generalization lattice) is tried; rows left in quasi-identifier classes smaller than k
 * are suppressed, up to a limit; of the combinations within the limit the one losing least information wins.
 *
 * Information loss of a combination = the mean over quasi-identifiers of level / top level (0 = exact,
 * 1 = fully suppressed), plus the fraction of rows suppressed. Ties go to the lower lattice node.
 */
import { DeeprefError } from '../../errors.ts';
import type { Hierarchy } from './hierarchies.ts';

export type Row = Record<string, unknown>;

export interface KAnonymityOptions {
  k: number;
  /** The quasi-identifiers and how each may be generalized. Other fields are copied unchanged. */
  quasiIdentifiers: Record<string, Hierarchy>;
  /** The largest fraction of rows that may be suppressed (removed) to reach k; default 0.05. */
  maxSuppression?: number;
  /** Refuse lattices larger than this many combinations (each costs one pass over the rows); default 100 000. */
  maxLatticeSize?: number;
}

export interface KAnonymityResult {
  /** The released rows: quasi-identifiers generalized, suppressed rows removed. */
  rows: Row[];
  /** The level chosen per quasi-identifier, by name (e.g. `{ age: '10', zip: '3-digit prefix' }`). */
  levels: Record<string, string>;
  suppressed: number;
  /** Number of quasi-identifier classes in the output and the smallest one's size (≥ k). */
  classes: number;
  smallestClass: number;
  informationLoss: number;
}

/** Generalizes and suppresses `rows` so that every quasi-identifier class holds at least k rows. */
export function kAnonymize(rows: readonly Row[], options: KAnonymityOptions): KAnonymityResult {
  const { k } = options;
  const maxSuppression = options.maxSuppression ?? 0.05;
  if (!Number.isInteger(k) || k < 1) throw badRequest(`k must be a positive integer, got ${k}`);
  if (!(maxSuppression >= 0 && maxSuppression <= 1)) {
    throw badRequest(`maxSuppression must be between 0 and 1, got ${maxSuppression}`);
  }
  const fields = Object.keys(options.quasiIdentifiers);
  if (fields.length === 0) throw badRequest('name at least one quasi-identifier');
  const hierarchies = fields.map((field) => options.quasiIdentifiers[field]!);
  const tops = hierarchies.map((h) => h.levels.length - 1);
  const latticeSize = tops.reduce((size, top) => size * (top + 1), 1);
  const maxLatticeSize = options.maxLatticeSize ?? 100_000;
  if (latticeSize > maxLatticeSize) {
    throw badRequest(
      `the generalization lattice has ${latticeSize} combinations (limit ${maxLatticeSize}); use fewer quasi-identifiers or levels`,
    );
  }
  const allowedSuppressed = Math.floor(maxSuppression * rows.length);

  let best: { node: number[]; loss: number; suppressed: Set<number> } | undefined;
  for (const node of lattice(tops)) {
    const classes = classesAt(rows, fields, hierarchies, node);
    const suppressed = new Set<number>();
    for (const members of classes.values()) {
      if (members.length < k) for (const index of members) suppressed.add(index);
    }
    if (suppressed.size > allowedSuppressed) continue;
    const height = node.reduce((sum, level, i) => sum + (tops[i] === 0 ? 0 : level / tops[i]!), 0);
    const loss = height / fields.length + (rows.length ? suppressed.size / rows.length : 0);
    if (!best || loss < best.loss - 1e-12) best = { node, loss, suppressed };
  }
  if (!best) {
    // The top node generalizes everything to `*`: one class of every row. Only k > rows can fail there.
    throw new DeeprefError('DEEPREF_K_ANONYMITY_UNREACHABLE', {
      k,
      rows: rows.length,
      maxSuppression,
    });
  }

  const chosen = best;
  const released: Row[] = [];
  rows.forEach((row, index) => {
    if (chosen.suppressed.has(index)) return;
    const out: Row = { ...row };
    fields.forEach((field, i) => {
      out[field] = hierarchies[i]!.generalize(row[field], chosen.node[i]!);
    });
    released.push(out);
  });
  const check = verifyKAnonymity(released, fields, k);
  return {
    rows: released,
    levels: Object.fromEntries(fields.map((field, i) => [field, hierarchies[i]!.levels[chosen.node[i]!]!])),
    suppressed: chosen.suppressed.size,
    classes: check.classes,
    smallestClass: check.smallestClass,
    informationLoss: chosen.loss,
  };
}

export interface KAnonymityCheck {
  ok: boolean;
  classes: number;
  /** 0 for no rows. */
  smallestClass: number;
  /** The classes under k: their quasi-identifier values and size. */
  violations: { values: Record<string, unknown>; size: number }[];
}

/** Checks released rows: every combination of the quasi-identifiers' values must occur at least k times. */
export function verifyKAnonymity(
  rows: readonly Row[],
  quasiIdentifiers: readonly string[],
  k: number,
): KAnonymityCheck {
  const sizes = new Map<string, { values: Record<string, unknown>; size: number }>();
  for (const row of rows) {
    const values = Object.fromEntries(quasiIdentifiers.map((field) => [field, row[field]]));
    const key = JSON.stringify(quasiIdentifiers.map((field) => row[field] ?? null));
    const entry = sizes.get(key);
    if (entry) entry.size++;
    else sizes.set(key, { values, size: 1 });
  }
  const all = [...sizes.values()];
  const violations = all.filter((entry) => entry.size < k);
  return {
    ok: violations.length === 0,
    classes: all.length,
    smallestClass: all.length ? Math.min(...all.map((entry) => entry.size)) : 0,
    violations,
  };
}

/** Every level vector with 0 ≤ level[i] ≤ tops[i], lowest total first. */
function* lattice(tops: readonly number[]): Generator<number[]> {
  const maxHeight = tops.reduce((a, b) => a + b, 0);
  for (let height = 0; height <= maxHeight; height++) yield* withHeight(tops, 0, height, []);
}

function* withHeight(
  tops: readonly number[],
  i: number,
  remaining: number,
  prefix: number[],
): Generator<number[]> {
  if (i === tops.length) {
    if (remaining === 0) yield prefix;
    return;
  }
  const rest = tops.slice(i + 1).reduce((a, b) => a + b, 0);
  for (let level = Math.max(0, remaining - rest); level <= Math.min(tops[i]!, remaining); level++) {
    yield* withHeight(tops, i + 1, remaining - level, [...prefix, level]);
  }
}

function classesAt(
  rows: readonly Row[],
  fields: readonly string[],
  hierarchies: readonly Hierarchy[],
  node: readonly number[],
): Map<string, number[]> {
  const classes = new Map<string, number[]>();
  rows.forEach((row, index) => {
    const key = fields.map((field, i) => hierarchies[i]!.generalize(row[field], node[i]!)).join('\u0000');
    const members = classes.get(key);
    if (members) members.push(index);
    else classes.set(key, [index]);
  });
  return classes;
}

function badRequest(detail: string) {
  return new DeeprefError('DEEPREF_BAD_REQUEST', { detail });
}
