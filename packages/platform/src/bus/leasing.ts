/**
 * How workers share the event log's work when several run at once (JetStream: `PartitionLeases`): a lease per
 * partition, renewed by a heartbeat, taken over when its holder dies. The core sees only this interface; the
 * adapter lives in bus/jetstream/. `runWhileLeased` keeps a piece of work that must run in one process at a time
 * (the stream layer, the lake writer) on whichever worker holds its lease.
 */

export interface Leasing {
  /** This worker's name among the others. */
  readonly owner: string;
  /** Takes the lease if it is free or already ours; says whether it is ours. */
  acquire(slot: number): Promise<boolean>;
  /** Who holds the lease now, if anyone. */
  holder(slot: number): Promise<string | undefined>;
  release(slot: number): Promise<void>;
  /** Stops renewing and releases every lease held. */
  close(): Promise<void>;
}

export interface Stoppable {
  stop(): Promise<void>;
}

export interface LeasedWork {
  /** Whether this process runs the work now. */
  readonly running: boolean;
  /** Stops checking; stops the work if it runs here and gives its lease up. */
  stop(): Promise<void>;
}

/**
 * Starts `start()` once the lease `slot` is ours, checking every `checkMs`; stops the work when the lease is found
 * held by another worker (ours expired while we were stalled), and takes it again once free.
 */
export function runWhileLeased(
  leasing: Leasing,
  slot: number,
  start: () => Promise<Stoppable>,
  options: { checkMs?: number; onError?: (error: unknown) => void } = {},
): LeasedWork {
  const onError =
    options.onError ?? ((error) => console.error(`deepref: lease ${slot} check failed:`, error));
  let work: Stoppable | undefined;
  let stopped = false;
  let turn: Promise<void> = Promise.resolve();

  async function check(): Promise<void> {
    if (stopped) return;
    if (work) {
      if ((await leasing.holder(slot)) === leasing.owner) return;
      const lost = work;
      work = undefined;
      await lost.stop();
      return;
    }
    if (await leasing.acquire(slot)) work = await start();
  }
  const tick = () => {
    turn = turn.then(check).catch(onError);
  };
  tick();
  const timer = setInterval(tick, options.checkMs ?? 1_000);
  timer.unref();

  return {
    get running() {
      return work !== undefined;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await turn;
      if (work) {
        await work.stop();
        work = undefined;
        await leasing.release(slot);
      }
    },
  };
}
