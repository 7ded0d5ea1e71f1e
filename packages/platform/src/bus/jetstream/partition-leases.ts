/**
 * Which worker reads which partition: a lease per partition in a KV bucket whose values expire after the lease
 * time. A worker holds a partition while its heartbeat renews the lease; one that dies stops renewing, its leases
 * expire, and the other workers take its partitions over. Every change is a compare and set on the lease's
 * sequence number, so two workers never both hold a partition (a worker learns it lost one at its next renewal:
 * it must stop reading that partition then, and may have read for up to one heartbeat after the lease expired).
 */
import { JetStreamApiCodes, JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { JetStreamRequests } from './jetstream-requests.ts';
import { KvBucket } from './kv-bucket.ts';

export interface PartitionLeasesOptions {
  /** NATS servers. Default `127.0.0.1:4222`. */
  servers?: string | string[];
  /** The bucket of leases, `<stream>_LEASES` for the event log's stream. */
  bucket: string;
  /** Who holds a lease: a name unique among the workers (host and process id, say). */
  owner: string;
  /** How long a lease lasts without renewal. Default 15,000 ms. */
  ttlMs?: number;
  /** How often the heartbeat renews the held leases. Default a third of the lease time. */
  heartbeatMs?: number;
  /** Told of the partitions whose lease the heartbeat found lost. */
  onLost?: (partitions: number[]) => void;
  replicas?: number;
  timeoutMs?: number;
}

/** A released lease: empty, so that the next taker's compare and set is on its sequence. */
const released = '';

function isWrongLastSequence(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamWrongLastSequence;
}

export class PartitionLeases {
  readonly owner: string;
  private readonly nc: NatsConnection;
  private readonly bucket: KvBucket;
  /** Partition → the sequence number of our lease on it. */
  private readonly held = new Map<number, number>();
  private readonly heartbeat: NodeJS.Timeout;
  private renewing: Promise<number[]> | undefined;

  private constructor(nc: NatsConnection, bucket: KvBucket, options: PartitionLeasesOptions, ttlMs: number) {
    this.nc = nc;
    this.bucket = bucket;
    this.owner = options.owner;
    this.heartbeat = setInterval(
      () => {
        this.renew().then(
          (lost) => {
            if (lost.length > 0) options.onLost?.(lost);
          },
          () => undefined, // unreachable for now: the next beat tries again, and the leases expire meanwhile
        );
      },
      options.heartbeatMs ?? ttlMs / 3,
    );
    this.heartbeat.unref();
  }

  static async open(options: PartitionLeasesOptions): Promise<PartitionLeases> {
    const ttlMs = options.ttlMs ?? 15_000;
    const timeoutMs = options.timeoutMs ?? 5_000;
    const nc = await connect({
      servers: options.servers ?? '127.0.0.1:4222',
      timeout: timeoutMs,
      maxReconnectAttempts: -1,
    });
    try {
      const jsm = await jetstreamManager(nc, { timeout: timeoutMs });
      const bucket = await KvBucket.open(jsm, new JetStreamRequests(nc, timeoutMs), options.bucket, {
        replicas: options.replicas ?? 1,
        ttlMs,
      });
      return new PartitionLeases(nc, bucket, options, ttlMs);
    } catch (error) {
      await nc.close();
      throw error;
    }
  }

  /** The partitions this worker holds, ascending. */
  get partitions(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  /** Takes the partition if it is free (never leased, released or expired) or already ours; says whether it is ours. */
  async acquire(partition: number): Promise<boolean> {
    const lease = await this.bucket.entry(String(partition));
    if (lease !== undefined && lease.value !== released && lease.value !== this.owner) return false;
    try {
      this.held.set(partition, await this.bucket.put(String(partition), this.owner, lease?.seq ?? 0));
      return true;
    } catch (error) {
      if (isWrongLastSequence(error)) return false; // another worker took it in between
      throw error;
    }
  }

  /** Who holds the partition, if anyone. */
  async holder(partition: number): Promise<string | undefined> {
    const value = await this.bucket.get(String(partition));
    return value === released ? undefined : value;
  }

  /** Renews every lease held; resolves with the partitions found lost (expired, or taken by another worker). */
  renew(): Promise<number[]> {
    this.renewing ??= (async () => {
      const lost: number[] = [];
      await Promise.all(
        [...this.held].map(async ([partition, seq]) => {
          try {
            this.held.set(partition, await this.bucket.put(String(partition), this.owner, seq));
          } catch (error) {
            if (!isWrongLastSequence(error)) throw error;
            this.held.delete(partition);
            lost.push(partition);
          }
        }),
      );
      return lost.sort((a, b) => a - b);
    })().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  /** Gives the partition up at once, if still ours, for another worker to take. */
  async release(partition: number): Promise<void> {
    const seq = this.held.get(partition);
    if (seq === undefined) return;
    this.held.delete(partition);
    await this.bucket.put(String(partition), released, seq).catch((error: unknown) => {
      if (!isWrongLastSequence(error)) throw error;
    });
  }

  /** Stops the heartbeat, releases every lease held and disconnects. */
  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    await this.renewing?.catch(() => undefined);
    await Promise.all(this.partitions.map((partition) => this.release(partition)));
    await this.nc.drain();
  }
}
