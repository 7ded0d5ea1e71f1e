/**
 * One sender at a time: whoever sends holds the lock for the read–send–remove of a batch, so two tabs never send
 * the same queued event. Web Locks where the browser has them; elsewhere a lease that its holder renews and that
 * lapses when the tab dies, kept in IndexedDB beside the queue (its transactions run one at a time across tabs).
 * Queues that belong to one tab (localStorage, memory) need only a lock inside the tab.
 */

/** Runs `work` holding the lock; without `wait`, resolves undefined at once when someone else holds it. */
export type SendLock = <T>(work: () => Promise<T>, wait: boolean) => Promise<T | undefined>;

/** A lease on the sender's role: `claim` takes or renews it for `ms` and says whether this tab holds it. */
export interface Lease {
  claim(ms: number): Promise<boolean>;
  release(): Promise<void>;
}

export function webLock(name: string): SendLock | undefined {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  if (!locks) return undefined;
  return (work, wait) =>
    locks.request(name, { ifAvailable: !wait }, (lock) => (lock ? work() : undefined)) as Promise<never>;
}

/** A lock among the callers of this page only. */
export function tabLock(): SendLock {
  let tail: Promise<unknown> = Promise.resolve();
  let held = 0;
  return (work, wait) => {
    if (held && !wait) return Promise.resolve(undefined);
    held++;
    const run = tail.then(work).finally(() => held--);
    tail = run.catch(() => {});
    return run;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function leaseLock(lease: Lease, leaseMs = 15_000): SendLock {
  const inTab = tabLock();
  return (work, wait) =>
    inTab(async () => {
      while (!(await lease.claim(leaseMs))) {
        if (!wait) return undefined;
        await sleep(100);
      }
      const renew = setInterval(() => void lease.claim(leaseMs).catch(() => {}), leaseMs / 3);
      try {
        return await work();
      } finally {
        clearInterval(renew);
        await lease.release().catch(() => {});
      }
    }, wait);
}

interface Holder {
  owner: string;
  until: number;
}

/** Whether `owner` may take a lease that `holder` has: it is free, lapsed or its own. */
export const mayClaim = (holder: Holder | undefined, owner: string, now: number): boolean =>
  !holder || holder.until < now || holder.owner === owner;
