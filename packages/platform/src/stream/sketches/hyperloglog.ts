/**
 * HyperLogLog (Flajolet et al. 2007, with the small-range correction of Heule et al. 2013) over a 32-bit hash.
 * With precision p = 14 (16,384 one-byte registers, 16 KiB) the standard error is 1.04/√16384 ≈ 0.81%: about
 * two estimates in three are within 0.81% of the true count and nearly all within 2.5%. Counts below about
 * 40,000 use linear counting, which is more exact there.
 */
export const hllPrecision = 14;
const registerCount = 1 << hllPrecision;
const alpha = 0.7213 / (1 + 1.079 / registerCount);

/** FNV-1a followed by the MurmurHash3 finaliser, so every output bit depends on every input bit. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class HyperLogLog {
  readonly registers: Uint8Array;

  constructor(registers?: Uint8Array) {
    this.registers = registers ?? new Uint8Array(registerCount);
  }

  add(value: string): void {
    const h = hash32(value);
    const index = h >>> (32 - hllPrecision);
    const rest = (h << hllPrecision) >>> 0;
    // Rank of the first 1 bit in the remaining 18 bits, 1-based; 19 when they are all zero.
    const rank = rest === 0 ? 32 - hllPrecision + 1 : Math.clz32(rest) + 1;
    if (rank > this.registers[index]!) this.registers[index] = rank;
  }

  merge(other: HyperLogLog): void {
    for (let i = 0; i < registerCount; i++) {
      if (other.registers[i]! > this.registers[i]!) this.registers[i] = other.registers[i]!;
    }
  }

  estimate(): number {
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < registerCount; i++) {
      const r = this.registers[i]!;
      sum += 2 ** -r;
      if (r === 0) zeros += 1;
    }
    const raw = (alpha * registerCount * registerCount) / sum;
    if (raw <= 2.5 * registerCount && zeros > 0)
      return Math.round(registerCount * Math.log(registerCount / zeros));
    const two32 = 2 ** 32;
    if (raw > two32 / 30) return Math.round(-two32 * Math.log(1 - raw / two32));
    return Math.round(raw);
  }

  toJSON(): string {
    return Buffer.from(this.registers).toString('base64');
  }

  static fromJSON(text: string): HyperLogLog {
    return new HyperLogLog(new Uint8Array(Buffer.from(text, 'base64')));
  }
}
