/**
 * Erasing a subject from the JetStream event log (privacy requests), against a real NATS server: its events (by
 * user or anonymous id, in whichever partition) and the dead letters that name it go, nothing else does, and no
 * sequence number is given out twice. Where the server's store folder is on this machine (`natsStoreDir`), the
 * stream's files are read byte for byte.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { jetStreamStoreFiles, natsStoreDir } from '../../privacy/dsr/store-scan.ts';
import { storedEvent } from '../../storage/test-events.ts';
import { describeWithService } from '../../testing/services.ts';
import type { EventLog } from '../event-log.ts';
import { type JetStreamTestLog, jetStreamTestLog, natsReach } from './nats-test-server.ts';

const reach = await natsReach();

const tag = randomUUID().slice(0, 8);
const marker = (n: number) => `erasure-marker-${n}-${tag}`;
const event = (n: number, who: { userId?: string; anonymousId: string }) => {
  const { userId: _, ...base } = storedEvent(n);
  return { ...base, ...who, properties: { marker: marker(n) } };
};
const deadLetter = (userId: string, n: number) => ({
  reason: 'schema_violation' as const,
  message: 'bad',
  raw: JSON.stringify({ userId, note: marker(n) }),
  sourceId: 's',
  receivedAt: new Date().toISOString(),
});

function filesHolding(files: string[], text: string): string[] {
  return files.filter((file) => fs.readFileSync(file).includes(text));
}

/** JetStream writes a stored message to its block file shortly after the ack: waits until `text` is on disk. */
async function untilOnDisk(stream: string, text: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (filesHolding(jetStreamStoreFiles(stream) ?? [], text).length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${text} never reached the store folder`);
}

describeWithService(reach, 'EventLog.eraseSubject (JetStream)', () => {
  let test: JetStreamTestLog;
  let log: EventLog;

  beforeEach(async () => {
    test = jetStreamTestLog({ partitions: 4 });
    log = await test.open();
  });

  afterEach(() => test.dispose());

  it('removes the subject’s events and dead letters from every partition, and leaves the others', async () => {
    await log.append({
      events: [
        event(1, { anonymousId: 'anon-x' }),
        event(2, { userId: 'user-x', anonymousId: 'anon-x' }),
        event(3, { userId: 'user-y', anonymousId: 'anon-y' }),
        event(4, { userId: 'user-x', anonymousId: 'anon-x2' }),
        // X's anonymous id under another user: another partition than X's own.
        event(5, { userId: 'user-w', anonymousId: 'anon-x' }),
        event(6, { userId: 'user-y', anonymousId: 'anon-y' }),
      ],
      deadLetters: [deadLetter('user-x', 7), deadLetter('user-y', 8)],
    });
    const found = await log.findSubject!(['user-x', 'anon-x']);
    expect(found.events.map((r) => r.offset)).toEqual([1, 2, 4, 5]);
    expect(found.events.map((r) => (r.event.properties as { marker?: string }).marker)).toEqual(
      [1, 2, 4, 5].map(marker),
    );
    expect(found.deadLetters.map((d) => d.raw)).toEqual([deadLetter('user-x', 7).raw]);

    expect(await log.eraseSubject!(['user-x', 'anon-x'])).toEqual({ events: 4, deadLetters: 1 });

    expect((await log.read(0, 100)).map((r) => r.offset)).toEqual([3, 6]);
    expect((await log.deadLetters.list()).map((d) => d.raw)).toEqual([deadLetter('user-y', 8).raw]);
    expect(await log.findSubject!(['user-x', 'anon-x'])).toEqual({ events: [], deadLetters: [] });

    // Sequence numbers go on from the last one given, erased or not.
    const [outcome] = await log.append({ events: [event(9, { anonymousId: 'anon-z' })], deadLetters: [] });
    expect(outcome).toEqual({ status: 'accepted', offset: 7 });
  });

  it('overwrites the erased messages in the stream’s files (where the store folder is readable)', async () => {
    await log.append({
      events: [
        event(1, { userId: 'user-x', anonymousId: 'anon-x' }),
        event(2, { userId: 'user-y', anonymousId: 'anon-y' }),
      ],
      deadLetters: [deadLetter('user-x', 3)],
    });
    const files = jetStreamStoreFiles(test.stream);
    if (files === undefined) {
      console.warn(`The NATS store folder ${natsStoreDir} is not readable here: the byte check is left out.`);
      return;
    }
    for (const n of [1, 2, 3]) await untilOnDisk(test.stream, marker(n));

    expect(await log.eraseSubject!(['user-x'])).toEqual({ events: 1, deadLetters: 1 });

    const after = jetStreamStoreFiles(test.stream)!;
    expect(filesHolding(after, marker(1))).toEqual([]);
    expect(filesHolding(after, marker(3))).toEqual([]);
    expect(filesHolding(after, marker(2)).length).toBeGreaterThan(0);
  });
});
