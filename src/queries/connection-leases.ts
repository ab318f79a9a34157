import type { Knex } from 'knex';
import type { ConnectionRow } from './connections.js';

/**
 * The per-connection refresh lease: whoever holds it is the only one refreshing that connection. Taking it is
 * one conditional UPDATE that also re-reads the row (so the holder works from the newest refresh token);
 * releasing is compare-and-delete on the owner, so a holder whose lease ran out can never release someone
 * else's. No transaction or row lock is held across the HTTP call to the provider (PGlite has one connection).
 */
export function connectionLeaseQueries(db: Knex) {
  return {
    async acquire(id: string, owner: string, now: Date, until: Date): Promise<ConnectionRow | undefined> {
      const [row] = await db('integration_connections')
        .where({ id, status: 'active' })
        .andWhere((q) => q.whereNull('refresh_lease_until').orWhere('refresh_lease_until', '<', now).orWhere('refresh_lease_owner', owner))
        .update({ refresh_lease_owner: owner, refresh_lease_until: until })
        .returning('*');
      return row;
    },
    async release(id: string, owner: string): Promise<boolean> {
      return (await db('integration_connections').where({ id, refresh_lease_owner: owner }).update({ refresh_lease_owner: null, refresh_lease_until: null })) > 0;
    },
    /** When the scheduler should look at this connection next (null: never, e.g. no expiry known). */
    async setNextRefresh(id: string, at: Date | null): Promise<void> {
      await db('integration_connections').where({ id }).update({ next_refresh_at: at });
    },
    /** Active connections due for a scheduled refresh before `horizon`, soonest first. */
    async due(horizon: Date, limit: number): Promise<Array<Pick<ConnectionRow, 'id'> & { next_refresh_at: Date | null; expires_at: Date | null }>> {
      return db('integration_connections')
        .where({ status: 'active' })
        .whereNotNull('refresh_token_enc')
        .andWhere((q) => q.where('next_refresh_at', '<=', horizon).orWhere((w) => w.whereNull('next_refresh_at').whereNotNull('expires_at').where('expires_at', '<=', horizon)))
        .orderByRaw('coalesce(next_refresh_at, expires_at)')
        .limit(limit)
        .select('id', 'next_refresh_at', 'expires_at');
    },
  };
}

export type ConnectionLeaseQueries = ReturnType<typeof connectionLeaseQueries>;
