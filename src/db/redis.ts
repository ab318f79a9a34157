import { Redis, Cluster, type RedisOptions } from 'ioredis';
import type { Logger } from 'winston';
import type { Config } from '../config.js';

export type RedisClient = Redis | Cluster;

/**
 * While Redis is away, a command fails at once (no offline queue) and one that gets no answer fails after
 * COMMAND_TIMEOUT_MS: callers answer 503 or fall back to Postgres (access tokens) instead of holding the request
 * through ioredis' reconnection backoff, which grows to seconds per command. Reconnection goes on in the background.
 */
const COMMAND_TIMEOUT_MS = 2000;
const nodeOptions: RedisOptions = { maxRetriesPerRequest: 1, commandTimeout: COMMAND_TIMEOUT_MS };
/** Commands issued in the same tick share one socket write (https://github.com/redis/ioredis#autopipelining). */
const AUTO_PIPELINING = { enableAutoPipelining: true };

/**
 * One `redis://` URL → a single node; a comma list → Redis Cluster (CONTRACT.md, REDIS_URL). In a cluster every
 * node shares the first URL's credentials and TLS (`rediss://`); the other URLs only seed the topology. The key
 * prefix has no `{…}` of its own, so keys that must share a slot carry their own hash tag (DESIGN.md).
 * Connects before returning, so a wrong URL stops the start instead of failing the first request.
 * https://github.com/redis/ioredis#cluster
 */
export async function openRedis(config: Config, logger?: Logger): Promise<RedisClient | undefined> {
  const { url, keyPrefix } = config.redis;
  if (!url) return undefined;
  const urls = url.split(',').map((u) => new URL(u.trim()));
  const client: RedisClient =
    urls.length > 1 ? openCluster(urls, keyPrefix) : new Redis(urls[0]!.href, { ...nodeOptions, ...AUTO_PIPELINING, keyPrefix, lazyConnect: true, enableOfflineQueue: false });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    throw new Error(`REDIS_URL: cannot reach Redis (${(error as Error).message})`);
  }
  if (logger) logTransitions(client, logger);
  return client;
}

function openCluster(urls: URL[], keyPrefix: string): Cluster {
  const first = urls[0]!;
  return new Cluster(
    urls.map((u) => ({ host: u.hostname, port: Number(u.port || 6379) })),
    {
      ...AUTO_PIPELINING,
      keyPrefix,
      lazyConnect: true,
      enableOfflineQueue: false,
      redisOptions: {
        ...nodeOptions,
        username: decodeURIComponent(first.username) || undefined,
        password: decodeURIComponent(first.password) || undefined,
        ...(first.protocol === 'rediss:' ? { tls: {} } : {}),
      },
    },
  );
}

/** One line when the connection is lost and one when it is back, not one per reconnection attempt. */
function logTransitions(client: RedisClient, logger: Logger): void {
  let lost = false;
  client.on('error', (error: Error) => {
    if (lost) return;
    lost = true;
    logger.warn('redis connection lost, reconnecting', { error: error.message });
  });
  client.on('ready', () => {
    if (!lost) return;
    lost = false;
    logger.info('redis connection back');
  });
}
