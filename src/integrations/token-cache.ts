import { createHash } from 'node:crypto';
import type { Logger } from 'winston';
import type { RedisClient } from '../db/redis.js';
import type { KeyRing } from '../crypto/keyring.js';
import { connectionAad, type ConnectionIdentity } from './sealing.js';

export interface CachedToken {
  access_token: string;
  token_type: string;
  scope: string[];
  /** epoch ms */
  expires_at: number;
}

/** The resource a token is for: `default` (the connection's own scopes) or a hash of an explicit scope set. */
export const resourceKeyOf = (scopes: string[] | undefined): string =>
  scopes?.length ? createHash('sha256').update([...scopes].sort().join(' ')).digest('base64url').slice(0, 22) : 'default';

/**
 * Access tokens cached in Redis as ciphertext only (AES-GCM, bound to the connection and the resource), with
 * a TTL equal to the token's remaining life. One Microsoft refresh token mints separate tokens for Graph and
 * for Outlook, so entries are per connection and per resource. `{connection id}` is a Redis Cluster hash
 * tag: a connection's keys share a slot, so purging them is one multi-key command.
 * Without Redis there is no cache: the connection row's own (encrypted) access token serves.
 */
export function tokenCache(redis: RedisClient | undefined, keyring: KeyRing, now: () => number, logger?: Logger) {
  const keyFor = (connectionId: string, resource: string) => `integ:{${connectionId}}:token:${resource}`;
  const indexKey = (connectionId: string) => `integ:{${connectionId}}:tokens`;
  // Redis away: reads miss and writes are skipped (the connection row serves), with one warning per minute.
  // A purge is never skipped: it fails its caller, or a disconnected link's token could come back with Redis.
  let warnedAt = -Infinity;
  const skipped = (operation: string) => (error: unknown) => {
    if (now() - warnedAt >= 60_000) {
      warnedAt = now();
      logger?.warn('token cache unavailable, serving from the connection rows', { operation, error: (error as Error)?.message });
    }
    return undefined;
  };
  return {
    async get(connectionId: string, row: ConnectionIdentity, resource: string): Promise<CachedToken | undefined> {
      if (!redis) return undefined;
      const sealed = await redis.get(keyFor(connectionId, resource)).catch(skipped('get'));
      if (!sealed) return undefined;
      try {
        const token = JSON.parse(keyring.decrypt(sealed, connectionAad(row, `cache:${resource}`))) as CachedToken;
        return token.expires_at > now() ? token : undefined;
      } catch {
        return undefined; // unreadable (key removed from the ring, or not ours): a cache miss, never an error
      }
    },
    async set(connectionId: string, row: ConnectionIdentity, resource: string, token: CachedToken): Promise<void> {
      if (!redis) return;
      const ttl = Math.floor((token.expires_at - now()) / 1000);
      if (ttl <= 0) return;
      const sealed = keyring.encrypt(JSON.stringify(token), connectionAad(row, `cache:${resource}`));
      await redis.multi().set(keyFor(connectionId, resource), sealed, 'EX', ttl).sadd(indexKey(connectionId), resource)
        // the index lives as long as its longest entry (NX sets a first expiry, GT only extends it; Redis >= 7)
        .call('EXPIRE', indexKey(connectionId), ttl, 'NX')
        .call('EXPIRE', indexKey(connectionId), ttl, 'GT')
        .exec()
        .catch(skipped('set'));
    },
    /** Drops every cached token of a connection (disconnect, reconnect, a refresh that failed for good). */
    async purge(connectionId: string): Promise<void> {
      if (!redis) return;
      const resources = await redis.smembers(indexKey(connectionId));
      await redis.del(indexKey(connectionId), keyFor(connectionId, 'default'), ...resources.map((r) => keyFor(connectionId, r)));
    },
  };
}

export type TokenCache = ReturnType<typeof tokenCache>;
