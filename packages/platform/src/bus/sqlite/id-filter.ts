/**
 * A Bloom filter over event-id keys: it answers "certainly never seen" for almost every new id, so that only the
 * rest (retries, and a small share of false positives) cost a lookup in the dedup index. Its size is fixed, so its
 * memory is bounded; past its capacity it only lets more ids through to the lookup, never a wrong answer.
 */
const probes = 4;

export class IdFilter {
  private readonly bits: Uint32Array;
  private readonly mask: number;
  /** Keys added, repeats included: what the filter's false-positive rate depends on. */
  added = 0;

  /** `bytes` is rounded down to a power of two, at least 8. */
  constructor(bytes: number) {
    const words = 2 ** Math.floor(Math.log2(Math.max(2, bytes / 4)));
    this.bits = new Uint32Array(words);
    this.mask = words * 32 - 1;
  }

  add(key: string): void {
    let h1 = hash(key, 0x811c9dc5);
    const h2 = hash(key, 0x01000193) | 1;
    for (let i = 0; i < probes; i++, h1 = (h1 + h2) | 0) {
      const bit = h1 & this.mask;
      this.bits[bit >>> 5]! |= 1 << (bit & 31);
    }
    this.added++;
  }

  mightContain(key: string): boolean {
    let h1 = hash(key, 0x811c9dc5);
    const h2 = hash(key, 0x01000193) | 1;
    for (let i = 0; i < probes; i++, h1 = (h1 + h2) | 0) {
      const bit = h1 & this.mask;
      if ((this.bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}

/** FNV-1a over the UTF-16 code units, with a final avalanche so that the low bits are well mixed. */
function hash(key: string, seed: number): number {
  let h = seed;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
