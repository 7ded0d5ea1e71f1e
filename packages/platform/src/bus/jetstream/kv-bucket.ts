/**
 * A key-value bucket in JetStream's KV layout (stream `KV_<bucket>`, subjects `$KV.<bucket>.<key>`, the last value
 * per key kept), written through the JetStream API because `@nats-io/kv` is not a dependency. The layout is KV's,
 * so tools that know KV buckets can read these. Puts and gets go out without waiting for one another
 * (jetstream-requests.ts): a caller that needs many issues them all, then awaits them together.
 */
import { type JetStreamManager, StorageType, type StreamConfig } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { JetStreamRequests } from './jetstream-requests.ts';
import { ensureStream } from './jetstream-streams.ts';

export interface KvBucketOptions {
  replicas: number;
  /** How long a value lives after its last put; unset: for ever. */
  ttlMs?: number;
}

export class KvBucket {
  readonly stream: string;
  private readonly prefix: string;
  private readonly jsm: JetStreamManager;
  private readonly requests: JetStreamRequests;

  private constructor(jsm: JetStreamManager, requests: JetStreamRequests, bucket: string) {
    this.jsm = jsm;
    this.requests = requests;
    this.stream = `KV_${bucket}`;
    this.prefix = `$KV.${bucket}.`;
  }

  /** Creates the bucket unless it exists; an existing one takes the given TTL and replicas. */
  static async open(
    jsm: JetStreamManager,
    requests: JetStreamRequests,
    bucket: string,
    options: KvBucketOptions,
  ): Promise<KvBucket> {
    const kv = new KvBucket(jsm, requests, bucket);
    const maxAge = options.ttlMs === undefined ? 0 : nanos(options.ttlMs);
    const config: Partial<StreamConfig> & { name: string } = {
      name: kv.stream,
      subjects: [`${kv.prefix}>`],
      storage: StorageType.File,
      num_replicas: options.replicas,
      max_msgs_per_subject: 1,
      max_age: maxAge,
      duplicate_window: maxAge > 0 ? Math.min(maxAge, nanos(120_000)) : nanos(120_000),
      allow_rollup_hdrs: true,
      deny_delete: true,
      allow_direct: true,
    };
    await ensureStream(jsm, config, ['max_age', 'num_replicas']);
    return kv;
  }

  /**
   * Resolves once JetStream stored the value; gives its sequence number. With `expectedSeq`, only if the key's
   * value is still the one of that sequence (0: the key has none), else it rejects (compare and set).
   */
  async put(key: string, value: string, expectedSeq?: number): Promise<number> {
    const ack = await this.requests.publish(
      `${this.prefix}${key}`,
      value,
      expectedSeq === undefined ? {} : { lastSubjectSequence: expectedSeq },
    );
    return ack.seq;
  }

  /** The last value put under `key` (a direct get: any replica answers, no consumer). */
  async get(key: string): Promise<string | undefined> {
    return (await this.entry(key))?.value;
  }

  /** The last value put under `key`, with its sequence number for a compare and set. */
  async entry(key: string): Promise<{ value: string; seq: number } | undefined> {
    const message = await this.requests.lastBySubject(this.stream, `${this.prefix}${key}`);
    return message === null
      ? undefined
      : { value: message.string(), seq: Number(message.headers?.get('Nats-Sequence')) };
  }

  /** Every key that has a value, in order. */
  async keys(): Promise<string[]> {
    const info = await this.jsm.streams.info(this.stream, { subjects_filter: `${this.prefix}>` });
    return Object.keys(info.state.subjects ?? {})
      .sort()
      .map((subject) => subject.slice(this.prefix.length));
  }

  /** Every key with its value. */
  async entries(): Promise<Map<string, string>> {
    const keys = await this.keys();
    const values = await Promise.all(keys.map((key) => this.get(key)));
    const entries = new Map<string, string>();
    keys.forEach((key, i) => {
      const value = values[i];
      if (value !== undefined) entries.set(key, value);
    });
    return entries;
  }

  /** Removes the key and its value (a purge of its subject: the bucket refuses deletes of single messages). */
  async purge(key: string): Promise<void> {
    await this.jsm.streams.purge(this.stream, { filter: `${this.prefix}${key}` });
  }
}
