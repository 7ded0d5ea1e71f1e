import { randomBytes } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import { describeWithService } from '../../testing/services.ts';
import { postgresReachability, postgresUrl } from '../../testing/warehouses.ts';
import { PostgresLeaderLock } from './postgres-leader-lock.ts';

describeWithService(postgresReachability, 'PostgresLeaderLock', () => {
  const opened: PostgresLeaderLock[] = [];
  const open = (name: string) => {
    const lock = new PostgresLeaderLock({ connectionString: postgresUrl, name });
    opened.push(lock);
    return lock;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((lock) => lock.release()));
  });

  it('lets one of two schedulers lead, and the other take over once the leader lets go', async () => {
    const name = `deepref.test.${randomBytes(4).toString('hex')}`;
    const first = open(name);
    const second = open(name);
    expect(await first.isLeader()).toBe(true);
    expect(await second.isLeader()).toBe(false);
    expect(await first.isLeader()).toBe(true);
    await first.release();
    expect(await second.isLeader()).toBe(true);
    expect(await first.isLeader()).toBe(false);
  });

  it('keeps locks of different names apart', async () => {
    const a = open(`deepref.test.${randomBytes(4).toString('hex')}`);
    const b = open(`deepref.test.${randomBytes(4).toString('hex')}`);
    expect([await a.isLeader(), await b.isLeader()]).toEqual([true, true]);
  });
});
