/**
 * Seeded randomness for the demo traffic: the same seed gives the same users, sessions and event ids.
 *
 * The generator is sfc32 rather than mulberry32: mulberry32 has 32 bits of state, so among the tens of millions
 * of event ids of `--users 10000 --days 90` thousands of UUIDs would repeat (birthday bound at 2^16 draws per
 * stream family). sfc32 keeps 128 bits of state and its step is a bijection, so streams started from distinct
 * (seed, user, day) tuples never meet.
 */

export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** A stream for one tuple of whole numbers, e.g. `(seed, userIndex, dayIndex)`; distinct tuples, distinct streams. */
  constructor(...key: number[]) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = 1;
    // Absorb the key a word at a time with mixing rounds in between, so `(1, 2)` and `(2, 1)` differ.
    for (const word of key) {
      this.a ^= word >>> 0;
      this.b ^= Math.floor(word / 0x1_0000_0000) >>> 0;
      for (let i = 0; i < 4; i++) this.uint32();
    }
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /** A uniformly distributed 32-bit unsigned integer. */
  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uint32() / 0x1_0000_0000;
  }

  /** Uniform whole number in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** Uniform in [min, max). */
  float(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** One of `choices`, each with probability proportional to its weight. */
  weighted<T>(choices: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, weight] of choices) total += weight;
    let r = this.next() * total;
    for (const [value, weight] of choices) {
      r -= weight;
      if (r < 0) return value;
    }
    return choices[choices.length - 1]![0];
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Log-normal with the given median; `sigma` is the spread of the logarithm (0.5: p95 ≈ 2.3 × median). */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  /** Poisson-distributed count (Knuth for small means, a rounded normal above 30). */
  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()));
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }

  /** A version 4 UUID from this stream. */
  uuid(): string {
    const w0 = this.uint32();
    const w1 = ((this.uint32() & 0xffff0fff) | 0x00004000) >>> 0;
    const w2 = ((this.uint32() & 0x3fffffff) | 0x80000000) >>> 0;
    const w3 = this.uint32();
    const mid = hex32(w1);
    const tail = hex32(w2);
    return `${hex32(w0)}-${mid.slice(0, 4)}-${mid.slice(4)}-${tail.slice(0, 4)}-${tail.slice(4)}${hex32(w3)}`;
  }

  /** `length` characters of lowercase base 36, for application ids such as `doc_k3v9x0qa2m`. */
  token(length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += ALPHABET[this.uint32() % 36];
    return out;
  }
}

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
const HEX_BYTES = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex32(n: number): string {
  return (
    HEX_BYTES[n >>> 24]! + HEX_BYTES[(n >>> 16) & 255]! + HEX_BYTES[(n >>> 8) & 255]! + HEX_BYTES[n & 255]!
  );
}
