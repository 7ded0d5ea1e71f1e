/**
 * Where the JetStream event log keeps each of its parts (streams, subjects, buckets), which partition an event
 * goes to, and how ids and names become bucket keys.
 */
import type { StoredEvent } from '@deepref/schema';
import type { DeadLetterReason } from '../../errors.ts';

export interface JetStreamLayout {
  /** The events: one subject per partition, `<prefix>.0` … `<prefix>.<P-1>`; offsets are its sequence numbers. */
  eventStream: string;
  partitionSubjects: string[];
  /** The dead letters: subject `<prefix>.dead-letters.<reason>`; a dead letter's id is its sequence number. */
  deadLetterStream: string;
  deadLetterSubjects: string;
  /** eventId → offset, for the whole dedup window (Nats-Msg-Id only covers minutes). */
  seenBucket: string;
  /** consumer → committed offset. */
  offsetBucket: string;
  /** dead letter id → replay mark. */
  replayBucket: string;
}

const streamNamePattern = /^[A-Za-z0-9_-]+$/;
const subjectPrefixPattern = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

export function jetStreamLayout(stream: string, subjectPrefix: string, partitions: number): JetStreamLayout {
  if (!streamNamePattern.test(stream)) {
    throw new RangeError(`Stream name ${JSON.stringify(stream)} may hold only letters, digits, - and _.`);
  }
  if (!subjectPrefixPattern.test(subjectPrefix)) {
    throw new RangeError(
      `Subject prefix ${JSON.stringify(subjectPrefix)} must be dot-separated tokens of letters, digits, - and _.`,
    );
  }
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 1024) {
    throw new RangeError(`Partitions must be a whole number from 1 to 1024, not ${partitions}.`);
  }
  return {
    eventStream: stream,
    partitionSubjects: Array.from({ length: partitions }, (_, p) => `${subjectPrefix}.${p}`),
    deadLetterStream: `${stream}_DEAD_LETTERS`,
    deadLetterSubjects: `${subjectPrefix}.dead-letters.*`,
    seenBucket: `${stream}_SEEN`,
    offsetBucket: `${stream}_OFFSETS`,
    replayBucket: `${stream}_REPLAYS`,
  };
}

export function deadLetterSubject(layout: JetStreamLayout, reason: DeadLetterReason): string {
  return layout.deadLetterSubjects.replace(/\*$/, reason);
}

/** The reason a dead-letter subject names. */
export function reasonOfSubject(subject: string): DeadLetterReason {
  return subject.slice(subject.lastIndexOf('.') + 1) as DeadLetterReason;
}

/**
 * The partition of an event: a hash (32-bit FNV-1a over UTF-16 code units) of its userId, else its anonymousId,
 * else its eventId. Fixed for the life of a stream: every process must place a user's events alike.
 */
export function partitionOf(
  event: Pick<StoredEvent, 'userId' | 'anonymousId' | 'eventId'>,
  partitions: number,
): number {
  const subject = event.userId || event.anonymousId || event.eventId;
  let hash = 0x811c9dc5;
  for (let i = 0; i < subject.length; i++) {
    hash ^= subject.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}

const plainKeyPattern = /^[A-Za-z0-9_-]+$/;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A bucket key for any text: itself when it is letters, digits, - and _ only (readable in `nats kv ls`), else `=`
 * and its UTF-8 as base64url (which no plain key starts with, so the two never meet).
 */
export function bucketKey(text: string): string {
  return plainKeyPattern.test(text) ? text : `=${Buffer.from(text, 'utf8').toString('base64url')}`;
}

export function textOfBucketKey(key: string): string {
  return key.startsWith('=') ? Buffer.from(key.slice(1), 'base64url').toString('utf8') : key;
}

/** The dedup key (and Nats-Msg-Id) of an event id: a uuid in lowercase, so that its case does not matter. */
export function dedupKey(eventId: string): string {
  return bucketKey(eventId.length === 36 && uuidPattern.test(eventId) ? eventId.toLowerCase() : eventId);
}
