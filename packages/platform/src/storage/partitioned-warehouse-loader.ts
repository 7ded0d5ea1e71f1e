/**
 * The warehouse loader of a log with several partitions shared by several workers (JetStream): one consumer per
 * partition this worker leases, named `warehouse.p<n>`, whose offset the warehouse stores with the rows of each
 * load, so each partition is loaded exactly once whoever loads it. Workers split the partitions evenly: each
 * counts the live workers (a membership lease each) and takes free partitions up to its share, sheds those above
 * it, and takes over the partitions of a worker that died once their leases expire.
 */
import type { EventLog } from '../bus/event-log.ts';
import type { Leasing } from '../bus/leasing.ts';
import type { Metrics } from '../ops/metrics.ts';
import { type LogConsumer, progressToMetrics, runConsumer } from './log-consumer.ts';
import type { Warehouse } from './warehouse.ts';
import { warehouseConsumer } from './warehouse-loader.ts';

export interface PartitionedLoaderOptions {
  log: EventLog;
  warehouse: Warehouse;
  /** Leases on the log's partitions. */
  partitions: Leasing;
  /** Membership: each live worker holds one slot of these, so that workers know how many share the partitions. */
  members: Leasing;
  /** Most membership slots, so most workers (default 256). */
  maxMembers?: number;
  metrics?: Metrics;
  batchSize?: number;
  idleMs?: number;
  /** How often leases are checked and the share recomputed (default 1,000 ms). */
  rebalanceMs?: number;
  onError?: (error: unknown, consumer: string) => void;
}

export interface PartitionedLoader {
  /** The partitions this worker loads now, ascending. */
  readonly partitions: number[];
  /** Loads what the log holds now in the partitions held (after taking the free ones). */
  drain(): Promise<void>;
  stop(options?: { drain?: boolean }): Promise<void>;
}

export function partitionConsumer(partition: number): string {
  return `${warehouseConsumer}.p${partition}`;
}

export async function startPartitionedLoader(options: PartitionedLoaderOptions): Promise<PartitionedLoader> {
  const { log, warehouse, partitions: leases, members } = options;
  const count = log.partitions;
  const maxMembers = options.maxMembers ?? 256;
  const onError =
    options.onError ??
    ((error, consumer) => console.error(`deepref: ${consumer} failed and will retry:`, error));
  const consumers = new Map<number, LogConsumer>();
  let memberSlot: number | undefined;
  let stopped = false;

  function consumerOf(partition: number): LogConsumer {
    const name = partitionConsumer(partition);
    return runConsumer({
      name,
      log: { read: (after, limit) => log.read(after, limit, partition), head: () => log.head() },
      batchSize: options.batchSize ?? 20_000,
      idleMs: options.idleMs ?? 200,
      startAfter: () => warehouse.loadedOffset(name),
      handle: async (records) => {
        await warehouse.load(name, records);
        await log.commitOffset(name, records.at(-1)!.offset);
      },
      ...(options.metrics ? { onProgress: progressToMetrics(options.metrics) } : {}),
      onError,
    });
  }

  async function join(): Promise<void> {
    for (let slot = 0; memberSlot === undefined && slot < maxMembers; slot++) {
      if (await members.acquire(slot)) memberSlot = slot;
    }
    if (memberSlot === undefined) throw new Error(`more than ${maxMembers} workers share the event log`);
  }

  async function liveMembers(): Promise<number> {
    // Slots are taken lowest first, so the live ones sit near the bottom; a run of 8 free slots ends the count.
    let live = 0;
    let free = 0;
    for (let slot = 0; slot < maxMembers && free < 8; slot++) {
      if ((await members.holder(slot)) === undefined) free++;
      else {
        live++;
        free = 0;
      }
    }
    return Math.max(1, live);
  }

  async function rebalance(): Promise<void> {
    if (stopped) return;
    if (memberSlot === undefined || (await members.holder(memberSlot)) !== members.owner) {
      memberSlot = undefined;
      await join();
    }
    const holders = await Promise.all(Array.from({ length: count }, (_, p) => leases.holder(p)));
    // Lost while stalled: another worker holds it now.
    for (const [partition, consumer] of consumers) {
      if (holders[partition] !== leases.owner) {
        consumers.delete(partition);
        await consumer.stop();
      }
    }
    const share = Math.ceil(count / (await liveMembers()));
    // Above the share (a worker joined): give the highest partitions back, after their batch in flight.
    for (const partition of [...consumers.keys()].sort((a, b) => b - a)) {
      if (consumers.size <= share) break;
      const consumer = consumers.get(partition)!;
      consumers.delete(partition);
      await consumer.stop();
      await leases.release(partition);
    }
    for (let partition = 0; partition < count && consumers.size < share; partition++) {
      if (consumers.has(partition) || holders[partition] !== undefined) continue;
      if (!(await leases.acquire(partition))) continue;
      const consumer = consumerOf(partition);
      consumers.set(partition, consumer);
      consumer.start();
    }
  }

  let turn: Promise<void> = Promise.resolve();
  const step = () => {
    const next = turn.then(rebalance);
    turn = next.catch((error) => onError(error, warehouseConsumer));
    return next;
  };
  await step();
  const timer = setInterval(step, options.rebalanceMs ?? 1_000);
  timer.unref();

  return {
    get partitions() {
      return [...consumers.keys()].sort((a, b) => a - b);
    },
    async drain() {
      await step();
      for (const consumer of consumers.values()) await consumer.drain();
    },
    async stop(stopOptions = {}) {
      stopped = true;
      clearInterval(timer);
      await turn;
      for (const [partition, consumer] of consumers) {
        await consumer.stop(stopOptions);
        await leases.release(partition);
      }
      consumers.clear();
      if (memberSlot !== undefined) await members.release(memberSlot);
    },
  };
}

/**
 * The offset up to which the warehouse holds the whole log when each partition is loaded by its own consumer: the
 * lowest of the partitions' loaded offsets, counting a partition with nothing left to load as at the head.
 */
export async function partitionedLoadedOffset(log: EventLog, warehouse: Warehouse): Promise<number> {
  const head = await log.head();
  let lowest = head;
  for (let partition = 0; partition < log.partitions; partition++) {
    const loaded = await warehouse.loadedOffset(partitionConsumer(partition));
    const pending = await log.read(loaded, 1, partition);
    if (pending.length > 0) lowest = Math.min(lowest, loaded);
  }
  return lowest;
}
