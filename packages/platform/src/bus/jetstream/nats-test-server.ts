/**
 * The NATS server the JetStream tests run against (`DEEPREF_NATS_URL`, default 127.0.0.1:4222), whether it
 * answers with JetStream on, for `describeWithService`, and event logs on it that no other test shares.
 */
import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { type ServiceReach, warnUnreachable } from '../../testing/services.ts';
import type { EventLog } from '../event-log.ts';
import { type JetStreamEventLogOptions, openJetStreamEventLog } from './jetstream-event-log.ts';
import { jetStreamLayout } from './jetstream-layout.ts';

export const natsUrl = process.env.DEEPREF_NATS_URL || '127.0.0.1:4222';

/** Connects once; warns (once per test file) when the server is missing or runs without JetStream. */
export async function natsReach(): Promise<ServiceReach> {
  let unreachable: string | undefined;
  try {
    const nc = await connect({ servers: natsUrl, timeout: 2_000, maxReconnectAttempts: 0 });
    if (!nc.info?.jetstream) unreachable = 'the server runs without JetStream';
    await nc.close();
  } catch (error) {
    unreachable = (error as Error).message;
  }
  const reach = { service: 'NATS JetStream', url: natsUrl, unreachable };
  warnUnreachable(reach, 'Start it (nats-server -js) or point DEEPREF_NATS_URL at one.');
  return reach;
}

export interface JetStreamTestLog {
  stream: string;
  subjectPrefix: string;
  /** Opens a log on these streams; `options` win over the ones the test log was made with. */
  open(options?: JetStreamEventLogOptions): Promise<EventLog>;
  /** Closes every log it opened and deletes its streams and buckets. */
  dispose(): Promise<void>;
}

/**
 * An event log on streams and buckets of its own (random names), so that tests run side by side and leave nothing
 * on the server. Nothing is created before the first `open`.
 */
export function jetStreamTestLog(base: JetStreamEventLogOptions = {}): JetStreamTestLog {
  const suffix = randomUUID().slice(0, 8);
  const stream = `DEEPREF_TEST_${suffix}`;
  const subjectPrefix = `deepref-test.${suffix}`;
  const opened: EventLog[] = [];
  return {
    stream,
    subjectPrefix,
    async open(options = {}) {
      const log = await openJetStreamEventLog({
        servers: natsUrl,
        stream,
        subjectPrefix,
        ...base,
        ...options,
      });
      opened.push(log);
      return log;
    },
    async dispose() {
      for (const log of opened) await log.close();
      // The names of the streams and buckets depend on the stream's name only.
      const layout = jetStreamLayout(stream, subjectPrefix, 1);
      const buckets = [layout.seenBucket, layout.offsetBucket, layout.replayBucket];
      const nc = await connect({ servers: natsUrl });
      try {
        const jsm = await jetstreamManager(nc);
        const names = [
          layout.eventStream,
          layout.deadLetterStream,
          ...buckets.map((bucket) => `KV_${bucket}`),
        ];
        await Promise.all(names.map((name) => jsm.streams.delete(name).catch(() => false)));
      } finally {
        await nc.close();
      }
    },
  };
}
