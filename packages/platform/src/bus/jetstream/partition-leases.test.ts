/**
 * Partition leases against a real NATS server (`DEEPREF_NATS_URL`, default 127.0.0.1:4222), each test in a bucket
 * of its own. Without a server the tests skip, except under `DEEPREF_REQUIRE_SERVICES=1` (CI), where they fail.
 */
import { randomUUID } from 'node:crypto';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeWithService } from '../../testing/services.ts';
import { natsReach, natsUrl } from './nats-test-server.ts';
import { PartitionLeases, type PartitionLeasesOptions } from './partition-leases.ts';

const reach = await natsReach();

describeWithService(reach, 'PartitionLeases', () => {
  let admin: NatsConnection;
  let jsm: JetStreamManager;
  let bucket: string;
  let opened: PartitionLeases[] = [];

  async function worker(
    owner: string,
    options: Partial<PartitionLeasesOptions> = {},
  ): Promise<PartitionLeases> {
    const leases = await PartitionLeases.open({ servers: natsUrl, bucket, owner, ...options });
    opened.push(leases);
    return leases;
  }

  beforeAll(async () => {
    admin = await connect({ servers: natsUrl });
    jsm = await jetstreamManager(admin);
  });

  afterAll(async () => {
    await admin?.close();
  });

  beforeEach(() => {
    bucket = `DEEPREF_TEST_${randomUUID().slice(0, 8)}_LEASES`;
  });

  afterEach(async () => {
    for (const leases of opened) await leases.close();
    opened = [];
    await jsm.streams.delete(`KV_${bucket}`).catch(() => false);
  });

  it('gives a partition to one worker at a time, and to another once released', async () => {
    const a = await worker('worker-a');
    const b = await worker('worker-b');
    expect(await a.acquire(0)).toBe(true);
    expect(await b.acquire(0)).toBe(false);
    expect(await b.acquire(1)).toBe(true);
    expect(await a.acquire(0)).toBe(true);
    expect([await a.holder(0), await a.holder(1), await a.holder(2)]).toEqual([
      'worker-a',
      'worker-b',
      undefined,
    ]);
    await a.release(0);
    expect(await b.acquire(0)).toBe(true);
    expect(b.partitions).toEqual([0, 1]);
    expect(a.partitions).toEqual([]);
  });

  it('hands the partitions of a worker that stopped renewing to another after the lease time', async () => {
    // A heartbeat that never comes: the worker is as good as dead once its lease runs out.
    const dead = await worker('dead', { ttlMs: 1_000, heartbeatMs: 3_600_000 });
    const alive = await worker('alive', { ttlMs: 1_000 });
    expect(await dead.acquire(3)).toBe(true);
    expect(await alive.acquire(3)).toBe(false);
    let takenOver = false;
    for (let tries = 0; !takenOver && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      takenOver = await alive.acquire(3);
    }
    expect(takenOver).toBe(true);
    expect(await alive.holder(3)).toBe('alive');
    expect(await dead.renew()).toEqual([3]);
    expect(dead.partitions).toEqual([]);
  });

  it('keeps its leases past the lease time while its heartbeat renews them', async () => {
    const lost: number[][] = [];
    const holder = await worker('holder', { ttlMs: 1_000, heartbeatMs: 200, onLost: (p) => lost.push(p) });
    const other = await worker('other', { ttlMs: 1_000 });
    expect(await holder.acquire(0)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(await other.acquire(0)).toBe(false);
    expect(await other.holder(0)).toBe('holder');
    expect(lost).toEqual([]);
  });
});
