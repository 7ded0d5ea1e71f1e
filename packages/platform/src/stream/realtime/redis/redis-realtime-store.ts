/**
 * The real-time store on Redis (the scale-out adapter), through ioredis. Every key is namespaced by `keyPrefix`,
 * so deployments can share one Redis. A write with an expiry is one atomic step: SET … EX, or the write and its
 * EXPIRE in one MULTI sent as a single pipeline.
 */
import { type ChainableCommander, Redis, type RedisOptions } from 'ioredis';
import {
  checkIncrement,
  checkLimit,
  checkOpen,
  checkScore,
  checkTtl,
  hashEntries,
} from '../realtime-arguments.ts';
import {
  type RealtimeStore,
  RealtimeStoreError,
  type RealtimeStoreErrorCode,
  realtimeStoreErrorMessages,
} from '../realtime-store.ts';

export interface RedisRealtimeStoreOptions {
  /** `redis[s]://[[user][:password]@]host[:port][/db]`. Default `redis://127.0.0.1:6379`. */
  url?: string;
  /** Put before every key, so that deployments sharing a Redis keep apart (e.g. `deepref:prod:`). Default `deepref:`. */
  keyPrefix?: string;
  /** Further ioredis options (TLS, timeouts, retry strategy); `keyPrefix`, `lazyConnect` and `stringNumbers` are set here. */
  redis?: RedisOptions;
  /**
   * Hears connection errors while ioredis reconnects (commands in flight reject on their own). Without it ioredis
   * prints them to stderr.
   */
  onError?: (error: Error) => void;
}

/** Scores and bounds as Redis reads them: `String` gives the shortest text that parses back to the same double. */
function redisScore(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return '+inf';
  if (value === Number.NEGATIVE_INFINITY) return '-inf';
  return String(value);
}

/** Redis's refusals as the port's error; anything else (connection loss, OOM) as it came. */
function translated(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  for (const [code, message] of Object.entries(realtimeStoreErrorMessages)) {
    if (error.message === message)
      return new RealtimeStoreError(code as RealtimeStoreErrorCode, { cause: error });
  }
  return error;
}

export class RedisRealtimeStore implements RealtimeStore {
  readonly keyPrefix: string;
  #redis: Redis;
  #closed = false;

  /**
   * Connects and waits until Redis answers, so that a wrong URL or a server that is down fails here, at start,
   * rather than at the first write after ioredis has retried it.
   */
  static async connect(options: RedisRealtimeStoreOptions = {}): Promise<RedisRealtimeStore> {
    const store = new RedisRealtimeStore(options);
    const url = options.url ?? 'redis://127.0.0.1:6379';
    // The socket's error (ECONNREFUSED, …) says more than connect()'s "Connection is closed"; it goes into the
    // rejection instead of being printed.
    let socketError: Error | undefined;
    const keep = (error: Error) => {
      socketError ??= error;
    };
    store.#redis.on('error', keep);
    try {
      await store.#redis.connect();
    } catch (error) {
      store.#closed = true;
      store.#redis.disconnect();
      const cause = socketError ?? (error as Error);
      throw new Error(`Cannot connect to Redis at ${url}: ${cause.message}`, { cause });
    } finally {
      store.#redis.off('error', keep);
    }
    if (options.onError) store.#redis.on('error', options.onError);
    return store;
  }

  private constructor(options: RedisRealtimeStoreOptions) {
    this.keyPrefix = options.keyPrefix ?? 'deepref:';
    this.#redis = new Redis(options.url ?? 'redis://127.0.0.1:6379', {
      ...options.redis,
      keyPrefix: this.keyPrefix,
      lazyConnect: true,
      // ioredis decodes an integer reply digit by digit through a value that rounds near 2^53 (INCRBY of
      // 9007199254740991 came back as …992); as text, Number() converts it exactly.
      stringNumbers: true,
    });
  }

  async set(key: string, value: string, ttlSeconds?: number): Promise<void> {
    checkTtl(ttlSeconds);
    await this.#run(() =>
      ttlSeconds === undefined ? this.#redis.set(key, value) : this.#redis.set(key, value, 'EX', ttlSeconds),
    );
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.#run(() => this.#redis.get(key))) ?? undefined;
  }

  async incrBy(key: string, by: number, ttlSeconds?: number): Promise<number> {
    checkIncrement(by);
    checkTtl(ttlSeconds);
    const reply =
      ttlSeconds === undefined
        ? await this.#run(() => this.#redis.incrby(key, by))
        : await this.#withExpiry((multi) => multi.incrby(key, by), key, ttlSeconds);
    return Number(reply);
  }

  async zadd(key: string, score: number, member: string, ttlSeconds?: number): Promise<void> {
    checkScore('score', score);
    checkTtl(ttlSeconds);
    if (ttlSeconds === undefined) await this.#run(() => this.#redis.zadd(key, redisScore(score), member));
    else await this.#withExpiry((multi) => multi.zadd(key, redisScore(score), member), key, ttlSeconds);
  }

  async zcount(key: string, min: number, max: number): Promise<number> {
    checkScore('min', min);
    checkScore('max', max);
    return Number(await this.#run(() => this.#redis.zcount(key, redisScore(min), redisScore(max))));
  }

  async zremRangeByScore(key: string, min: number, max: number): Promise<number> {
    checkScore('min', min);
    checkScore('max', max);
    return Number(await this.#run(() => this.#redis.zremrangebyscore(key, redisScore(min), redisScore(max))));
  }

  async zrangeByScore(key: string, min: number, max: number, limit?: number): Promise<string[]> {
    checkScore('min', min);
    checkScore('max', max);
    checkLimit(limit);
    return this.#run(() =>
      limit === undefined
        ? this.#redis.zrangebyscore(key, redisScore(min), redisScore(max))
        : this.#redis.zrangebyscore(key, redisScore(min), redisScore(max), 'LIMIT', 0, limit),
    );
  }

  async hset(key: string, fields: Record<string, string>, ttlSeconds?: number): Promise<void> {
    // Flat pairs, so that ioredis has no object to interpret (a field named `__proto__` stays a field).
    const pairs = hashEntries(fields).flat();
    checkTtl(ttlSeconds);
    if (ttlSeconds === undefined) await this.#run(() => this.#redis.hset(key, ...pairs));
    else await this.#withExpiry((multi) => multi.hset(key, ...pairs), key, ttlSeconds);
  }

  async hgetall(key: string): Promise<Record<string, string>> {
    return this.#run(() => this.#redis.hgetall(key));
  }

  async del(key: string): Promise<void> {
    await this.#run(() => this.#redis.del(key));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // QUIT lets the replies in flight arrive first. Without a working connection there is nothing to wait for,
    // and a queued QUIT would wait for a reconnect that may never come.
    if (this.#redis.status === 'ready') await this.#redis.quit();
    else this.#redis.disconnect();
  }

  /** Milliseconds until `key` expires (Redis PTTL): -1 when it has no expiry, -2 when it does not exist. */
  async pttl(key: string): Promise<number> {
    return Number(await this.#run(() => this.#redis.pttl(key)));
  }

  async #run<T>(command: () => Promise<T>): Promise<T> {
    checkOpen(this.#closed);
    try {
      return await command();
    } catch (error) {
      throw translated(error);
    }
  }

  /** Runs `write` and EXPIRE in one MULTI; returns the write's reply. EXEC runs the EXPIRE even if the write fails. */
  async #withExpiry(
    write: (multi: ChainableCommander) => ChainableCommander,
    key: string,
    ttlSeconds: number,
  ): Promise<unknown> {
    const replies = await this.#run(() => write(this.#redis.multi()).expire(key, ttlSeconds).exec());
    // exec() answers null only when a WATCHed key changed, and nothing here WATCHes.
    const [error, reply] = replies![0]!;
    if (error) throw translated(error);
    return reply;
  }
}
