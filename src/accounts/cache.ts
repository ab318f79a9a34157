import type { Logger } from 'winston';
import { rowCache, type RowCache } from '../cache/row-cache.js';
import type { UserQueries, UserRow } from '../queries/users.js';

/**
 * oidc-provider's findAccount loads the user on every refresh and userinfo call: for that path the row is kept in
 * process for a few seconds (src/cache/row-cache.ts). Every update or deletion through these queries invalidates it,
 * here and over Redis on every instance. Sign-in (by email) and the admin and account APIs keep reading the table.
 */
export const USER_CACHE_TTL_MS = 5_000;

export interface UserCache extends Pick<RowCache<UserRow>, 'find' | 'connect' | 'close'> {
  /** The same queries; updates and deletions invalidate. */
  queries: UserQueries;
}

export function userCache({ users, clock, logger }: { users: UserQueries; clock: () => number; logger: Logger }): UserCache {
  const cache = rowCache<UserRow>({ name: 'users', load: (id) => users.findById(id), clock, logger, ttlMs: USER_CACHE_TTL_MS });
  return {
    queries: { ...users, update: cache.writing(users.update, (id) => id), delete: cache.writing(users.delete, (id) => id) },
    find: cache.find,
    connect: cache.connect,
    close: cache.close,
  };
}
