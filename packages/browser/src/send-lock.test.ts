import { describe, expect, it } from 'vitest';
import { type Lease, leaseLock, mayClaim, tabLock } from './send-lock.ts';

/** A lease shared by "tabs" the way the IndexedDB one is: each claim is atomic. */
function sharedLease() {
  let holder: { owner: string; until: number } | undefined;
  return (owner: string): Lease => ({
    async claim(ms) {
      if (!mayClaim(holder, owner, Date.now())) return false;
      holder = { owner, until: Date.now() + ms };
      return true;
    },
    async release() {
      if (holder?.owner === owner) holder = undefined;
    },
  });
}

describe('tabLock', () => {
  it('runs one holder at a time and turns away those who will not wait', async () => {
    const lock = tabLock();
    const order: string[] = [];
    let release = () => {};
    const first = lock(async () => {
      order.push('first');
      await new Promise<void>((resolve) => (release = resolve));
      return 1;
    }, true);
    expect(await lock(async () => 'never', false)).toBeUndefined();
    const second = lock(async () => order.push('second'), true);
    release();
    expect(await first).toBe(1);
    await second;
    expect(order).toEqual(['first', 'second']);
  });

  it('frees the lock when the work throws', async () => {
    const lock = tabLock();
    await expect(lock(async () => Promise.reject(new Error('boom')), true)).rejects.toThrow('boom');
    expect(await lock(async () => 'next', false)).toBe('next');
  });
});

describe('leaseLock', () => {
  it('lets one of two tabs in at a time, and the other after it', async () => {
    const lease = sharedLease();
    const tabA = leaseLock(lease('a'));
    const tabB = leaseLock(lease('b'));
    let inside = 0;
    let most = 0;
    const work = async () => {
      inside++;
      most = Math.max(most, inside);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inside--;
    };
    await Promise.all([tabA(work, true), tabB(work, true), tabA(work, true), tabB(work, true)]);
    expect(most).toBe(1);
  });

  it('answers undefined at once without waiting, and lets in after a holder lapses', async () => {
    const lease = sharedLease();
    await lease('dead').claim(-1);
    expect(await leaseLock(lease('b'))(async () => 'in', false)).toBe('in');
    await lease('alive').claim(60_000);
    expect(await leaseLock(lease('b'))(async () => 'in', false)).toBeUndefined();
  });
});
