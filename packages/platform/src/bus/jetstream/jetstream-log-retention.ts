/**
 * Retention in the JetStream event log, on the SQLite log's terms (sqlite-log-retention.ts): events that every named
 * consumer has passed and that the stream took before the cutoff leave it, and the stream's newest event stays
 * whatever its age; dead letters go by the time the stream took them, with their replay marks. The seen ids (dedup)
 * keep their own window, as on SQLite.
 *
 * A cutoff time becomes a sequence number, the first message the stream stored at or after it (message times are
 * taken as ascending with sequence numbers), so each removal is a purge up to a sequence: one of the prefix that no
 * partition keeps, which drops whole block files, then one per partition whose consumers let it go further.
 *
 * A purge makes the messages unreadable at once but does not overwrite them: their bytes stay in the stream's block
 * file until every message of that block is gone and the file is deleted (docs/privacy.md, "Retention"). Unlike
 * erasure (jetstream-subject-erasure.ts), retention does not need the secure delete: the warehouse and the lake
 * keep the same events for longer.
 */
import { AckPolicy, DeliverPolicy, type JetStreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { LogExpiry } from '../event-log.ts';
import type { JetStreamLayout } from './jetstream-layout.ts';
import type { KvBucket } from './kv-bucket.ts';

export interface RetentionParts {
  jsm: JetStreamManager;
  layout: JetStreamLayout;
  /** Replay marks, keyed by dead letter id. */
  replays: KvBucket;
  committedOffset(consumer: string): Promise<number>;
}

export async function expireStreams(
  parts: RetentionParts,
  expiry: LogExpiry,
): Promise<{ events: number; deadLetters: number }> {
  const [events, deadLetters] = await Promise.all([
    expireEvents(parts, expiry),
    expireDeadLetters(parts, expiry),
  ]);
  return { events, deadLetters };
}

async function expireEvents(parts: RetentionParts, expiry: LogExpiry): Promise<number> {
  const { jsm, layout } = parts;
  const stream = layout.eventStream;
  const subjects = layout.partitionSubjects;
  const { state } = await jsm.streams.info(stream, expiry.dryRun ? { subjects_filter: '>' } : {});
  if (state.messages === 0) return 0;
  const passed = (names: readonly string[]) =>
    Promise.all(names.map((name) => parts.committedOffset(name))).then((offsets) => Math.min(...offsets));
  const taken = await startOf(jsm, stream, { time: expiry.before.events });
  // Every partition keeps its events from here on at the latest: those taken since the cutoff, those a consumer of
  // the whole log has not passed, and the newest, as on SQLite (the stream's last sequence number stays a message).
  const bound = Math.min(taken.seq, state.last_seq, (await passed(expiry.consumers)) + 1);
  const keepFrom = await Promise.all(
    subjects.map(async (_, p) => {
      const own = (expiry.partitionConsumers ?? []).map((nameOf) => nameOf(p));
      return Math.min(bound, (await passed(own)) + 1);
    }),
  );

  if (expiry.dryRun) {
    // The stream's count of a partition, less what a consumer from its first kept event would still read. Appends
    // between the two requests are counted in the second only, so under load this may find a few events too few.
    const counts = await Promise.all(
      subjects.map(async (subject, p) => {
        const total = state.subjects?.[subject] ?? 0;
        if (total === 0) return 0;
        const { pending } = await startOf(jsm, stream, { seq: keepFrom[p]! }, subject);
        return Math.max(0, total - pending);
      }),
    );
    return counts.reduce((a, b) => a + b, 0);
  }

  // Below the first event some partition keeps, every partition's events go: one purge of the stream's prefix.
  const kept = await Promise.all(subjects.map((subject, p) => nextSeq(jsm, stream, subject, keepFrom[p]!)));
  const prefix = Math.min(state.last_seq, ...kept);
  let removed = prefix > state.first_seq ? (await jsm.streams.purge(stream, { seq: prefix })).purged : 0;
  // Then each partition whose consumers passed more: a purge of its subject, only where there is one to purge (on
  // server 2.9 a purge of a subject reads every block that holds any of it).
  for (const [p, subject] of subjects.entries()) {
    if (keepFrom[p]! <= prefix || (await nextSeq(jsm, stream, subject, prefix)) >= keepFrom[p]!) continue;
    removed += (await jsm.streams.purge(stream, { filter: subject, seq: keepFrom[p]! })).purged;
  }
  return removed;
}

async function expireDeadLetters(parts: RetentionParts, expiry: LogExpiry): Promise<number> {
  const { jsm, layout, replays } = parts;
  const stream = layout.deadLetterStream;
  const { state } = await jsm.streams.info(stream);
  const taken = await startOf(jsm, stream, { time: expiry.before.deadLetters });
  // As for events: a letter stored between the two requests is counted by the second only.
  if (expiry.dryRun) return Math.max(0, state.messages - taken.pending);
  const removed =
    taken.seq > state.first_seq ? (await jsm.streams.purge(stream, { seq: taken.seq })).purged : 0;
  // A replay mark goes with its letter, as a row's columns do on SQLite; also those of letters expired by a run
  // that stopped before this step.
  const firstKept = Math.max(taken.seq, state.first_seq);
  const gone = (await replays.keys()).filter((key) => Number(key) < firstKept);
  await Promise.all(gone.map((key) => replays.purge(key)));
  return removed;
}

/**
 * Where a consumer starting at a time or a sequence would start, and how many messages (of `filter`) it would have
 * to read: the server works both out when the consumer is made, so one is made and deleted without reading.
 */
async function startOf(
  jsm: JetStreamManager,
  stream: string,
  start: { time: Date } | { seq: number },
  filter?: string,
): Promise<{ seq: number; pending: number }> {
  const info = await jsm.consumers.add(stream, {
    ack_policy: AckPolicy.None,
    ...('time' in start
      ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: start.time.toISOString() }
      : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start.seq }),
    ...(filter === undefined ? {} : { filter_subject: filter }),
    inactive_threshold: nanos(60_000),
    mem_storage: true,
    num_replicas: 1,
  });
  await jsm.consumers.delete(stream, info.name).catch(() => undefined);
  return { seq: info.delivered.stream_seq + 1, pending: info.num_pending };
}

/** The sequence of the first message of `subject` at or after `seq`; infinity when there is none. */
async function nextSeq(jsm: JetStreamManager, stream: string, subject: string, seq: number): Promise<number> {
  const message = await jsm.direct.getMessage(stream, { seq, next_by_subj: subject });
  return message?.seq ?? Number.POSITIVE_INFINITY;
}
