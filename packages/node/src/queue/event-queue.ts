/**
 * The client's queue of events waiting for delivery, first in first out. In memory it holds at most
 * `maxEvents`; with a spill journal every event is also on disk, and what does not fit in memory waits there
 * (the backlog) until it is read back. Positions number events in arrival order so that `flush()` can wait for
 * exactly the events tracked before it.
 */
import type { QueuedEvent } from '../event.ts';
import type { SpillJournal } from './spill-journal.ts';

export interface PushResult {
  /** The event is not on disk: the journal write failed (it is kept in memory). */
  spillError?: unknown;
}

export class EventQueue {
  private readonly memory = new Deque<QueuedEvent>();
  private nextPos: number;
  /** Position of the oldest backlog event. */
  private backlogHead = 0;

  constructor(
    private readonly maxEvents: number,
    private readonly journal?: SpillJournal,
    private readonly maxSpillBytes = Number.POSITIVE_INFINITY,
  ) {
    this.nextPos = journal?.backlog ?? 0;
  }

  /** Events waiting, in memory and on disk. */
  get length(): number {
    return this.memory.length + (this.journal?.backlog ?? 0);
  }

  /** Events waiting on disk only. */
  get spilled(): number {
    return this.journal?.backlog ?? 0;
  }

  /** The position the next pushed event gets. */
  get nextPosition(): number {
    return this.nextPos;
  }

  /** Position of the oldest waiting event, or `nextPosition` when none waits. */
  headPosition(): number {
    const head = this.memory.peek();
    if (head) return head.position;
    return this.spilled > 0 ? this.backlogHead : this.nextPos;
  }

  /** True when one more event would pass the bound: memory without a journal, the journal's bytes with one. */
  isFull(): boolean {
    return this.journal
      ? this.journal.pendingBytes >= this.maxSpillBytes
      : this.memory.length >= this.maxEvents;
  }

  /**
   * Appends an event (the caller has made room). Throws only when it could be kept nowhere: the journal write
   * failed and memory is full or has older events on disk ahead of it.
   */
  push(event: QueuedEvent): PushResult {
    if (!this.journal) {
      event.position = this.nextPos++;
      this.memory.push(event);
      return {};
    }
    const inMemory = this.journal.backlog === 0 && this.memory.length < this.maxEvents;
    try {
      this.journal.append(event, inMemory);
    } catch (error) {
      if (!inMemory) throw error;
      event.position = this.nextPos++;
      this.memory.push(event);
      return { spillError: error };
    }
    event.position = this.nextPos++;
    if (inMemory) {
      this.memory.push(event);
    } else if (this.journal.backlog === 1) {
      this.backlogHead = event.position;
    }
    return {};
  }

  /**
   * Removes and returns the oldest events, at most `maxEvents` and, counting `overhead` bytes for each and two
   * for the brackets, at most `maxBytes` (one event always goes, whatever its size).
   */
  take(maxEvents: number, maxBytes: number, overhead: number): QueuedEvent[] {
    const events: QueuedEvent[] = [];
    let bytes = 2;
    while (events.length < maxEvents) {
      if (this.memory.length === 0) this.readBack(maxEvents - events.length);
      const head = this.memory.peek();
      if (!head) break;
      if (events.length > 0 && bytes + head.bytes + overhead > maxBytes) break;
      events.push(this.memory.shift()!);
      bytes += head.bytes + overhead;
    }
    return events;
  }

  /** Removes the oldest waiting event (to make room) and records it as settled; undefined when none waits. */
  dropOldest(): QueuedEvent | undefined {
    if (this.memory.length === 0) this.readBack(1);
    const head = this.memory.shift();
    if (head) this.settle([head]);
    return head;
  }

  /** Delivered, rejected or dropped: the journal forgets them. */
  settle(events: readonly QueuedEvent[]): void {
    this.journal?.settle(events);
  }

  close(): void {
    this.journal?.close();
  }

  private readBack(count: number): void {
    if (!this.journal || this.journal.backlog === 0) return;
    const room = Math.max(1, Math.min(count, this.maxEvents - this.memory.length));
    for (const event of this.journal.readBacklog(room)) {
      event.position = this.backlogHead++;
      this.memory.push(event);
    }
  }
}

/** An array queue with O(1) shift: the head index moves, and the array is compacted now and then. */
class Deque<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined as T;
    this.head++;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}
