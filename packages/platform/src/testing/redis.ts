/**
 * The Redis the scale-out suites use (`DEEPREF_REDIS_URL`, default redis://127.0.0.1:6379): whether it answers, and
 * removing what a test deployment wrote under its key prefix.
 */
import { Redis } from 'ioredis';
import { type ServiceReach, warnUnreachable } from './services.ts';

export const redisUrl = process.env.DEEPREF_REDIS_URL || 'redis://127.0.0.1:6379';

/** A client that fails at once instead of retrying, for work behind the adapter's back. */
function adminClient(): Redis {
  return new Redis(redisUrl, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
}

async function redisUnreachable(): Promise<string | undefined> {
  const client = adminClient();
  let socketError: Error | undefined;
  client.on('error', (error: Error) => {
    socketError ??= error;
  });
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (error) {
    return (socketError ?? (error as Error)).message;
  } finally {
    client.disconnect();
  }
}

/** Whether the Redis at `redisUrl` answered when the test file loaded. */
export const redisReachability: ServiceReach = {
  service: 'Redis',
  url: redisUrl,
  unreachable: await redisUnreachable(),
};
warnUnreachable(redisReachability, 'Start it (redis-server) or point DEEPREF_REDIS_URL at one.');

/** Deletes every key starting with `prefix`. */
export async function deleteRedisKeys(prefix: string): Promise<void> {
  const client = adminClient();
  try {
    await client.connect();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await client.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}
