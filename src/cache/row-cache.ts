import type { Logger } from 'winston';
import type { RedisClient } from '../db/redis.js';

/**
 * Rows read on every token request (clients, the accounts findAccount loads), kept in process for a few seconds.
 * Every write through the wrapped queries drops the entry here at once and, with Redis, on every other instance
 * (pub/sub); the TTL bounds staleness when a message is missed (no Redis, or a subscriber reconnecting, which also
 * clears everything). Only rows that exist are kept: an unknown id is asked again (and cannot fill memory).
 */
export interface RowCacheOptions<Row> {
  /** Names the invalidation channel (`<REDIS_KEY_PREFIX><name>:invalidate`) and the log lines. */
  name: string;
  load(id: string): Promise<Row | undefined>;
  clock: () => number;
  logger: Logger;
  ttlMs: number;
  maxEntries?: number;
}

export interface RowCache<Row> {
  find(id: string): Promise<Row | undefined>;
  /** `write`, then the invalidation of the row it names (also when it fails: it may have happened). */
  writing<A extends unknown[], R>(write: (...args: A) => Promise<R>, idOf: (...args: A) => string): (...args: A) => Promise<R>;
  /** Subscribes to other instances' invalidations and publishes this one's. */
  connect(redis: RedisClient, keyPrefix: string): Promise<void>;
  close(): Promise<void>;
}

export function rowCache<Row>({ name, load, clock, logger, ttlMs, maxEntries = 10_000 }: RowCacheOptions<Row>): RowCache<Row> {
  const entries = new Map<string, { row: Promise<Row | undefined>; expiresAt: number }>();
  // Bumped by every invalidation: a read that started before one must not store what it read.
  let epoch = 0;
  let publish: (id: string) => void = () => {};
  let subscriber: RedisClient | undefined;

  const drop = (id?: string) => {
    epoch += 1;
    if (id === undefined) entries.clear();
    else entries.delete(id);
  };

  function find(id: string): Promise<Row | undefined> {
    const now = clock();
    const cached = entries.get(id);
    if (cached && cached.expiresAt > now) return cached.row;
    const started = epoch;
    const row = load(id);
    // Concurrent misses share one query; an absent or failed read is not kept.
    entries.set(id, { row, expiresAt: now + ttlMs });
    row.then(
      (found) => {
        if (!found || epoch !== started) {
          if (entries.get(id)?.row === row) entries.delete(id);
          return;
        }
        if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
      },
      () => {
        if (entries.get(id)?.row === row) entries.delete(id);
      },
    );
    return row;
  }

  return {
    find,
    writing:
      (write, idOf) =>
      async (...args) => {
        try {
          return await write(...args);
        } finally {
          const id = idOf(...args);
          drop(id);
          publish(id);
        }
      },
    async connect(redis, keyPrefix) {
      // Channels are not keys: ioredis adds no keyPrefix to them, so the channel carries it.
      const channel = `${keyPrefix}${name}:invalidate`;
      subscriber = redis.duplicate();
      let healthy = true;
      subscriber.on('message', (_channel: string, id: string) => drop(id));
      // Messages sent while disconnected are lost: start over after every (re)connection.
      subscriber.on('ready', () => {
        healthy = true;
        drop();
      });
      subscriber.on('error', (error: Error) => {
        if (healthy) logger.warn(`${name} cache invalidation channel lost; entries expire by TTL until it is back`, { error: error.message });
        healthy = false;
      });
      // The app's client has no offline queue (src/db/redis.ts): connect before subscribing.
      await subscriber.connect();
      await subscriber.subscribe(channel);
      publish = (id) => {
        redis.publish(channel, id).catch((error: unknown) => logger.warn(`${name} cache invalidation not published`, { error: (error as Error).message }));
      };
    },
    async close() {
      publish = () => {};
      // A subscriber has nothing to flush: disconnect (quit would wait for a Redis that may be down).
      subscriber?.disconnect();
      subscriber = undefined;
    },
  };
}
