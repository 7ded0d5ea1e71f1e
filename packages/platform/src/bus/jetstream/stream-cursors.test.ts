/**
 * Stream cursors against a real NATS server (`DEEPREF_NATS_URL`, default 127.0.0.1:4222), each test on a stream of
 * its own. Without a server the tests skip, except under `DEEPREF_REQUIRE_SERVICES=1` (CI), where they fail.
 */
import { randomUUID } from 'node:crypto';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, Empty, headers, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeWithService } from '../../testing/services.ts';
import { natsReach, natsUrl } from './nats-test-server.ts';
import { StreamCursors } from './stream-cursors.ts';

const reach = await natsReach();

describeWithService(reach, 'StreamCursors', () => {
  let admin: NatsConnection;
  let jsm: JetStreamManager;
  let js: JetStreamClient;
  let stream: string;
  let prefix: string;
  let cursors: StreamCursors;
  /** Pulls still to be answered "no messages" whatever the stream holds, as a consumer not yet told of them does. */
  let untoldPulls = 0;

  beforeAll(async () => {
    admin = await connect({ servers: natsUrl });
    jsm = await jetstreamManager(admin);
    js = jetstream(admin);
  });

  afterAll(async () => {
    await admin?.close();
  });

  beforeEach(async () => {
    stream = `DEEPREF_TEST_CURSORS_${randomUUID().slice(0, 8)}`;
    prefix = `deepref-test.${stream}`;
    await jsm.streams.add({ name: stream, subjects: [`${prefix}.*`], allow_direct: true });
    untoldPulls = 0;
    const connection = new Proxy(admin, {
      get(target, property) {
        if (property === 'publish') {
          return (subject: string, data: unknown, options?: { reply?: string }) => {
            if (untoldPulls > 0 && subject.startsWith('$JS.API.CONSUMER.MSG.NEXT.') && options?.reply) {
              untoldPulls--;
              target.publish(options.reply, Empty, { headers: headers(404, 'No Messages') });
              return;
            }
            target.publish(subject, data as string, options);
          };
        }
        const value = Reflect.get(target, property);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    cursors = new StreamCursors(connection, jsm, stream, { maxIdle: 4, timeoutMs: 5_000 });
  });

  afterEach(async () => {
    await cursors.close();
    await jsm.streams.delete(stream);
  });

  const append = async (token: string) => (await js.publish(`${prefix}.${token}`, token)).seq;
  const read = async (filter: string | undefined, after: number) =>
    (await cursors.read(filter === undefined ? undefined : `${prefix}.${filter}`, after, 10)).map(
      (record) => record.seq,
    );
  const consumers = async () => (await jsm.consumers.list(stream).next()).length;

  it('reads on where its last read ended, through the one consumer parked there', async () => {
    await append('a');
    expect(await read(undefined, 0)).toEqual([1]);
    expect(await read(undefined, 1)).toEqual([]);
    await append('a');
    await append('b');
    expect(await read(undefined, 1)).toEqual([2, 3]);
    expect(await consumers()).toBe(1);
  });

  it('reads what the parked consumer was not yet told of through a new one', async () => {
    await append('a');
    await append('b');
    expect(await read('a', 0)).toEqual([1]);
    await append('b');
    const next = await append('a');
    untoldPulls = 1;
    expect(await read('a', 1)).toEqual([next]);
    // Only messages of other subjects after it: the short read stands.
    await append('b');
    untoldPulls = 1;
    expect(await read('a', next)).toEqual([]);
    await append('a');
    expect(await read('a', next)).toEqual([next + 2]);
  });
});
