/**
 * The newest records this process committed to the embedded log, kept in memory: consumers that keep up (the stream
 * processor, the warehouse loader and the lake writer run in the same process as the collector) read them from here
 * rather than query SQLite and `JSON.parse` every body again.
 *
 * It holds each record's stored JSON text and the event object that text was made from (the same object, not a
 * copy: readers must not change it). Every record from the oldest held to the newest committed is here, since this
 * process's writer is the log's only appender; a read that starts before the oldest goes to SQLite. Anything that
 * rewrites or deletes rows (erasure, retention) must `clear()` it, so that no erased body is ever served from memory.
 */
import type { StoredEvent } from '@deepref/schema';
import type { LogRecord, RawLogRecord } from '../event-log.ts';

export class RecentTail {
  readonly #capacity: number;
  readonly #offsets: Float64Array;
  readonly #bodies: (string | undefined)[];
  readonly #events: (StoredEvent | undefined)[];
  /** Ring index of the oldest record held. */
  #first = 0;
  #size = 0;

  constructor(capacity: number) {
    if (!(Number.isInteger(capacity) && capacity >= 0)) {
      throw new RangeError(`The recent tail's capacity must be a whole number ≥ 0, not ${capacity}.`);
    }
    this.#capacity = capacity;
    this.#offsets = new Float64Array(capacity);
    this.#bodies = new Array(capacity);
    this.#events = new Array(capacity);
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
    this.#events[slot] = event;
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
    return this.#records(after, limit, (offset, slot) => ({ offset, event: this.#events[slot]! }));
  }

  /** As `read`, with each record's stored JSON text (`EventLog.readRaw`). */
  readRaw(after: number, limit: number): RawLogRecord[] | undefined {
    return this.#records(after, limit, (offset, slot) => ({ offset, body: this.#bodies[slot]! }));
  }

  #records<R>(after: number, limit: number, record: (offset: number, slot: number) => R): R[] | undefined {
    const from = this.#startAfter(after);
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
   * The position (0 = oldest) of the first record after `after`, when every record after it up to the newest is
   * held: `after` is at or past the offset just before the oldest. Undefined otherwise (the read goes to SQLite).
   */
  #startAfter(after: number): number | undefined {
    if (this.#size === 0) return undefined;
    const oldest = this.#offsets[this.#first]!;
    if (after < oldest - 1) return undefined;
    // Offsets ascend, and almost always by one: try the direct position first, then search.
    const guess = after + 1 - oldest;
    if (guess < this.#size && this.#offsets[this.#slot(guess)] === after + 1) return guess;
    let low = 0;
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
