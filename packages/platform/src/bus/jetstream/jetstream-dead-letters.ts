/**
 * The dead letters of the JetStream event log: a stream of their own (a dead letter's id is its sequence number, its
 * subject names its reason) and a bucket of replay marks, since a stored message never changes.
 */
import type { JetStreamManager, PubAck } from '@nats-io/jetstream';
import { DeeprefError } from '../../errors.ts';
import type { DeadLetter, DeadLetterInput, DeadLetterQuery, DeadLetterStore } from '../event-log.ts';
import { deadLetterSubject, type JetStreamLayout, reasonOfSubject } from './jetstream-layout.ts';
import type { JetStreamRequests } from './jetstream-requests.ts';
import type { KvBucket } from './kv-bucket.ts';
import type { StreamCursors, StreamRecord } from './stream-cursors.ts';

interface ReplayMark {
  replayedAt: string;
  replayOutcome: string;
}

/** Dead letters read per pull while listing. */
const listPage = 500;

export class JetStreamDeadLetters implements DeadLetterStore {
  private readonly requests: JetStreamRequests;
  private readonly jsm: JetStreamManager;
  private readonly layout: JetStreamLayout;
  private readonly replays: KvBucket;
  private readonly cursors: StreamCursors;
  private readonly decoder = new TextDecoder();

  constructor(
    jsm: JetStreamManager,
    requests: JetStreamRequests,
    layout: JetStreamLayout,
    replays: KvBucket,
    cursors: StreamCursors,
  ) {
    this.jsm = jsm;
    this.requests = requests;
    this.layout = layout;
    this.replays = replays;
    this.cursors = cursors;
  }

  /** Stores one dead letter; resolves once JetStream acknowledged it. */
  publish(letter: DeadLetterInput): Promise<PubAck> {
    const stored: DeadLetterInput = {
      reason: letter.reason,
      message: letter.message,
      raw: letter.raw,
      sourceId: letter.sourceId,
      receivedAt: letter.receivedAt,
      ...(letter.eventId === undefined ? {} : { eventId: letter.eventId }),
      ...(letter.eventName === undefined ? {} : { eventName: letter.eventName }),
    };
    return this.requests.publish(deadLetterSubject(this.layout, letter.reason), JSON.stringify(stored));
  }

  async list(query: DeadLetterQuery = {}): Promise<DeadLetter[]> {
    const filter = query.reason === undefined ? undefined : deadLetterSubject(this.layout, query.reason);
    const limit = query.limit ?? Number.POSITIVE_INFINITY;
    const found: DeadLetter[] = [];
    let after = query.afterId ?? 0;
    while (found.length < limit) {
      const want = query.pending ? listPage : Math.min(listPage, limit - found.length);
      const records = await this.cursors.read(filter, after, want);
      const letters = await Promise.all(records.map((record) => this.withReplayMark(record)));
      for (const letter of letters) {
        if (found.length === limit) break;
        if (!query.pending || letter.replayedAt === undefined) found.push(letter);
      }
      if (records.length < want) break;
      after = records.at(-1)!.seq;
    }
    return found;
  }

  async get(id: number): Promise<DeadLetter | undefined> {
    if (!Number.isSafeInteger(id) || id < 1) return undefined;
    const message = await this.jsm.direct.getMessage(this.layout.deadLetterStream, { seq: id });
    if (message === null) return undefined;
    return this.withReplayMark({ seq: message.seq, subject: message.subject, data: message.data });
  }

  async markReplayed(id: number, outcome: string): Promise<void> {
    if ((await this.get(id)) === undefined)
      throw new DeeprefError('DEEPREF_NOT_FOUND', { what: `Dead letter ${id}` });
    const mark: ReplayMark = { replayedAt: new Date().toISOString(), replayOutcome: outcome };
    await this.replays.put(String(id), JSON.stringify(mark));
  }

  async countByReason(): Promise<Record<string, number>> {
    const info = await this.jsm.streams.info(this.layout.deadLetterStream, {
      subjects_filter: this.layout.deadLetterSubjects,
    });
    const counts: Record<string, number> = {};
    for (const [subject, count] of Object.entries(info.state.subjects ?? {}).sort(([a], [b]) =>
      a.localeCompare(b),
    )) {
      counts[reasonOfSubject(subject)] = count;
    }
    return counts;
  }

  private async withReplayMark(record: StreamRecord): Promise<DeadLetter> {
    const letter = JSON.parse(this.decoder.decode(record.data)) as DeadLetterInput;
    const mark = await this.replays.get(String(record.seq));
    return {
      id: record.seq,
      ...letter,
      ...(mark === undefined ? {} : (JSON.parse(mark) as ReplayMark)),
    };
  }
}
