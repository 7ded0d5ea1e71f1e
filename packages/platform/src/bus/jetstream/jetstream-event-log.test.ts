/**
 * The JetStream event log against a real NATS server (`DEEPREF_NATS_URL`, default 127.0.0.1:4222): the EventLog
 * contract, then what is JetStream's own. Each test works in streams of its own (random names) and deletes them.
 * Without a server the tests skip, except under `DEEPREF_REQUIRE_SERVICES=1` (CI), where they fail.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection, nanos } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeWithService } from '../../testing/services.ts';
import { describeEventLogContract, storedEvent } from '../event-log.contract.ts';
import type { AppendOutcome } from '../event-log.ts';
import { type JetStreamEventLogOptions, openJetStreamEventLog } from './jetstream-event-log.ts';
import { dedupKey } from './jetstream-layout.ts';
import { type JetStreamTestLog, jetStreamTestLog, natsReach, natsUrl } from './nats-test-server.ts';

const reach = await natsReach();

let admin: NatsConnection;
let jsm: JetStreamManager;

describeWithService(reach, 'JetStreamEventLog', () => {
  beforeAll(async () => {
    admin = await connect({ servers: natsUrl });
    jsm = await jetstreamManager(admin);
  });

  afterAll(async () => {
    await admin?.close();
  });

  describeEventLogContract('jetstream', async (options = {}) => {
    const test = jetStreamTestLog({ maxPendingEvents: options.maxPendingEvents ?? 10_000 });
    return { log: await test.open(), reopen: () => test.open(), dispose: () => test.dispose() };
  });

  describe('on JetStream', () => {
    let tests: JetStreamTestLog[] = [];
    function newTestLog(base?: JetStreamEventLogOptions): JetStreamTestLog {
      const test = jetStreamTestLog(base);
      tests.push(test);
      return test;
    }

    afterEach(async () => {
      for (const test of tests) await test.dispose();
      tests = [];
    });

    it('creates one file-stored stream with a subject per partition, and its dead letters and buckets beside it', async () => {
      const test = newTestLog({ partitions: 3, msgIdWindowMs: 90_000, dedupWindowDays: 5 });
      await test.open();
      const { config } = await jsm.streams.info(test.stream);
      expect(config).toMatchObject({
        subjects: [`${test.subjectPrefix}.0`, `${test.subjectPrefix}.1`, `${test.subjectPrefix}.2`],
        storage: 'file',
        num_replicas: 1,
        duplicate_window: nanos(90_000),
      });
      expect((await jsm.streams.info(`${test.stream}_DEAD_LETTERS`)).config).toMatchObject({
        subjects: [`${test.subjectPrefix}.dead-letters.*`],
        storage: 'file',
      });
      expect((await jsm.streams.info(`KV_${test.stream}_SEEN`)).config).toMatchObject({
        subjects: [`$KV.${test.stream}_SEEN.>`],
        max_age: nanos(5 * 86_400_000),
        max_msgs_per_subject: 1,
        storage: 'file',
      });
      expect((await jsm.streams.info(`KV_${test.stream}_OFFSETS`)).config.max_age).toBe(0);
    });

    it('refuses to open its stream with another partition count', async () => {
      const test = newTestLog({ partitions: 4 });
      await test.open();
      await expect(test.open({ partitions: 6 })).rejects.toMatchObject({
        code: 'DEEPREF_EVENT_LOG_MISMATCH',
        message: expect.stringContaining(
          `The JetStream stream ${test.stream} does not match this configuration: it has the subjects ` +
            `${test.subjectPrefix}.0, ${test.subjectPrefix}.1, ${test.subjectPrefix}.2, ${test.subjectPrefix}.3 (4 partitions)`,
        ),
      });
    });

    it('passes on the server’s refusal of more replicas than it has', async () => {
      const test = newTestLog();
      await expect(test.open({ replicas: 3 })).rejects.toThrow(
        'replicas > 1 not supported in non-clustered mode',
      );
    });

    it('says which servers it could not reach', async () => {
      await expect(openJetStreamEventLog({ servers: '127.0.0.1:1', timeoutMs: 1_000 })).rejects.toMatchObject(
        {
          code: 'DEEPREF_EVENT_LOG_UNAVAILABLE',
          statusCode: 503,
          message: expect.stringMatching(
            /^The event log on NATS JetStream \(127\.0\.0\.1:1\) is not available: /,
          ),
        },
      );
    });

    it('reports a Nats-Msg-Id duplicate that a dead process stored but never marked, and marks it', async () => {
      const test = newTestLog({ partitions: 1 });
      const log = await test.open();
      const id = randomUUID();
      // What an ingest process leaves behind when it dies after JetStream's ack and before the mark.
      const js = jetstream(admin);
      const ack = await js.publish(`${test.subjectPrefix}.0`, JSON.stringify(storedEvent(id)), {
        msgID: dedupKey(id),
      });
      expect(await log.append({ events: [storedEvent(id.toUpperCase())], deadLetters: [] })).toEqual([
        { status: 'duplicate' },
      ]);
      expect(await log.head()).toBe(ack.seq);
      const mark = await jsm.direct.getMessage(`KV_${test.stream}_SEEN`, {
        last_by_subj: `$KV.${test.stream}_SEEN.${dedupKey(id)}`,
      });
      expect(mark?.string()).toBe(String(ack.seq));
    });

    it('remembers an id past JetStream’s duplicate window through its seen-ids bucket, and only through it', async () => {
      const test = newTestLog({ msgIdWindowMs: 100 });
      const log = await test.open();
      const id = randomUUID();
      await log.append({ events: [storedEvent(id)], deadLetters: [] });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await log.append({ events: [storedEvent(id)], deadLetters: [] })).toEqual([
        { status: 'duplicate' },
      ]);
      // Without its mark (a crash between ack and mark, then a retry after the window) it is stored again:
      // the residual window the docs name. Stored twice, never lost.
      await jsm.streams.purge(`KV_${test.stream}_SEEN`, {
        filter: `$KV.${test.stream}_SEEN.${dedupKey(id)}`,
      });
      expect(await log.append({ events: [storedEvent(id)], deadLetters: [] })).toEqual([
        { status: 'accepted', offset: 2 },
      ]);
    });

    it('marks nothing seen when JetStream refuses the events: the retry is stored', async () => {
      const test = newTestLog();
      const log = await test.open();
      await log.append({ events: [storedEvent(randomUUID())], deadLetters: [] });
      const { config } = await jsm.streams.info(test.stream);
      await jsm.streams.update(test.stream, { ...config, max_msgs: 1, discard: 'new' as never });
      const batch = { events: [storedEvent(randomUUID()), storedEvent(randomUUID())], deadLetters: [] };
      await expect(log.append(batch)).rejects.toMatchObject({
        code: 'DEEPREF_EVENT_LOG_UNAVAILABLE',
        statusCode: 503,
        retryAfter: 1,
        message: expect.stringContaining('maximum messages exceeded'),
      });
      await jsm.streams.update(test.stream, { ...config, max_msgs: -1 });
      expect(await log.append(batch)).toEqual([
        { status: 'accepted', offset: 2 },
        { status: 'accepted', offset: 3 },
      ]);
    });

    it('keeps appending across a dropped connection: what it acknowledged is there once', async () => {
      const test = newTestLog();
      const nats = new URL(natsUrl.includes('://') ? natsUrl : `nats://${natsUrl}`);
      // A proxy in front of the server, whose connections the test cuts.
      const sockets = new Set<net.Socket>();
      const proxy = net.createServer((client) => {
        const upstream = net.connect(Number(nats.port || 4222), nats.hostname);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => socket.destroy());
        }
        client.pipe(upstream).pipe(client);
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      try {
        const port = (proxy.address() as net.AddressInfo).port;
        const log = await test.open({ servers: `127.0.0.1:${port}`, timeoutMs: 1_000 });
        const before = [storedEvent(randomUUID()), storedEvent(randomUUID())];
        await log.append({ events: before, deadLetters: [] });
        for (const socket of sockets) socket.destroy();
        // An append sent before the client noticed the drop is lost with the socket and refused; a client retries.
        const after = [storedEvent(randomUUID()), storedEvent(randomUUID())];
        let outcomes: AppendOutcome[] | undefined;
        for (let attempt = 1; outcomes === undefined; attempt++) {
          outcomes = await log.append({ events: after, deadLetters: [] }).catch((error: unknown) => {
            expect(error).toMatchObject({ code: 'DEEPREF_EVENT_LOG_UNAVAILABLE' });
            if (attempt === 5) throw error;
            return undefined;
          });
        }
        expect((await log.read(0, 10)).map((r) => r.event.eventId)).toEqual(
          [...before, ...after].map((e) => e.eventId),
        );
        expect(await log.head()).toBe(4);
        await log.close();
      } finally {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => proxy.close(resolve));
      }
    });

    it('reads on through one consumer per reader, and removes it on close', async () => {
      const test = newTestLog({ partitions: 2 });
      const log = await test.open();
      await log.append({
        events: Array.from({ length: 20 }, (_, i) => storedEvent(randomUUID(), { anonymousId: `anon-${i}` })),
        deadLetters: [],
      });
      let after = 0;
      for (let page = await log.read(0, 3); page.length > 0; page = await log.read(after, 3))
        after = page.at(-1)!.offset;
      expect(after).toBe(20);
      const consumers = async () => (await jsm.consumers.list(test.stream).next()).length;
      expect(await consumers()).toBe(1);
      await log.read(0, 1, 0);
      await log.read(0, 1, 1);
      expect(await consumers()).toBe(3);
      await log.close();
      expect(await consumers()).toBe(0);
    });
  });
});
