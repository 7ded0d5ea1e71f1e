/**
 * The Redis adapter against a real Redis (`DEEPREF_REDIS_URL`, default redis://127.0.0.1:6379). Without one the
 * tests skip, except under `DEEPREF_REQUIRE_SERVICES=1` (CI), where a missing Redis fails them.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRealtimeStoreContract } from '../realtime-store-contract.ts';
import { RedisRealtimeStore } from './redis-realtime-store.ts';

const redisUrl = process.env.DEEPREF_REDIS_URL || 'redis://127.0.0.1:6379';
const servicesRequired = process.env.DEEPREF_REQUIRE_SERVICES === '1';
/** Every key this run writes starts with it, so runs never meet and cleanup removes exactly ours. */
const runPrefix = `deepref-test:${randomUUID()}:`;

/** A client without a prefix, for looking behind the adapter: raw keys, TTLs, client lists, cleanup. */
const admin = new Redis(redisUrl, {
  lazyConnect: true,
  connectTimeout: 2000,
  maxRetriesPerRequest: 0,
  retryStrategy: () => null,
});
let socketError: Error | undefined;
admin.on('error', (error: Error) => {
  socketError ??= error;
});

async function unreachableReason(): Promise<string | undefined> {
  try {
    await admin.connect();
    await admin.ping();
    return undefined;
  } catch (error) {
    admin.disconnect();
    return (socketError ?? (error as Error)).message;
  }
}

const unreachable = await unreachableReason();
if (unreachable !== undefined) {
  console.warn(
    `Redis not reachable at ${redisUrl} (${unreachable}): ${servicesRequired ? 'failing' : 'skipping'} the Redis ` +
      'real-time store tests. Start it (redis-server) or point DEEPREF_REDIS_URL at one.',
  );
}

async function deleteUnder(prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await admin.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}

async function keysUnder(prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

/** Brings every expiry under the prefix `ms` closer, deleting the keys it reaches: time passing, for Redis. */
const elapseScript = `
for _, key in ipairs(KEYS) do
  local left = redis.call('PTTL', key)
  if left >= 0 then
    if left - tonumber(ARGV[1]) > 0 then redis.call('PEXPIRE', key, left - tonumber(ARGV[1]))
    else redis.call('DEL', key) end
  end
end`;

let fixtures = 0;

async function openStore(keyPrefix: string): Promise<RedisRealtimeStore> {
  return RedisRealtimeStore.connect({ url: redisUrl, keyPrefix });
}

describe.skipIf(unreachable !== undefined && !servicesRequired)('RedisRealtimeStore', () => {
  beforeAll(() => {
    if (unreachable !== undefined) {
      throw new Error(
        `Redis not reachable at ${redisUrl} (${unreachable}); DEEPREF_REQUIRE_SERVICES=1 requires it`,
      );
    }
  });

  afterAll(async () => {
    if (unreachable !== undefined) return;
    await deleteUnder(runPrefix);
    await admin.quit();
  });

  describeRealtimeStoreContract('redis', async () => {
    const keyPrefix = `${runPrefix}${++fixtures}:`;
    const store = await openStore(keyPrefix);
    return {
      store,
      pttl: (key) => admin.pttl(`${keyPrefix}${key}`),
      elapse: async (ms) => {
        const keys = await keysUnder(keyPrefix);
        if (keys.length > 0) await admin.eval(elapseScript, keys.length, ...keys, ms);
      },
      dispose: async () => {
        await store.close();
        await deleteUnder(keyPrefix);
      },
    };
  });

  it('puts the key prefix before every key, so that deployments sharing a Redis keep apart', async () => {
    const blue = await openStore(`${runPrefix}blue:`);
    const green = await openStore(`${runPrefix}green:`);
    try {
      await blue.incrBy('events', 5, 60);
      await green.incrBy('events', 1);
      await blue.zadd('recent', 1, 'e1', 60);
      await blue.hset('session', { page: '/' }, 60);
      expect(await blue.get('events')).toBe('5');
      expect(await green.get('events')).toBe('1');
      expect((await keysUnder(`${runPrefix}blue:`)).sort()).toEqual([
        `${runPrefix}blue:events`,
        `${runPrefix}blue:recent`,
        `${runPrefix}blue:session`,
      ]);
      // The MULTI's EXPIRE went to the prefixed key too.
      for (const key of ['events', 'recent', 'session']) {
        expect(await admin.ttl(`${runPrefix}blue:${key}`)).toBeGreaterThan(0);
      }
      expect(await admin.ttl(`${runPrefix}green:events`)).toBe(-1);
    } finally {
      await blue.close();
      await green.close();
    }
  });

  it('writes a value and its expiry in one step: SET … EX, or one MULTI', async () => {
    const prefix = `${runPrefix}atomic:`;
    const store = await openStore(prefix);
    const monitor = await admin.monitor();
    // MONITOR shows every client's commands; the store's connection is the one sending our prefix.
    const seen: { args: string[]; source: string }[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => seen.push({ args, source }));
    try {
      await store.set('s', 'v', 60);
      await store.incrBy('n', 1, 60);
      await store.zadd('z', 1, 'm', 60);
      await store.hset('h', { f: 'v' }, 60);
      await store.get('s');
      const storeSource = seen.find(({ args }) => args.some((arg) => arg.startsWith(prefix)))?.source;
      const sent = seen.filter(({ source }) => source === storeSource);
      expect(sent.map(({ args }) => args.join(' ').replaceAll(prefix, '').toLowerCase())).toEqual([
        'set s v ex 60',
        'multi',
        'incrby n 1',
        'expire n 60',
        'exec',
        'multi',
        'zadd z 1 m',
        'expire z 60',
        'exec',
        'multi',
        'hset h f v',
        'expire h 60',
        'exec',
        'get s',
      ]);
    } finally {
      monitor.disconnect();
      await store.close();
    }
  });

  it('fails to connect with a message naming the URL', async () => {
    await expect(
      RedisRealtimeStore.connect({ url: 'redis://127.0.0.1:1', keyPrefix: runPrefix }),
    ).rejects.toThrow('Cannot connect to Redis at redis://127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1');
  });

  it('quits its connection when closed', async () => {
    const name = `deepref-test-${randomUUID()}`;
    const store = await RedisRealtimeStore.connect({
      url: redisUrl,
      keyPrefix: runPrefix,
      redis: { connectionName: name },
    });
    const clients = async () => String(await admin.client('LIST')).includes(`name=${name}`);
    expect(await clients()).toBe(true);
    await store.close();
    expect(await clients()).toBe(false);
  });
});
