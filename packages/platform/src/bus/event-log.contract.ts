/**
 * The behaviour every `EventLog` adapter promises, as one suite that each adapter's test file runs with its own
 * fixture: order and offsets, dedup by event id, dead letters, consumer offsets, partitions, overload and close.
 */
import { randomUUID } from 'node:crypto';
import type { StoredEvent } from '@deepref/schema';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeeprefError } from '../errors.ts';
import { type AppendOutcome, type DeadLetterInput, type EventLog, readRawRecords } from './event-log.ts';

export interface EventLogFixture {
  log: EventLog;
  /** Opens the same log again, as a restarted process would; the test closes the earlier one first. */
  reopen(): Promise<EventLog>;
  /** Closes whatever it opened and removes what the test left behind. */
  dispose(): Promise<void>;
}

export interface EventLogFixtureOptions {
  maxPendingEvents?: number;
}

export function storedEvent(eventId: string, overrides: Partial<StoredEvent> = {}): StoredEvent {
  return {
    eventId,
    type: 'track',
    eventName: 'page_view',
    timestamp: '2025-03-01T11:59:59.500Z',
    originalTimestamp: '2025-03-01T11:59:58.000Z',
    receivedAt: '2025-03-01T12:00:00.000Z',
    anonymousId: 'anon-1',
    sessionId: 'session-1',
    properties: { path: '/pricing', value: 42 },
    context: { page: { url: 'https://example.com/pricing' }, locale: 'en-GB' },
    sourceId: 'web',
    device: { browser: 'Firefox', os: 'Linux', deviceType: 'desktop' },
    ...overrides,
  };
}

export function deadLetter(overrides: Partial<DeadLetterInput> = {}): DeadLetterInput {
  return {
    reason: 'schema_violation',
    message: '/properties must be object',
    raw: '{"event":"x","properties":3}',
    sourceId: 'web',
    receivedAt: '2025-03-01T12:00:00.000Z',
    ...overrides,
  };
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

const offsetsOf = (outcomes: AppendOutcome[]) =>
  outcomes.map((o) => (o.status === 'accepted' ? o.offset : 0));

export function describeEventLogContract(
  name: string,
  open: (options?: EventLogFixtureOptions) => Promise<EventLogFixture>,
): void {
  describe(`EventLog contract: ${name}`, () => {
    let fixtures: EventLogFixture[] = [];

    async function openLog(
      options?: EventLogFixtureOptions,
    ): Promise<{ log: EventLog; fixture: EventLogFixture }> {
      const fixture = await open(options);
      fixtures.push(fixture);
      return { log: fixture.log, fixture };
    }

    beforeEach(() => {
      fixtures = [];
    });

    afterEach(async () => {
      for (const fixture of fixtures) await fixture.dispose();
    });

    it('reads back what it appended, in order, with exact values', async () => {
      const { log } = await openLog();
      expect(await log.head()).toBe(0);
      const events = [
        storedEvent(randomUUID()),
        storedEvent(randomUUID(), {
          eventName: 'signup',
          userId: 'u-7',
          properties: { plan: 'pro', seats: 3 },
        }),
        storedEvent('not-a-uuid', { ip: '203.0.113.0' }),
      ];
      expect(await log.append({ events, deadLetters: [] })).toEqual([
        { status: 'accepted', offset: 1 },
        { status: 'accepted', offset: 2 },
        { status: 'accepted', offset: 3 },
      ]);
      expect(await log.read(0, 10)).toEqual(events.map((event, i) => ({ offset: i + 1, event })));
      expect(await log.read(1, 1)).toEqual([{ offset: 2, event: events[1] }]);
      expect(await log.read(3, 10)).toEqual([]);
      expect(await log.head()).toBe(3);
    });

    it('reads as JSON text what read gives, JSON.stringify of each event', async () => {
      const { log } = await openLog();
      const events = [
        storedEvent(randomUUID(), { properties: { big: 1e21, text: 'é😀\u0000' } }),
        storedEvent(randomUUID()),
      ];
      await log.append({ events, deadLetters: [] });
      const raw = await readRawRecords(log, 0, 10);
      expect(raw).toEqual(
        (await log.read(0, 10)).map(({ offset, event }) => ({ offset, body: JSON.stringify(event) })),
      );
      expect(await readRawRecords(log, 1, 10)).toEqual(raw.slice(1));
    });

    it('gives later appends higher offsets, concurrent or not, and across a reopen', async () => {
      const { log, fixture } = await openLog();
      const first = await Promise.all(
        [1, 2, 3].map(() => log.append({ events: [storedEvent(randomUUID())], deadLetters: [] })),
      );
      const second = await log.append({ events: [storedEvent(randomUUID())], deadLetters: [] });
      await log.close();
      const reopened = await fixture.reopen();
      const third = await reopened.append({ events: [storedEvent(randomUUID())], deadLetters: [] });
      expect(offsetsOf([...first.flat(), ...second, ...third])).toEqual([1, 2, 3, 4, 5]);
      expect(await reopened.head()).toBe(5);
    });

    describe('deduplication', () => {
      it('stores an id repeated within one batch once', async () => {
        const { log } = await openLog();
        const id = randomUUID();
        const outcomes = await log.append({
          events: [storedEvent(id), storedEvent(id, { eventName: 'second' })],
          deadLetters: [],
        });
        expect(outcomes).toEqual([{ status: 'accepted', offset: 1 }, { status: 'duplicate' }]);
        expect((await log.read(0, 10)).map((r) => r.event.eventName)).toEqual(['page_view']);
      });

      it('stores a retried event once, also after a reopen', async () => {
        const { log, fixture } = await openLog();
        const id = randomUUID();
        await log.append({ events: [storedEvent(id)], deadLetters: [] });
        expect(await log.append({ events: [storedEvent(id)], deadLetters: [] })).toEqual([
          { status: 'duplicate' },
        ]);
        await log.close();
        const reopened = await fixture.reopen();
        expect(await reopened.append({ events: [storedEvent(id)], deadLetters: [] })).toEqual([
          { status: 'duplicate' },
        ]);
        expect(await reopened.head()).toBe(1);
      });

      it('accepts an id once among concurrent appends: the first one called', async () => {
        const { log } = await openLog();
        const id = randomUUID();
        const results = await Promise.all(
          [0, 1, 2, 3].map(() => log.append({ events: [storedEvent(id)], deadLetters: [] })),
        );
        expect(results.flat()).toEqual([
          { status: 'accepted', offset: 1 },
          { status: 'duplicate' },
          { status: 'duplicate' },
          { status: 'duplicate' },
        ]);
        expect(await log.read(0, 10)).toHaveLength(1);
      });

      it('treats a uuid case-insensitively and any other id as exact text', async () => {
        const { log } = await openLog();
        const id = randomUUID();
        const outcomes = await log.append({
          events: [
            storedEvent(id),
            storedEvent(id.toUpperCase()),
            storedEvent('Order-1'),
            storedEvent('order-1'),
          ],
          deadLetters: [],
        });
        expect(outcomes.map((o) => o.status)).toEqual(['accepted', 'duplicate', 'accepted', 'accepted']);
      });

      it('accepts each id once, with its offset, whatever the mix of concurrent and sequential appends', async () => {
        const { log } = await openLog();
        let run = 0;
        await fc.assert(
          fc.asyncProperty(
            fc.array(
              fc.record({
                concurrent: fc.boolean(),
                batches: fc.array(fc.array(fc.nat(5), { maxLength: 5 }), { minLength: 1, maxLength: 5 }),
              }),
              { maxLength: 6 },
            ),
            async (steps) => {
              // Fresh ids for each run, half of them uuids, some with characters a key cannot hold as they are.
              const pool = Array.from({ length: 6 }, (_, i) =>
                i % 2 ? randomUUID() : `run ${++run}.${i}/é`,
              );
              const accepted = new Map<string, number>();
              for (const { concurrent, batches } of steps) {
                const appendOne = (ids: string[]) =>
                  log.append({ events: ids.map((id) => storedEvent(id)), deadLetters: [] });
                const idsOf = batches.map((batch) => batch.map((i) => pool[i]!));
                const results: AppendOutcome[][] = [];
                if (concurrent) results.push(...(await Promise.all(idsOf.map(appendOne))));
                else for (const ids of idsOf) results.push(await appendOne(ids));
                idsOf.flat().forEach((id, n) => {
                  const outcome = results.flat()[n]!;
                  if (accepted.has(id)) expect(outcome).toEqual({ status: 'duplicate' });
                  else {
                    expect(outcome.status).toBe('accepted');
                    if (outcome.status === 'accepted') accepted.set(id, outcome.offset);
                  }
                });
              }
              const records = await log.read(0, 100_000);
              for (const [id, offset] of accepted) {
                expect(records.filter((r) => r.event.eventId === id).map((r) => r.offset)).toEqual([offset]);
              }
            },
          ),
          { numRuns: 25 },
        );
      });
    });

    describe('refusals', () => {
      it('refuses a batch it cannot encode without failing the others', async () => {
        const { log } = await openLog();
        const bad = storedEvent(randomUUID(), { properties: { big: 10n } });
        const good = log.append({ events: [storedEvent(randomUUID())], deadLetters: [] });
        expect(await caught(log.append({ events: [bad], deadLetters: [] }))).toBeInstanceOf(TypeError);
        const incomplete = { ...deadLetter(), raw: undefined } as unknown as DeadLetterInput;
        const refused = await caught(
          log.append({ events: [storedEvent(randomUUID())], deadLetters: [incomplete] }),
        );
        expect(refused).toMatchObject({ message: 'A dead letter has no raw.' });
        expect(await good).toEqual([{ status: 'accepted', offset: 1 }]);
        expect(await log.head()).toBe(1);
      });

      it('refuses at once with DEEPREF_OVERLOADED past maxPendingEvents, and takes batches again once acked', async () => {
        const { log } = await openLog({ maxPendingEvents: 100 });
        const batch = () => ({
          events: Array.from({ length: 60 }, () => storedEvent(randomUUID())),
          deadLetters: [],
        });
        const first = log.append(batch());
        const error = await caught(log.append(batch()));
        expect(error).toBeInstanceOf(DeeprefError);
        expect(error).toMatchObject({ code: 'DEEPREF_OVERLOADED', statusCode: 503, retryAfter: 1 });
        expect(await first).toHaveLength(60);
        expect(await log.append(batch())).toHaveLength(60);
      });

      it('takes a batch larger than the whole buffer when nothing else is pending', async () => {
        const { log } = await openLog({ maxPendingEvents: 10 });
        const events = Array.from({ length: 25 }, () => storedEvent(randomUUID()));
        expect(await log.append({ events, deadLetters: [] })).toHaveLength(25);
      });

      it('flushes pending appends on close, then refuses with DEEPREF_SHUTTING_DOWN', async () => {
        const { log, fixture } = await openLog();
        const pending = log.append({ events: [storedEvent('last-one')], deadLetters: [] });
        await log.close();
        expect(await pending).toEqual([{ status: 'accepted', offset: 1 }]);
        const error = await caught(log.append({ events: [storedEvent(randomUUID())], deadLetters: [] }));
        expect(error).toMatchObject({ code: 'DEEPREF_SHUTTING_DOWN', statusCode: 503, retryAfter: 1 });
        const reopened = await fixture.reopen();
        expect((await reopened.read(0, 10)).map((r) => r.event.eventId)).toEqual(['last-one']);
      });
    });

    describe('dead letters', () => {
      it('stores dead letters with the events of their batch and reads them back exactly', async () => {
        const { log } = await openLog();
        const letters = [
          deadLetter({ eventId: 'e-1', eventName: 'signup' }),
          deadLetter({ reason: 'payload_format', message: 'not JSON', raw: '{"a":', sourceId: 'server' }),
        ];
        expect(await log.append({ events: [storedEvent(randomUUID())], deadLetters: letters })).toEqual([
          { status: 'accepted', offset: 1 },
        ]);
        expect(await log.deadLetters.list()).toEqual([
          { id: 1, ...letters[0] },
          { id: 2, ...letters[1] },
        ]);
        expect(await log.deadLetters.get(2)).toEqual({ id: 2, ...letters[1] });
        expect(await log.deadLetters.get(3)).toBeUndefined();
      });

      it('stores a batch of only dead letters', async () => {
        const { log } = await openLog();
        expect(await log.append({ events: [], deadLetters: [deadLetter()] })).toEqual([]);
        expect(await log.deadLetters.countByReason()).toEqual({ schema_violation: 1 });
        expect(await log.head()).toBe(0);
      });

      it('lists by reason, pending state, after an id and up to a limit; counts by reason', async () => {
        const { log } = await openLog();
        const reasons = [
          'schema_violation',
          'size_violation',
          'schema_violation',
          'unknown_event',
          'schema_violation',
        ] as const;
        await log.append({ events: [], deadLetters: reasons.map((reason) => deadLetter({ reason })) });
        await log.deadLetters.markReplayed(1, 'accepted');
        const ids = async (query: Parameters<typeof log.deadLetters.list>[0]) =>
          (await log.deadLetters.list(query)).map((d) => d.id);
        expect(await ids({})).toEqual([1, 2, 3, 4, 5]);
        expect(await ids({ reason: 'schema_violation' })).toEqual([1, 3, 5]);
        expect(await ids({ reason: 'schema_violation', pending: true })).toEqual([3, 5]);
        expect(await ids({ pending: true, afterId: 3 })).toEqual([4, 5]);
        expect(await ids({ pending: true, limit: 2 })).toEqual([2, 3]);
        expect(await ids({ limit: 2, afterId: 1 })).toEqual([2, 3]);
        expect(await log.deadLetters.countByReason()).toEqual({
          schema_violation: 3,
          size_violation: 1,
          unknown_event: 1,
        });
      });

      it('marks a dead letter replayed with its outcome, and says when there is no such letter', async () => {
        const { log } = await openLog();
        await log.append({ events: [], deadLetters: [deadLetter()] });
        await log.deadLetters.markReplayed(1, 'duplicate');
        const replayed = await log.deadLetters.get(1);
        expect(replayed?.replayOutcome).toBe('duplicate');
        expect(Number.isNaN(Date.parse(replayed?.replayedAt ?? ''))).toBe(false);
        const error = await caught(log.deadLetters.markReplayed(99, 'accepted'));
        expect(error).toMatchObject({ code: 'DEEPREF_NOT_FOUND', message: 'Dead letter 99 was not found.' });
      });
    });

    describe('consumer offsets', () => {
      it('keeps each consumer its own committed offset, across a reopen', async () => {
        const { log, fixture } = await openLog();
        expect(await log.committedOffset('warehouse')).toBe(0);
        await log.commitOffset('warehouse', 10);
        await log.commitOffset('lake', 4);
        await log.commitOffset('warehouse', 12);
        await log.commitOffset('stream job: sessions/eu', 7);
        expect(await log.committedOffset('warehouse')).toBe(12);
        const expected = { lake: 4, 'stream job: sessions/eu': 7, warehouse: 12 };
        expect(await log.consumerOffsets()).toEqual(expected);
        await log.close();
        expect(await (await fixture.reopen()).consumerOffsets()).toEqual(expected);
      });
    });

    describe('partitions', () => {
      it('covers every record exactly once across its partitions, each ascending, each user in one', async () => {
        const { log } = await openLog();
        const users = Array.from({ length: 12 }, (_, i) =>
          i % 3 ? { userId: `user-${i}` } : { anonymousId: `anon-${i}` },
        );
        const appended: { eventId: string; user: string }[] = [];
        for (let round = 0; round < 4; round++) {
          const events = users.map((user, i) =>
            storedEvent(randomUUID(), { ...user, properties: { round, i } }),
          );
          await log.append({ events, deadLetters: [] });
          for (const event of events)
            appended.push({ eventId: event.eventId, user: event.userId ?? event.anonymousId! });
        }
        const all = await log.read(0, 1_000);
        expect(all.map((r) => r.event.eventId)).toEqual(appended.map((a) => a.eventId));

        const partitionOfUser = new Map<string, number>();
        const seen: number[] = [];
        for (let p = 0; p < log.partitions; p++) {
          // Read in small steps, as a worker would, to go through the read position several times.
          const records = [];
          for (
            let page = await log.read(0, 5, p);
            page.length > 0;
            page = await log.read(page.at(-1)!.offset, 5, p)
          ) {
            records.push(...page);
          }
          const offsets = records.map((r) => r.offset);
          expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
          for (const { event } of records) {
            const user = event.userId ?? event.anonymousId!;
            expect(partitionOfUser.get(user) ?? p).toBe(p);
            partitionOfUser.set(user, p);
          }
          seen.push(...offsets);
        }
        expect(seen.sort((a, b) => a - b)).toEqual(all.map((r) => r.offset));
        // Per user, the partition holds the user's events in the order they were appended.
        for (const user of partitionOfUser.keys()) {
          const inPartition = (await log.read(0, 1_000, partitionOfUser.get(user)))
            .filter((r) => (r.event.userId ?? r.event.anonymousId) === user)
            .map((r) => r.event.eventId);
          expect(inPartition).toEqual(appended.filter((a) => a.user === user).map((a) => a.eventId));
        }
      });

      it('refuses a partition it does not have', async () => {
        const { log } = await openLog();
        for (const partition of [-1, log.partitions, 0.5]) {
          await expect(log.read(0, 10, partition)).rejects.toThrow(
            `Partition ${partition} does not exist: this event log has partitions 0 to ${log.partitions - 1}.`,
          );
        }
      });
    });
  });
}
