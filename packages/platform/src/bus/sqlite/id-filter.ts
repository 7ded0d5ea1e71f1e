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
    hash(key);
    let h1 = hashes[0]!;
    const h2 = hashes[1]! | 1;
    for (let i = 0; i < probes; i++, h1 = (h1 + h2) | 0) {
      const bit = h1 & this.mask;
      this.bits[bit >>> 5]! |= 1 << (bit & 31);
    }
    this.added++;
  }

  mightContain(key: string): boolean {
    hash(key);
    let h1 = hashes[0]!;
    const h2 = hashes[1]! | 1;
    for (let i = 0; i < probes; i++, h1 = (h1 + h2) | 0) {
      const bit = h1 & this.mask;
      if ((this.bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}

/** The two hashes of the last key, so that no pair is allocated per key. */
const hashes = new Int32Array(2);

/**
 * Two 32-bit hashes of the key in one pass, two UTF-16 units a step (hashing a key's 32 hex digits was most of the
 * filter's cost): MurmurHash3's block mixing, each block mixed once and fed to two states of different seeds, each
 * finished with MurmurHash3's avalanche.
 */
function hash(key: string): void {
  let a = 0x811c9dc5;
  let b = 0x2545f491;
  const length = key.length;
  for (let i = 0; i < length; i += 2) {
    // Past the end, charCodeAt is NaN, which `|` and `<<` read as 0.
    let k = key.charCodeAt(i) | (key.charCodeAt(i + 1) << 16);
    k = Math.imul(k, 0xcc9e2d51);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    a ^= k;
    a = (Math.imul((a << 13) | (a >>> 19), 5) + 0xe6546b64) | 0;
    b ^= k;
    b = (Math.imul((b << 13) | (b >>> 19), 5) + 0xe6546b64) | 0;
  }
  hashes[0] = avalanche(a ^ length);
  hashes[1] = avalanche(b ^ length);
}

function avalanche(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
