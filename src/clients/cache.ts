import type { Logger } from 'winston';
import { rowCache } from '../cache/row-cache.js';
import type { RedisClient } from '../db/redis.js';
import type { ClientQueries, ClientRow } from '../queries/clients.js';

/**
 * Client rows are read on every token, introspection and revocation request (and for every bearer token our
 * APIs resolve, all through oidc-provider's Client.find): for that path they are kept in process for a few
 * seconds (src/cache/row-cache.ts: every write through these queries invalidates, here and over Redis on every
 * instance). Other readers (the admin API's read-modify-write) keep reading the table.
 */
export const CLIENT_CACHE_TTL_MS = 5_000;

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
  const cache = rowCache<ClientRow>({ name: 'clients', load: (clientId) => clients.find(clientId), clock, logger, ttlMs });
  const queries: ClientQueries = {
    ...clients,
    upsert: cache.writing(clients.upsert, (client) => client.client_id),
    insertUnlessTaken: cache.writing(clients.insertUnlessTaken, (client) => client.client_id),
    update: cache.writing(clients.update, (client) => client.client_id),
    delete: cache.writing(clients.delete, (clientId) => clientId),
    replaceSecretEncrypted: cache.writing(clients.replaceSecretEncrypted, (clientId) => clientId),
  };
  return { queries, find: cache.find, connect: cache.connect, close: cache.close };
}
