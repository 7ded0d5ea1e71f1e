/**
 * Reading a stream after a sequence number without creating a consumer per read. A cursor is an ephemeral pull
 * consumer without acks that stays where its last read ended; each read is one `no_wait` pull, which returns at once
 * whatever is there, up to the limit. `StreamCursors` keeps the idle cursors by (filter, position), so that each
 * reader going forward batch by batch finds its own again.
 *
 * A parked cursor can answer a pull with less than the stream holds: the server tells a consumer of new messages
 * after it acknowledged their publish, so a read right after an append may find the consumer not yet told. A short
 * read from a parked cursor is therefore checked with a direct get of the next message, and read again by a new
 * consumer (which counts from the stream itself) when one is there.
 */
import { AckPolicy, DeliverPolicy, type JetStreamManager } from '@nats-io/jetstream';
import { createInbox, type Msg, type NatsConnection, nanos } from '@nats-io/transport-node';

export interface StreamRecord {
  /** The stream sequence number. */
  seq: number;
  subject: string;
  data: Uint8Array;
}

/** A consumer idle this long is removed by the server; a cursor found gone is made again. */
const inactiveThresholdMs = 5 * 60_000;

/**
 * The stream sequence of a delivered message, from its ack subject: `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>…`
 * (9 tokens), or with a domain and account hash after `$JS.ACK` (12 tokens or more).
 */
export function streamSequenceOf(reply: string): number {
  const tokens = reply.split('.');
  if (tokens[0] !== '$JS' || tokens[1] !== 'ACK' || tokens.length < 9) {
    throw new Error(`Not a JetStream delivery: ${reply}`);
  }
  return Number(tokens[tokens.length === 9 ? 5 : 7]);
}

class StreamCursor {
  position: number;
  readonly filter: string | undefined;
  private readonly nc: NatsConnection;
  private readonly jsm: JetStreamManager;
  private readonly stream: string;
  private readonly consumer: string;

  private constructor(
    nc: NatsConnection,
    jsm: JetStreamManager,
    stream: string,
    consumer: string,
    filter: string | undefined,
    after: number,
  ) {
    this.nc = nc;
    this.jsm = jsm;
    this.stream = stream;
    this.consumer = consumer;
    this.filter = filter;
    this.position = after;
  }

  static async create(
    nc: NatsConnection,
    jsm: JetStreamManager,
    stream: string,
    filter: string | undefined,
    after: number,
  ): Promise<StreamCursor> {
    const info = await jsm.consumers.add(stream, {
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: after + 1,
      ...(filter === undefined ? {} : { filter_subject: filter }),
      inactive_threshold: nanos(inactiveThresholdMs),
      mem_storage: true,
      num_replicas: 1,
    });
    return new StreamCursor(nc, jsm, stream, info.name, filter, after);
  }

  /** Up to `limit` messages after the position, in order; moves the position to the last one. */
  pull(limit: number, timeoutMs: number): Promise<StreamRecord[]> {
    return new Promise((resolve, reject) => {
      const records: StreamRecord[] = [];
      const inbox = createInbox();
      const finish = (error?: Error) => {
        clearTimeout(timer);
        subscription.unsubscribe();
        if (error) reject(error);
        else resolve(records);
      };
      const timer = setTimeout(
        () => finish(new Error(`JetStream did not answer a read of ${this.stream} within ${timeoutMs} ms.`)),
        timeoutMs,
      );
      const subscription = this.nc.subscribe(inbox, {
        callback: (error, message: Msg) => {
          if (error) return finish(error);
          // A message without an ack subject is the server's status: 404/408 end a no_wait pull, others fail it.
          if (!message.reply) {
            const code = message.headers?.code ?? 0;
            if (code === 404 || code === 408) return finish();
            return finish(
              new Error(
                `JetStream refused a read of ${this.stream}: ${code} ${message.headers?.description ?? ''}`,
              ),
            );
          }
          const seq = streamSequenceOf(message.reply);
          if (!(seq > this.position)) {
            return finish(new Error(`JetStream delivered ${this.stream} #${seq} after #${this.position}.`));
          }
          this.position = seq;
          records.push({ seq, subject: message.subject, data: message.data });
          if (records.length === limit) finish();
        },
      });
      this.nc.publish(
        `$JS.API.CONSUMER.MSG.NEXT.${this.stream}.${this.consumer}`,
        JSON.stringify({ batch: limit, no_wait: true }),
        { reply: inbox },
      );
    });
  }

  async delete(): Promise<void> {
    await this.jsm.consumers.delete(this.stream, this.consumer);
  }
}

export class StreamCursors {
  private readonly nc: NatsConnection;
  private readonly jsm: JetStreamManager;
  private readonly stream: string;
  private readonly maxIdle: number;
  private readonly timeoutMs: number;
  /** In the order they were parked: the first is the one unused longest. */
  private readonly idle = new Map<string, StreamCursor>();

  constructor(
    nc: NatsConnection,
    jsm: JetStreamManager,
    stream: string,
    options: { maxIdle: number; timeoutMs: number },
  ) {
    this.nc = nc;
    this.jsm = jsm;
    this.stream = stream;
    this.maxIdle = options.maxIdle;
    this.timeoutMs = options.timeoutMs;
  }

  /** Up to `limit` messages with sequence > `after` (of the `filter` subject, if given), ascending. */
  async read(filter: string | undefined, after: number, limit: number): Promise<StreamRecord[]> {
    const key = `${filter ?? ''}@${after}`;
    const parked = this.idle.get(key);
    this.idle.delete(key);
    let records: StreamRecord[] = [];
    let from = after;
    if (parked) {
      try {
        records = await parked.pull(limit, this.timeoutMs);
        if (records.length === limit || !(await this.holdsAfter(filter, parked.position))) {
          return this.park(parked, records);
        }
        from = parked.position; // told late of what follows: a new consumer reads on from there
      } catch {
        // Its consumer expired, or its position is in doubt: start afresh where it was asked to be.
        records = [];
      }
      this.discard(parked);
    }
    const cursor = await StreamCursor.create(this.nc, this.jsm, this.stream, filter, from);
    try {
      const more = await cursor.pull(limit - records.length, this.timeoutMs);
      return this.park(cursor, records.length === 0 ? more : records.concat(more));
    } catch (error) {
      this.discard(cursor);
      throw error;
    }
  }

  /** Whether the stream holds a message (of the filter) after `position`: one direct get, no consumer. */
  private async holdsAfter(filter: string | undefined, position: number): Promise<boolean> {
    const next = await this.jsm.direct.getMessage(this.stream, {
      seq: position + 1,
      next_by_subj: filter ?? '>',
    });
    return next !== null;
  }

  /** Removes every idle cursor's consumer. */
  async close(): Promise<void> {
    const cursors = [...this.idle.values()];
    this.idle.clear();
    await Promise.allSettled(cursors.map((cursor) => cursor.delete()));
  }

  private park(cursor: StreamCursor, records: StreamRecord[]): StreamRecord[] {
    const key = `${cursor.filter ?? ''}@${cursor.position}`;
    const previous = this.idle.get(key);
    if (previous) this.discard(previous);
    this.idle.delete(key);
    this.idle.set(key, cursor);
    if (this.idle.size > this.maxIdle) {
      const [oldestKey, oldest] = this.idle.entries().next().value!;
      this.idle.delete(oldestKey);
      this.discard(oldest);
    }
    return records;
  }

  /** Removes a cursor's consumer in the background; the server would remove it later anyway. */
  private discard(cursor: StreamCursor): void {
    cursor.delete().catch(() => undefined);
  }
}
