/**
 * The disk spill: an append-only journal of events in numbered segment files, so that queued events survive a
 * crash or a `kill -9` and the queue can hold more than memory allows.
 *
 * Every tracked event is written as one JSON line before `track()` returns; every settled event (delivered,
 * rejected, dropped) is recorded by a `{"settled":[ids]}` line. On open, the segments are replayed: events
 * without a settled record are pending again, in their original order, with their original eventIds (so one
 * that did reach the collector before the crash is stored once: the collector deduplicates by eventId).
 * A segment is deleted once it and every older one hold no pending event; each open starts a new segment,
 * so a line torn by a crash is only ever the last line of an old segment, and is skipped.
 *
 * Durability (`fsync`): a line is handed to the kernel (write(2)) before `track()` returns, which survives the
 * process dying in any way. Surviving a power loss or kernel crash also needs the page cache on disk:
 * `'always'` fdatasyncs every event (slow: one disk flush per event), `'interval'` (default) every
 * `fsyncIntervalMs` (up to that much is lost on power loss), `'never'` leaves it to the OS.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DeeprefNodeError } from '../errors.ts';
import { EVENT_ID_LENGTH, EVENT_ID_OFFSET, eventFromJson, type QueuedEvent } from '../event.ts';

export interface SpillOptions {
  /** Directory of the journal; one process at a time (a lock file holds its pid). */
  directory: string;
  /** When written lines are forced to disk; see the module comment. Default `'interval'`. */
  fsync?: 'always' | 'interval' | 'never';
  /** For `fsync: 'interval'`. Default 1000. */
  fsyncIntervalMs?: number;
  /** Bytes of pending events the journal may hold; past it the client's `overflow` policy applies. Default 64 MiB. */
  maxBytes?: number;
  /** A segment file is closed and a new one started past this size. Default 4 MiB. */
  segmentBytes?: number;
}

export const defaultSpillOptions = {
  fsync: 'interval',
  fsyncIntervalMs: 1000,
  maxBytes: 64 * 1024 * 1024,
  segmentBytes: 4 * 1024 * 1024,
} as const satisfies Omit<SpillOptions, 'directory'>;

const SETTLED_PREFIX = '{"settled":';
const SEGMENT_PATTERN = /^segment-(\d{8})\.jsonl$/;
const READ_CHUNK = 64 * 1024;

/** Directories opened by this process: a second client on the same one would corrupt it. */
const openDirectories = new Set<string>();

interface Cursor {
  segment: number;
  offset: number;
}

export class SpillJournal {
  /** Pending events found on open, from an earlier run. */
  readonly replayed: number;
  /** Bytes of JSON of the events appended and not yet settled. */
  pendingBytes = 0;
  /** Events on disk that have not been read back into memory yet, oldest first from the read cursor. */
  backlog = 0;

  private readonly options: Required<SpillOptions>;
  private readonly directory: string;
  /** Segment numbers on disk, ascending; the last is the one appended to. */
  private readonly segments: number[] = [];
  /** Pending (unsettled) events per segment. */
  private readonly pending = new Map<number, number>();
  private active: number;
  private activeFd: number;
  private activeBytes = 0;
  private dirty = false;
  private readonly fsyncTimer: NodeJS.Timeout | undefined;

  private cursor: Cursor | undefined;
  private readFd: { segment: number; fd: number } | undefined;
  private readBuffer: Buffer = Buffer.alloc(0);
  /** Ids settled in the replayed segments; needed only until the cursor has passed them. */
  private replaySettled: Set<string> | undefined;
  private readonly lastReplayedSegment: number;
  private closed = false;

  private constructor(options: Required<SpillOptions>) {
    this.options = options;
    this.directory = path.resolve(options.directory);
    fs.mkdirSync(this.directory, { recursive: true });
    this.lock();
    try {
      const found = this.replay();
      this.replayed = found;
      this.backlog = found;
      this.lastReplayedSegment = this.segments.at(-1) ?? 0;
      if (found > 0) this.cursor = { segment: this.segments[0]!, offset: 0 };
      this.active = this.lastReplayedSegment + 1;
      this.activeFd = this.openSegment(this.active);
    } catch (error) {
      this.unlock();
      throw error;
    }
    if (options.fsync === 'interval') {
      this.fsyncTimer = setInterval(() => this.sync(), options.fsyncIntervalMs);
      this.fsyncTimer.unref();
    }
  }

  static open(options: SpillOptions): SpillJournal {
    return new SpillJournal({ ...defaultSpillOptions, ...options });
  }

  /**
   * Writes the event's line. With `inMemory` false the event is part of the backlog, to be read back later
   * with `readBacklog`. Throws when the write fails (disk full, …).
   */
  append(event: QueuedEvent, inMemory: boolean): void {
    const offset = this.activeBytes;
    const line = Buffer.from(`${event.json}\n`);
    this.write(line);
    event.segment = this.active;
    this.pending.set(this.active, (this.pending.get(this.active) ?? 0) + 1);
    this.pendingBytes += event.bytes;
    if (!inMemory) {
      if (this.backlog === 0) this.cursor = { segment: this.active, offset };
      this.backlog++;
    }
    if (this.options.fsync === 'always') fs.fdatasyncSync(this.activeFd);
    if (this.activeBytes >= this.options.segmentBytes) this.roll();
  }

  /** Records events as settled; deletes the segments that no longer hold a pending event. */
  settle(events: readonly QueuedEvent[]): void {
    const journaled = events.filter((event) => event.segment !== undefined);
    if (journaled.length === 0 || this.closed) return;
    this.write(Buffer.from(`${SETTLED_PREFIX}${JSON.stringify(journaled.map((event) => event.eventId))}}\n`));
    for (const event of journaled) {
      const segment = event.segment!;
      this.pending.set(segment, (this.pending.get(segment) ?? 1) - 1);
      this.pendingBytes -= event.bytes;
      event.segment = undefined;
    }
    this.deleteSettledSegments();
    if (this.activeBytes >= this.options.segmentBytes) this.roll();
  }

  /** Reads up to `max` backlog events, oldest first. */
  readBacklog(max: number): QueuedEvent[] {
    const events: QueuedEvent[] = [];
    while (events.length < max && this.backlog > 0) {
      const next = this.nextLine();
      if (next === undefined) {
        // The files hold fewer events than counted: only possible if they were changed under us.
        this.backlog = 0;
        break;
      }
      const { line, segment } = next;
      if (line.startsWith(SETTLED_PREFIX)) continue;
      if (this.replaySettled?.has(line.slice(EVENT_ID_OFFSET, EVENT_ID_OFFSET + EVENT_ID_LENGTH))) continue;
      const event = eventFromJson(line);
      if (event === undefined) continue;
      event.segment = segment;
      events.push(event);
      this.backlog--;
    }
    if (this.backlog === 0) this.stopReading();
    return events;
  }

  /** Forces written lines to disk now. */
  sync(): void {
    if (!this.dirty || this.closed) return;
    this.dirty = false;
    fs.fdatasyncSync(this.activeFd);
  }

  /**
   * Syncs and closes the files and releases the lock. Pending events stay on disk for the next open; when
   * none is pending, the journal's files are removed.
   */
  close(): void {
    if (this.closed) return;
    if (this.fsyncTimer) clearInterval(this.fsyncTimer);
    if (this.options.fsync !== 'never') this.sync();
    this.stopReading();
    fs.closeSync(this.activeFd);
    this.closed = true;
    if (this.segments.every((segment) => (this.pending.get(segment) ?? 0) === 0)) {
      for (const segment of this.segments) fs.rmSync(this.segmentPath(segment), { force: true });
    }
    this.unlock();
  }

  // -------------------------------------------------------------------------------------------------------------

  private write(line: Buffer): void {
    let written = 0;
    try {
      while (written < line.length) {
        written += fs.writeSync(this.activeFd, line, written, line.length - written);
      }
    } catch (error) {
      // A partial line (disk full) would merge with the next one: cut it off.
      if (written > 0) fs.ftruncateSync(this.activeFd, this.activeBytes);
      throw error;
    }
    this.activeBytes += line.length;
    this.dirty = true;
  }

  private segmentPath(segment: number): string {
    return path.join(this.directory, `segment-${String(segment).padStart(8, '0')}.jsonl`);
  }

  private openSegment(segment: number): number {
    const fd = fs.openSync(this.segmentPath(segment), 'a');
    this.segments.push(segment);
    this.pending.set(segment, 0);
    this.activeBytes = 0;
    if (this.options.fsync !== 'never') this.syncDirectory();
    return fd;
  }

  private roll(): void {
    if (this.options.fsync !== 'never') fs.fdatasyncSync(this.activeFd);
    this.dirty = false;
    fs.closeSync(this.activeFd);
    this.active++;
    this.activeFd = this.openSegment(this.active);
    this.deleteSettledSegments();
  }

  /** Deletes the oldest segments while they hold nothing pending; never the active one. */
  private deleteSettledSegments(): void {
    while (this.segments.length > 1 && (this.pending.get(this.segments[0]!) ?? 0) === 0) {
      const segment = this.segments.shift()!;
      this.pending.delete(segment);
      if (this.readFd?.segment === segment) this.stopReading();
      if (this.cursor?.segment === segment) this.cursor = { segment: this.segments[0]!, offset: 0 };
      fs.rmSync(this.segmentPath(segment), { force: true });
    }
  }

  private syncDirectory(): void {
    try {
      const fd = fs.openSync(this.directory, 'r');
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      // Some file systems cannot fsync a directory; the files' own syncs still hold.
    }
  }

  /** Finds the pending events of earlier runs: pass 1 collects settled ids, pass 2 counts the rest. */
  private replay(): number {
    const numbers = fs
      .readdirSync(this.directory)
      .map((name) => SEGMENT_PATTERN.exec(name)?.[1])
      .filter((match): match is string => match !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    const settled = new Set<string>();
    for (const segment of numbers) {
      for (const line of completeLines(fs.readFileSync(this.segmentPath(segment)))) {
        if (!line.startsWith(SETTLED_PREFIX)) continue;
        try {
          for (const id of JSON.parse(line.slice(SETTLED_PREFIX.length, -1)) as string[]) settled.add(id);
        } catch {
          // A damaged settled record only means those events are sent again (and deduplicated).
        }
      }
    }
    let found = 0;
    for (const segment of numbers) {
      let pending = 0;
      for (const line of completeLines(fs.readFileSync(this.segmentPath(segment)))) {
        if (line.startsWith(SETTLED_PREFIX)) continue;
        if (settled.has(line.slice(EVENT_ID_OFFSET, EVENT_ID_OFFSET + EVENT_ID_LENGTH))) continue;
        const event = eventFromJson(line);
        if (event === undefined) continue;
        pending++;
        this.pendingBytes += event.bytes;
      }
      this.segments.push(segment);
      this.pending.set(segment, pending);
      found += pending;
    }
    // Only a prefix may go: a later segment's settled records may be about events in an earlier one.
    while (this.segments.length > 0 && this.pending.get(this.segments[0]!) === 0) {
      const segment = this.segments.shift()!;
      this.pending.delete(segment);
      fs.rmSync(this.segmentPath(segment), { force: true });
    }
    if (found > 0) this.replaySettled = settled;
    return found;
  }

  /** The next complete line at the cursor, moving to the next segment at the end of an old one. */
  private nextLine(): { line: string; segment: number } | undefined {
    const cursor = this.cursor;
    if (cursor === undefined) return undefined;
    for (;;) {
      const newline = this.readBuffer.indexOf(10);
      if (newline >= 0) {
        const line = this.readBuffer.toString('utf8', 0, newline);
        this.readBuffer = this.readBuffer.subarray(newline + 1);
        cursor.offset += newline + 1;
        return { line, segment: cursor.segment };
      }
      const chunk = this.read(cursor.segment, cursor.offset + this.readBuffer.length);
      if (chunk.length > 0) {
        this.readBuffer = this.readBuffer.length === 0 ? chunk : Buffer.concat([this.readBuffer, chunk]);
        continue;
      }
      // End of this segment. An unterminated tail of an old segment is a line torn by a crash: skip it.
      const next = this.segments.find((segment) => segment > cursor.segment);
      if (next === undefined || cursor.segment === this.active) return undefined;
      this.closeReadFd();
      this.readBuffer = Buffer.alloc(0);
      cursor.segment = next;
      cursor.offset = 0;
      if (next > this.lastReplayedSegment) this.replaySettled = undefined;
    }
  }

  private read(segment: number, position: number): Buffer {
    if (this.readFd?.segment !== segment) {
      this.closeReadFd();
      this.readFd = { segment, fd: fs.openSync(this.segmentPath(segment), 'r') };
    }
    const buffer = Buffer.allocUnsafe(READ_CHUNK);
    const read = fs.readSync(this.readFd.fd, buffer, 0, READ_CHUNK, position);
    return buffer.subarray(0, read);
  }

  private closeReadFd(): void {
    if (this.readFd) fs.closeSync(this.readFd.fd);
    this.readFd = undefined;
  }

  private stopReading(): void {
    this.closeReadFd();
    this.readBuffer = Buffer.alloc(0);
    this.cursor = undefined;
    if (this.backlog === 0) this.replaySettled = undefined;
  }

  private lock(): void {
    if (openDirectories.has(this.directory)) {
      throw new DeeprefNodeError('DEEPREF_NODE_SPILL_LOCKED', {
        directory: this.directory,
        pid: process.pid,
      });
    }
    const lockPath = path.join(this.directory, 'lock');
    let holder: number | undefined;
    try {
      holder = Number(fs.readFileSync(lockPath, 'utf8').trim());
    } catch {
      holder = undefined;
    }
    if (holder !== undefined && holder !== process.pid && isAlive(holder)) {
      throw new DeeprefNodeError('DEEPREF_NODE_SPILL_LOCKED', { directory: this.directory, pid: holder });
    }
    fs.writeFileSync(lockPath, String(process.pid));
    openDirectories.add(this.directory);
  }

  private unlock(): void {
    openDirectories.delete(this.directory);
    fs.rmSync(path.join(this.directory, 'lock'), { force: true });
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The newline-terminated lines of a file; an unterminated tail (a torn write) is left out. */
function* completeLines(content: Buffer): Generator<string> {
  let start = 0;
  for (;;) {
    const newline = content.indexOf(10, start);
    if (newline < 0) return;
    if (newline > start) yield content.toString('utf8', start, newline);
    start = newline + 1;
  }
}
