/**
 * A Redis sorted set in memory: members ordered by score, then by member in UTF-8 byte order (Redis compares
 * members with memcmp). An array kept in order answers every range with two binary searches; inserting is a
 * splice, which stays cheap for the sizes of live windows and appends at the end for rising timestamps.
 */

/** UTF-16 puts surrogates (code points from U+10000) before U+E000–U+FFFF; moving them above gives code point order. */
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit < 0xe000 ? unit + 0x2000 : unit - 0x800;
}

/** Orders well-formed strings as their UTF-8 bytes compare, which is code point order. */
export function compareMembers(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

interface Scored {
  score: number;
  member: string;
}

export class SortedSet {
  /** In (score, member) order. */
  #ordered: Scored[] = [];
  #scores = new Map<string, number>();

  get size(): number {
    return this.#ordered.length;
  }

  /** Adds `member` or moves it to `score`; a score equal to its current one changes nothing (as ZADD). */
  add(score: number, member: string): void {
    const current = this.#scores.get(member);
    if (current === score) return;
    if (current !== undefined) this.#ordered.splice(this.#position(current, member), 1);
    this.#ordered.splice(this.#position(score, member), 0, { score, member });
    this.#scores.set(member, score);
  }

  count(min: number, max: number): number {
    return Math.max(0, this.#above(max) - this.#from(min));
  }

  range(min: number, max: number, limit = Number.POSITIVE_INFINITY): string[] {
    const start = this.#from(min);
    const end = Math.min(this.#above(max), start + limit);
    const members: string[] = [];
    for (let i = start; i < end; i++) members.push(this.#ordered[i]!.member);
    return members;
  }

  /** Removes the members scored in [min, max]; returns how many. */
  removeRange(min: number, max: number): number {
    const start = this.#from(min);
    const end = this.#above(max);
    if (end <= start) return 0;
    for (const { member } of this.#ordered.splice(start, end - start)) this.#scores.delete(member);
    return end - start;
  }

  /** The index of the first entry scored at least `min`. */
  #from(min: number): number {
    return this.#search((entry) => entry.score < min);
  }

  /** The index of the first entry scored above `max`. */
  #above(max: number): number {
    return this.#search((entry) => entry.score <= max);
  }

  /** Where (score, member) is or would go. */
  #position(score: number, member: string): number {
    return this.#search(
      (entry) => entry.score < score || (entry.score === score && compareMembers(entry.member, member) < 0),
    );
  }

  /** The first index whose entry is not `before` the target (the entries that are come first). */
  #search(before: (entry: Scored) => boolean): number {
    let low = 0;
    let high = this.#ordered.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (before(this.#ordered[middle]!)) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
