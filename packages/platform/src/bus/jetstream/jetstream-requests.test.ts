/**
 * Pipelined JetStream requests against a real NATS server (`DEEPREF_NATS_URL`, default 127.0.0.1:4222), each test on
 * a stream of its own. Without a server the tests skip, except under `DEEPREF_REQUIRE_SERVICES=1` (CI), where they fail.
 */
import { randomUUID } from 'node:crypto';
import { JetStreamApiCodes, type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeWithService } from '../../testing/services.ts';
import { JetStreamRequests } from './jetstream-requests.ts';
import { natsReach, natsUrl } from './nats-test-server.ts';

const reach = await natsReach();

describeWithService(reach, 'JetStreamRequests', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let stream: string;
  let prefix: string;

  beforeAll(async () => {
    nc = await connect({ servers: natsUrl });
    jsm = await jetstreamManager(nc);
  });

  afterAll(async () => {
    await nc?.close();
  });

  beforeEach(async () => {
    stream = `DEEPREF_TEST_REQUESTS_${randomUUID().slice(0, 8)}`;
    prefix = `deepref-test.${stream}`;
    await jsm.streams.add({ name: stream, subjects: [`${prefix}.*`], allow_direct: true });
  });

  afterEach(async () => {
    await jsm.streams.delete(stream);
  });

  it('answers each of many publishes sent at once with its own acknowledgement, in the order sent', async () => {
    const requests = new JetStreamRequests(nc, 5_000);
    const ids = Array.from({ length: 300 }, (_, i) => `id-${i % 200}`);
    const acks = await Promise.all(
      ids.map((id, i) => requests.publish(`${prefix}.${i % 3}`, `body ${i}`, { msgID: id })),
    );
    expect(acks.slice(0, 200).map((ack) => [ack.seq, ack.duplicate ?? false])).toEqual(
      Array.from({ length: 200 }, (_, i) => [i + 1, false]),
    );
    // The second hundred repeat ids of the first: JetStream drops them and names the stored one.
    expect(acks.slice(200).map((ack) => [ack.seq, ack.duplicate])).toEqual(
      Array.from({ length: 100 }, (_, i) => [i + 1, true]),
    );
    const last = await Promise.all([0, 1, 2, 3].map((p) => requests.lastBySubject(stream, `${prefix}.${p}`)));
    expect(last.map((message) => message?.string() ?? null)).toEqual([
      'body 198',
      'body 199',
      'body 197',
      null,
    ]);
  });

  it('passes on JetStream’s refusal of a compare and set', async () => {
    const requests = new JetStreamRequests(nc, 5_000);
    const first = await requests.publish(`${prefix}.k`, 'a', { lastSubjectSequence: 0 });
    await expect(requests.publish(`${prefix}.k`, 'b', { lastSubjectSequence: 0 })).rejects.toMatchObject({
      name: 'JetStreamApiError',
      code: JetStreamApiCodes.StreamWrongLastSequence,
    });
    expect((await requests.publish(`${prefix}.k`, 'b', { lastSubjectSequence: first.seq })).seq).toBe(2);
  });

  it('refuses a subject no stream takes at once, and requests nobody answers after the timeout', async () => {
    const requests = new JetStreamRequests(nc, 300);
    await expect(requests.publish(`deepref-test.nostream.${randomUUID()}`, 'x')).rejects.toThrow(
      /did not take a message on .*: 503/,
    );
    const silent = nc.subscribe(`deepref-test.silent.${stream}`, { callback: () => undefined });
    const outcomes = await Promise.allSettled(
      [1, 2].map(() => requests.publish(`deepref-test.silent.${stream}`, 'x')),
    );
    silent.unsubscribe();
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    expect((outcomes[0] as PromiseRejectedResult).reason.message).toBe(
      'JetStream did not answer within 300 ms.',
    );
  });
});
