import type { Logger } from 'winston';
import type { RedisClient } from '../db/redis.js';
import type { ClientQueries, ClientRow } from '../queries/clients.js';

/**
 * Client rows are read on every token, introspection and revocation request (and for every bearer token our
 * APIs resolve, all through oidc-provider's Client.find): for that path they are kept in process for a few
 * seconds. Every write through these queries drops the entry here at once and, with Redis, on every other
 * instance (pub/sub); the TTL bounds staleness when a message is missed (no Redis, or a subscriber reconnecting,
 * which also clears everything). Only rows that exist are kept: an unknown client_id is asked again (and cannot
 * fill memory). Other readers (the admin API's read-modify-write) keep reading the table.
 */
export const CLIENT_CACHE_TTL_MS = 5_000;
const MAX_ENTRIES = 10_000;

export interface ClientCacheOptions {
  clients: ClientQueries;
  clock: () => number;
  logger: Logger;
  ttlMs?: number;
}

export interface ClientCache {
  /** The same queries; every write invalidates (here and, once connected, everywhere). */
  queries: ClientQueries;
  /** `find` through the cache: for the provider's client lookups. */
  find(clientId: string): Promise<ClientRow | undefined>;
  /** Subscribes to other instances' invalidations and publishes this one's (REDIS_KEY_PREFIX scopes the channel). */
  connect(redis: RedisClient, keyPrefix: string): Promise<void>;
  close(): Promise<void>;
}

export function clientCache({ clients, clock, logger, ttlMs = CLIENT_CACHE_TTL_MS }: ClientCacheOptions): ClientCache {
  const entries = new Map<string, { row: Promise<ClientRow | undefined>; expiresAt: number }>();
  // Bumped by every invalidation: a read that started before one must not store what it read.
  let epoch = 0;
  let publish: (clientId: string) => void = () => {};
  let subscriber: RedisClient | undefined;

  const drop = (clientId?: string) => {
    epoch += 1;
    if (clientId === undefined) entries.clear();
    else entries.delete(clientId);
  };
  const invalidate = (clientId: string) => {
    drop(clientId);
    publish(clientId);
  };

  function find(clientId: string): Promise<ClientRow | undefined> {
    const now = clock();
    const cached = entries.get(clientId);
    if (cached && cached.expiresAt > now) return cached.row;
    const started = epoch;
    const row = clients.find(clientId);
    // Concurrent misses share one query; an absent or failed read is not kept.
    entries.set(clientId, { row, expiresAt: now + ttlMs });
    row.then(
      (found) => {
        if (!found || epoch !== started) {
          if (entries.get(clientId)?.row === row) entries.delete(clientId);
          return;
        }
        if (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value!);
      },
      () => {
        if (entries.get(clientId)?.row === row) entries.delete(clientId);
      },
    );
    return row;
  }

  /** A write, then its invalidation (also when the write fails: it may have happened). */
  const writing =
    <A extends unknown[], R>(write: (...args: A) => Promise<R>, idOf: (...args: A) => string) =>
    async (...args: A): Promise<R> => {
      try {
        return await write(...args);
      } finally {
        invalidate(idOf(...args));
      }
    };

  const queries: ClientQueries = {
    ...clients,
    upsert: writing(clients.upsert, (client) => client.client_id),
    insertUnlessTaken: writing(clients.insertUnlessTaken, (client) => client.client_id),
    update: writing(clients.update, (client) => client.client_id),
    delete: writing(clients.delete, (clientId) => clientId),
    replaceSecretEncrypted: writing(clients.replaceSecretEncrypted, (clientId) => clientId),
  };

  return {
    queries,
    find,
    async connect(redis, keyPrefix) {
      // Channels are not keys: ioredis adds no keyPrefix to them, so the channel carries it.
      const channel = `${keyPrefix}clients:invalidate`;
      subscriber = redis.duplicate();
      let healthy = true;
      subscriber.on('message', (_channel: string, clientId: string) => drop(clientId));
      // Messages sent while disconnected are lost: start over after every (re)connection.
      subscriber.on('ready', () => {
        healthy = true;
        drop();
      });
      subscriber.on('error', (error: Error) => {
        if (healthy) logger.warn('client cache invalidation channel lost; entries expire by TTL until it is back', { error: error.message });
        healthy = false;
      });
      // The app's client has no offline queue (src/db/redis.ts): connect before subscribing.
      await subscriber.connect();
      await subscriber.subscribe(channel);
      publish = (clientId) => {
        redis.publish(channel, clientId).catch((error: unknown) => logger.warn('client cache invalidation not published', { error: (error as Error).message }));
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
