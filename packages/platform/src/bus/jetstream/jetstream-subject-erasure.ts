/**
 * A subject's messages in the JetStream event log, found and erased for privacy requests. Events are matched as the
 * SQLite log matches them (`userId` or `anonymousId` is one of the ids), dead letters by any mention of an id as a
 * JSON string in their raw text. Every partition is scanned: an anonymous id may sit in another user's partition.
 *
 * Each message goes with JetStream's secure delete (`STREAM.MSG.DELETE` without `no_erase`), which overwrites the
 * message in the stream's block file with random bytes before marking it deleted; its sequence number is never
 * reused, so consumers past it lose nothing. A dead letter's replay mark (a time and an outcome, nothing of the
 * subject) stays in its bucket, which refuses deletes, until the key is put again. What JetStream does not reach
 * (its RAFT log on a replicated stream, until compacted; backups of the store folder) is in docs/privacy.md.
 */
import type { StoredEvent } from '@deepref/schema';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { DeadLetter, DeadLetterStore, LogRecord, SubjectRecords } from '../event-log.ts';
import type { JetStreamLayout } from './jetstream-layout.ts';
import type { StreamCursors, StreamRecord } from './stream-cursors.ts';

/** Messages read per pull while scanning. */
const scanPage = 1_000;

export interface SubjectScanParts {
  jsm: JetStreamManager;
  layout: JetStreamLayout;
  events: StreamCursors;
  deadLetterCursors: StreamCursors;
  deadLetters: DeadLetterStore;
}

async function scan(
  cursors: StreamCursors,
  matches: (record: StreamRecord) => boolean,
): Promise<StreamRecord[]> {
  const found: StreamRecord[] = [];
  let after = 0;
  for (;;) {
    const page = await cursors.read(undefined, after, scanPage);
    for (const record of page) if (matches(record)) found.push(record);
    if (page.length < scanPage) return found;
    after = page.at(-1)!.seq;
  }
}

async function subjectMessages(parts: SubjectScanParts, ids: readonly string[]) {
  const wanted = new Set(ids);
  const quoted = ids.map((id) => JSON.stringify(id));
  const decoder = new TextDecoder();
  const events = await scan(parts.events, (record) => {
    const event = JSON.parse(decoder.decode(record.data)) as StoredEvent;
    return wanted.has(event.userId as string) || wanted.has(event.anonymousId as string);
  });
  const deadLetters = await scan(parts.deadLetterCursors, (record) => {
    const { raw } = JSON.parse(decoder.decode(record.data)) as { raw: string };
    return quoted.some((id) => raw.includes(id));
  });
  return { events, deadLetters, decoder };
}

export async function findSubjectInStreams(
  parts: SubjectScanParts,
  ids: readonly string[],
): Promise<SubjectRecords> {
  const found = await subjectMessages(parts, ids);
  const events: LogRecord[] = found.events.map((record) => ({
    offset: record.seq,
    event: JSON.parse(found.decoder.decode(record.data)) as StoredEvent,
  }));
  const deadLetters: DeadLetter[] = [];
  for (const record of found.deadLetters) {
    const letter = await parts.deadLetters.get(record.seq);
    if (letter) deadLetters.push(letter);
  }
  return { events, deadLetters };
}

export async function eraseSubjectFromStreams(
  parts: SubjectScanParts,
  ids: readonly string[],
): Promise<{ events: number; deadLetters: number }> {
  const found = await subjectMessages(parts, ids);
  for (const record of found.events)
    await parts.jsm.streams.deleteMessage(parts.layout.eventStream, record.seq, true);
  for (const record of found.deadLetters)
    await parts.jsm.streams.deleteMessage(parts.layout.deadLetterStream, record.seq, true);
  return { events: found.events.length, deadLetters: found.deadLetters.length };
}
