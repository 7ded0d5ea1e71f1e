/**
 * The newest records this process committed to the embedded log, kept in memory: consumers that keep up (the stream
 * processor, the warehouse loader and the lake writer run in the same process as the collector) read them from here
 * rather than query SQLite and `JSON.parse` every body again.
 *
 * It holds each record's stored JSON text, and for the newest of them also the event object that text was made from
 * (the same object, not a copy: readers must not change it). Objects cost a few times their text in memory, and
 * `read` (parsed records) serves the stream processor, which keeps closest to the head; `readRaw` serves the DuckDB
 * consumers, which load in larger batches and lag further. So there are two capacities: `bodies` and `events`.
 *
 * Every record from the oldest held to the newest committed is here, since this process's writer is the log's only
 * appender; a read that starts before the oldest goes to SQLite. Anything that rewrites or deletes rows (erasure,
 * retention) must `clear()` it, so that no erased body is ever served from memory.
 */
import type { StoredEvent } from '@deepref/schema';
import type { LogRecord, RawLogRecord } from '../event-log.ts';

export interface RecentTailCapacity {
  /** Records whose JSON text is held. */
  bodies: number;
  /** The newest records whose event object is held too; at most `bodies`. */
  events: number;
}

export class RecentTail {
  readonly #capacity: number;
  readonly #eventCapacity: number;
  readonly #offsets: Float64Array;
  readonly #bodies: (string | undefined)[];
  readonly #events: (StoredEvent | undefined)[];
  /** Ring index of the oldest record held. */
  #first = 0;
  #size = 0;

  constructor(capacity: RecentTailCapacity) {
    for (const [what, value] of Object.entries(capacity)) {
      if (!(Number.isInteger(value) && value >= 0)) {
        throw new RangeError(
          `The recent tail's capacity for ${what} must be a whole number ≥ 0, not ${value}.`,
        );
      }
    }
    this.#capacity = capacity.bodies;
    this.#eventCapacity = Math.min(capacity.events, capacity.bodies);
    this.#offsets = new Float64Array(this.#capacity);
    this.#bodies = new Array(this.#capacity);
    this.#events = new Array(this.#capacity);
  }

  get size(): number {
    return this.#size;
  }

  /** Adds a committed record; offsets must come in ascending order. The oldest record goes when it is full. */
  add(offset: number, body: string, event: StoredEvent): void {
    if (this.#capacity === 0) return;
    if (this.#size > 0 && offset <= this.#offsets[this.#slot(this.#size - 1)]!) {
      throw new RangeError(`The recent tail takes ascending offsets: ${offset} came after a higher one.`);
    }
    let slot: number;
    if (this.#size < this.#capacity) {
      slot = this.#slot(this.#size++);
    } else {
      slot = this.#first;
      this.#first = this.#slot(1);
    }
    this.#offsets[slot] = offset;
    this.#bodies[slot] = body;
    this.#events[slot] = this.#eventCapacity > 0 ? event : undefined;
    // The record that just left the newest `events` keeps its text only.
    const older = this.#size - 1 - this.#eventCapacity;
    if (older >= 0) this.#events[this.#slot(older)] = undefined;
  }

  /** Forgets every record (their rows were rewritten or deleted); later commits fill it again. */
  clear(): void {
    this.#bodies.fill(undefined);
    this.#events.fill(undefined);
    this.#first = 0;
    this.#size = 0;
  }

  /** Records with offset > `after`, at most `limit`, as `EventLog.read` returns them; undefined when not held. */
  read(after: number, limit: number): LogRecord[] | undefined {
    const oldest = this.#size - Math.min(this.#size, this.#eventCapacity);
    return this.#records(after, limit, oldest, (offset, slot) => ({ offset, event: this.#events[slot]! }));
  }

  /** As `read`, with each record's stored JSON text (`EventLog.readRaw`). */
  readRaw(after: number, limit: number): RawLogRecord[] | undefined {
    return this.#records(after, limit, 0, (offset, slot) => ({ offset, body: this.#bodies[slot]! }));
  }

  /** The records after `after` from position `oldest` (0 = the oldest held) on, or undefined if it misses some. */
  #records<R>(
    after: number,
    limit: number,
    oldest: number,
    record: (offset: number, slot: number) => R,
  ): R[] | undefined {
    const from = this.#startAfter(after, oldest);
    if (from === undefined) return undefined;
    const count = Math.max(0, Math.min(limit, this.#size - from));
    const records: R[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const slot = this.#slot(from + i);
      records[i] = record(this.#offsets[slot]!, slot);
    }
    return records;
  }

  /**
   * The position of the first record after `after`, when every record after it up to the newest is held from
   * position `oldest` on: `after` is at or past the offset just before that one. Undefined otherwise.
   */
  #startAfter(after: number, oldest: number): number | undefined {
    if (oldest >= this.#size) return undefined;
    const lowest = this.#offsets[this.#slot(oldest)]!;
    if (after < lowest - 1) return undefined;
    // Offsets ascend, and almost always by one: try the direct position first, then search.
    const guess = oldest + after + 1 - lowest;
    if (guess < this.#size && this.#offsets[this.#slot(guess)] === after + 1) return guess;
    let low = oldest;
    let high = this.#size;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.#offsets[this.#slot(middle)]! <= after) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  #slot(position: number): number {
    const slot = this.#first + position;
    return slot >= this.#capacity ? slot - this.#capacity : slot;
  }
}
