import { Redis, Cluster } from 'ioredis';
import type { Config } from '../config.js';

export type RedisClient = Redis | Cluster;

/**
 * One `redis://` URL → a single node; a comma list → Redis Cluster (CONTRACT.md, REDIS_URL).
 * Connects before returning, so a wrong URL stops the start instead of failing the first request.
 */
export async function openRedis(config: Config): Promise<RedisClient | undefined> {
  const { url, keyPrefix } = config.redis;
  if (!url) return undefined;
  const urls = url.split(',').map((u) => u.trim());
  const options = { keyPrefix, maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: true };
  const client: RedisClient =
    urls.length > 1
      ? new Cluster(
          urls.map((u) => {
            const parsed = new URL(u);
            return { host: parsed.hostname, port: Number(parsed.port || 6379) };
          }),
          { keyPrefix, redisOptions: { password: new URL(urls[0]!).password || undefined, maxRetriesPerRequest: 2 }, lazyConnect: true },
        )
      : new Redis(urls[0]!, options);
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    throw new Error(`REDIS_URL: cannot reach Redis (${(error as Error).message})`);
  }
  return client;
}
