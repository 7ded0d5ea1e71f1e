/**
 * The scale-out `EventLog`: one JetStream stream (file storage, replicas as configured) whose subjects are its
 * partitions, `<prefix>.<n>` with n a hash of the user, so that several ingest processes append to it and several
 * workers share out its partitions. Offsets are the stream's sequence numbers: global and ascending.
 *
 * An event is stored once per id in two layers. JetStream drops a message whose Nats-Msg-Id (the event id) it stored
 * within its duplicate window (minutes: it keeps those ids in memory); a bucket of seen ids (id → offset, TTL the
 * dedup window) covers the days after. The order of an append is what keeps an event from ever being reported a
 * duplicate without being stored: look the ids up in the bucket, publish the unseen ones and wait for every ack,
 * and only then mark them seen. A crash between the ack and the mark leaves an id unmarked: a retry within the
 * duplicate window is still caught by JetStream, a later one is stored a second time (never lost; the sinks write
 * by event id).
 */
import type { StoredEvent } from '@deepref/schema';
import { type JetStreamManager, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect, type NatsConnection, nanos } from '@nats-io/transport-node';
import { DeeprefError } from '../../errors.ts';
import {
  type AppendBatch,
  type AppendOutcome,
  checkDeadLetter,
  checkPartition,
  type DeadLetterInput,
  type EventLog,
  type LogExpiry,
  type LogRecord,
  type SubjectRecords,
} from '../event-log.ts';
import { JetStreamDeadLetters } from './jetstream-dead-letters.ts';
import {
  bucketKey,
  dedupKey,
  type JetStreamLayout,
  jetStreamLayout,
  partitionOf,
  textOfBucketKey,
} from './jetstream-layout.ts';
import { expireStreams } from './jetstream-log-retention.ts';
import { JetStreamRequests } from './jetstream-requests.ts';
import { ensureStream } from './jetstream-streams.ts';
import {
  eraseSubjectFromStreams,
  findSubjectInStreams,
  type SubjectScanParts,
} from './jetstream-subject-erasure.ts';
import { KvBucket } from './kv-bucket.ts';
import { StreamCursors } from './stream-cursors.ts';

export interface JetStreamEventLogOptions {
  /** NATS servers, `host:port` or URLs. Default `127.0.0.1:4222`. */
  servers?: string | string[];
  /** The events stream; its dead letters and buckets are named after it. Default `DEEPREF_EVENTS`. */
  stream?: string;
  /** Partition n is the subject `<subjectPrefix>.<n>`. Default `deepref.events`. */
  subjectPrefix?: string;
  /** Fixed when the stream is created; opening it with another count fails. Default 8. */
  partitions?: number;
  /** Copies JetStream keeps of every stream (1, or 3 or 5 on a cluster). Default 1. */
  replicas?: number;
  /** How long an event id is remembered for dedup. Default 7. */
  dedupWindowDays?: number;
  /** Events appended but not yet acknowledged; past this `append` rejects with DEEPREF_OVERLOADED. Default 200,000. */
  maxPendingEvents?: number;
  /** JetStream's own duplicate window for Nats-Msg-Id. Default 2 minutes. */
  msgIdWindowMs?: number;
  /** How long to wait for JetStream to acknowledge or answer. Default 5,000 ms. */
  timeoutMs?: number;
}

const dayMs = 86_400_000;

/** Connects, creates the streams and buckets unless they exist, and checks the stream's partitions. */
export async function openJetStreamEventLog(options: JetStreamEventLogOptions = {}): Promise<EventLog> {
  const servers = options.servers ?? '127.0.0.1:4222';
  const stream = options.stream ?? 'DEEPREF_EVENTS';
  const layout = jetStreamLayout(stream, options.subjectPrefix ?? 'deepref.events', options.partitions ?? 8);
  const replicas = options.replicas ?? 1;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const serverList = String(servers);
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers,
      name: `deepref-event-log ${stream}`,
      timeout: timeoutMs,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    });
  } catch (error) {
    throw unavailable(serverList, error);
  }
  try {
    const jsm = await jetstreamManager(nc, { timeout: timeoutMs });
    const requests = new JetStreamRequests(nc, timeoutMs);
    const eventStream = await ensureStream(
      jsm,
      {
        name: layout.eventStream,
        subjects: layout.partitionSubjects,
        storage: StorageType.File,
        num_replicas: replicas,
        duplicate_window: nanos(options.msgIdWindowMs ?? 120_000),
        allow_direct: true,
      },
      ['num_replicas', 'duplicate_window'],
    );
    const subjects = eventStream.config.subjects ?? [];
    if (subjects.join(' ') !== layout.partitionSubjects.join(' ')) {
      throw new DeeprefError('DEEPREF_EVENT_LOG_MISMATCH', {
        stream,
        detail: `it has the subjects ${subjects.join(', ')} (${subjects.length} partitions), not ${layout.partitionSubjects[0]} … (${layout.partitionSubjects.length})`,
      });
    }
    await ensureStream(
      jsm,
      {
        name: layout.deadLetterStream,
        subjects: [layout.deadLetterSubjects],
        storage: StorageType.File,
        num_replicas: replicas,
        allow_direct: true,
      },
      ['num_replicas'],
    );
    const bucket = (name: string, ttlMs?: number) =>
      KvBucket.open(jsm, requests, name, { replicas, ...(ttlMs === undefined ? {} : { ttlMs }) });
    const [seen, offsets, replays] = await Promise.all([
      bucket(layout.seenBucket, (options.dedupWindowDays ?? 7) * dayMs),
      bucket(layout.offsetBucket),
      bucket(layout.replayBucket),
    ]);
    return new JetStreamEventLog({
      nc,
      jsm,
      requests,
      layout,
      seen,
      offsets,
      replays,
      servers: serverList,
      maxPendingEvents: options.maxPendingEvents ?? 200_000,
      timeoutMs,
    });
  } catch (error) {
    await nc.close();
    throw error instanceof DeeprefError ? error : unavailable(serverList, error);
  }
}

function unavailable(servers: string, error: unknown): DeeprefError {
  const detail = error instanceof Error ? error.message : String(error);
  return new DeeprefError(
    'DEEPREF_EVENT_LOG_UNAVAILABLE',
    { servers, detail },
    { retryAfter: 1, cause: error },
  );
}

interface Parts {
  nc: NatsConnection;
  jsm: JetStreamManager;
  requests: JetStreamRequests;
  layout: JetStreamLayout;
  seen: KvBucket;
  offsets: KvBucket;
  replays: KvBucket;
  servers: string;
  maxPendingEvents: number;
  timeoutMs: number;
}

/** A batch encoded and checked, ready to store. */
interface EncodedBatch {
  keys: string[];
  subjects: string[];
  bodies: string[];
  deadLetters: DeadLetterInput[];
}

class JetStreamEventLog implements EventLog {
  readonly partitions: number;
  readonly deadLetters: JetStreamDeadLetters;
  private readonly parts: Parts;
  private readonly cursors: StreamCursors;
  private readonly deadLetterCursors: StreamCursors;
  private readonly decoder = new TextDecoder();
  /** Events of appends not yet settled. */
  private pendingEvents = 0;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Settles once the latest append issued its publishes: each append publishes after the one called before it. */
  private publishTurn: Promise<void> = Promise.resolve();
  private closing: Promise<void> | undefined;

  constructor(parts: Parts) {
    this.parts = parts;
    this.partitions = parts.layout.partitionSubjects.length;
    const cursorOptions = { maxIdle: 16, timeoutMs: parts.timeoutMs };
    this.cursors = new StreamCursors(parts.nc, parts.jsm, parts.layout.eventStream, cursorOptions);
    this.deadLetterCursors = new StreamCursors(
      parts.nc,
      parts.jsm,
      parts.layout.deadLetterStream,
      cursorOptions,
    );
    this.deadLetters = new JetStreamDeadLetters(
      parts.jsm,
      parts.requests,
      parts.layout,
      parts.replays,
      this.deadLetterCursors,
    );
  }

  append(batch: AppendBatch): Promise<AppendOutcome[]> {
    if (this.closing) return Promise.reject(new DeeprefError('DEEPREF_SHUTTING_DOWN', {}, { retryAfter: 1 }));
    const { events, deadLetters } = batch;
    const count = events.length;
    if (count === 0 && deadLetters.length === 0) return Promise.resolve([]);
    // A batch larger than the whole buffer is still taken when the buffer is empty, or it could never be stored.
    if (this.pendingEvents > 0 && this.pendingEvents + count > this.parts.maxPendingEvents) {
      return Promise.reject(new DeeprefError('DEEPREF_OVERLOADED', {}, { retryAfter: 1 }));
    }
    let encoded: EncodedBatch;
    try {
      encoded = this.encode(events, deadLetters);
    } catch (error) {
      return Promise.reject(error);
    }
    const previousTurn = this.publishTurn;
    let endTurn!: () => void;
    this.publishTurn = new Promise((resolve) => {
      endTurn = resolve;
    });
    this.pendingEvents += count;
    const stored = this.store(encoded, previousTurn, endTurn).finally(() => {
      this.pendingEvents -= count;
      this.inFlight.delete(stored);
    });
    this.inFlight.add(stored);
    return stored;
  }

  async read(after: number, limit: number, partition?: number): Promise<LogRecord[]> {
    checkPartition(partition, this.partitions);
    if (limit < 1) return [];
    const filter = partition === undefined ? undefined : this.parts.layout.partitionSubjects[partition];
    const records = await this.cursors.read(filter, after, limit);
    return records.map(({ seq, data }) => ({
      offset: seq,
      event: JSON.parse(this.decoder.decode(data)) as StoredEvent,
    }));
  }

  async head(): Promise<number> {
    return (await this.parts.jsm.streams.info(this.parts.layout.eventStream)).state.last_seq;
  }

  /** Durable once resolved: JetStream acknowledged it. */
  async commitOffset(consumer: string, offset: number): Promise<void> {
    if (this.closing) throw new DeeprefError('DEEPREF_SHUTTING_DOWN', {}, { retryAfter: 1 });
    await this.parts.offsets.put(bucketKey(consumer), String(offset));
  }

  async committedOffset(consumer: string): Promise<number> {
    return Number((await this.parts.offsets.get(bucketKey(consumer))) ?? 0);
  }

  async consumerOffsets(): Promise<Record<string, number>> {
    const offsets: Record<string, number> = {};
    for (const [key, value] of await this.parts.offsets.entries())
      offsets[textOfBucketKey(key)] = Number(value);
    return offsets;
  }

  /** Privacy requests (jetstream-subject-erasure.ts). */
  findSubject(ids: readonly string[]): Promise<SubjectRecords> {
    return findSubjectInStreams(this.subjectScanParts(), ids);
  }

  eraseSubject(ids: readonly string[]): Promise<{ events: number; deadLetters: number }> {
    return eraseSubjectFromStreams(this.subjectScanParts(), ids);
  }

  /** Retention (jetstream-log-retention.ts). */
  expire(expiry: LogExpiry): Promise<{ events: number; deadLetters: number }> {
    if (this.closing) return Promise.reject(new DeeprefError('DEEPREF_SHUTTING_DOWN', {}, { retryAfter: 1 }));
    const { jsm, layout, replays } = this.parts;
    return expireStreams(
      { jsm, layout, replays, committedOffset: (consumer) => this.committedOffset(consumer) },
      expiry,
    );
  }

  private subjectScanParts(): SubjectScanParts {
    const { jsm, layout } = this.parts;
    return {
      jsm,
      layout,
      events: this.cursors,
      deadLetterCursors: this.deadLetterCursors,
      deadLetters: this.deadLetters,
    };
  }

  /** Waits for every append under way to be acknowledged, then removes its read consumers and disconnects. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.inFlight]);
      await Promise.all([this.cursors.close(), this.deadLetterCursors.close()]);
      await this.parts.nc.drain().catch(() => this.parts.nc.close());
    })();
    return this.closing;
  }

  /** Checks and encodes the batch, so that a batch that cannot be stored fails alone and before any publish. */
  private encode(events: StoredEvent[], deadLetters: DeadLetterInput[]): EncodedBatch {
    const { partitionSubjects } = this.parts.layout;
    const keys: string[] = new Array(events.length);
    const subjects: string[] = new Array(events.length);
    const bodies: string[] = new Array(events.length);
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!;
      if (typeof event.eventId !== 'string') throw new TypeError(`Event ${i} of the batch has no eventId.`);
      keys[i] = dedupKey(event.eventId);
      subjects[i] = partitionSubjects[partitionOf(event, partitionSubjects.length)]!;
      bodies[i] = JSON.stringify(event);
    }
    for (const letter of deadLetters) checkDeadLetter(letter);
    return { keys, subjects, bodies, deadLetters };
  }

  /** Looks the ids up, publishes the unseen (in call order) and the dead letters, then marks what was stored. */
  private async store(
    batch: EncodedBatch,
    turn: Promise<void>,
    endTurn: () => void,
  ): Promise<AppendOutcome[]> {
    const { seen, requests, servers } = this.parts;
    const { keys, subjects, bodies } = batch;
    try {
      let marked: (string | undefined)[];
      try {
        marked = await Promise.all(keys.map((key) => seen.get(key)));
      } finally {
        await turn;
      }
      // Issued together, in order: one connection keeps the order, so a batch's events take ascending offsets.
      const publishes = keys.map((key, i) =>
        marked[i] === undefined ? requests.publish(subjects[i]!, bodies[i]!, { msgID: key }) : undefined,
      );
      const letters = batch.deadLetters.map((letter) => this.deadLetters.publish(letter));
      endTurn();
      const [acks] = await Promise.all([Promise.all(publishes), Promise.all(letters)]);
      // Marked only now that JetStream holds them; a Nats-Msg-Id duplicate is marked again in case its first
      // append died before marking it.
      const marks = new Map<string, number>();
      acks.forEach((ack, i) => {
        if (ack) marks.set(keys[i]!, ack.seq);
      });
      await Promise.all([...marks].map(([key, offset]) => seen.put(key, String(offset))));
      return acks.map((ack) =>
        ack && !ack.duplicate ? { status: 'accepted', offset: ack.seq } : { status: 'duplicate' },
      );
    } catch (error) {
      throw unavailable(servers, error);
    } finally {
      endTurn();
    }
  }
}
