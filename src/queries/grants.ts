import type { Knex } from 'knex';

export interface GrantRow {
  grant_id: string;
  client_id: string;
  account_id: string;
  payload: Record<string, unknown>;
  last_used_at: Date | null;
  expires_at: Date | null;
  client_name: string | null;
}

export type GrantOwners = Pick<GrantRow, 'grant_id' | 'client_id' | 'account_id'> & { workspace_id: string | null };

/**
 * Grant management over oidc-provider's stored grants and sessions (model `Grant` / `Session` rows of
 * oidc_models). Tokens themselves are revoked through the adapter, which also covers Redis.
 */
export function grantQueries(db: Knex) {
  const owners = () =>
    db({ g: 'oidc_models' })
      .joinRaw('LEFT JOIN users AS u ON u.id::text = g.account_id')
      .where({ 'g.model': 'Grant' })
      .select('g.id as grant_id', 'g.client_id', 'g.account_id', 'u.workspace_id');
  const live = (now: Date) => (q: Knex.QueryBuilder) => q.whereNull('g.expires_at').orWhere('g.expires_at', '>', now);
  return {
    async listForAccount(accountId: string, now: Date): Promise<GrantRow[]> {
      return db({ g: 'oidc_models' })
        .leftJoin({ c: 'clients' }, 'c.client_id', 'g.client_id')
        .where({ 'g.model': 'Grant', 'g.account_id': accountId })
        .andWhere(live(now))
        .orderBy('g.id')
        .select(
          'g.id as grant_id',
          'g.client_id',
          'g.account_id',
          'g.payload',
          'g.last_used_at',
          'g.expires_at',
          db.raw("c.metadata->>'client_name' as client_name"),
        );
    },
    /** The grant's owners; `workspace_id` is the user's (null once the user is gone). */
    async find(grantId: string): Promise<GrantOwners | undefined> {
      return owners().where({ 'g.id': grantId }).first();
    },
    async ownersForClient(clientId: string): Promise<GrantOwners[]> {
      return owners().where({ 'g.client_id': clientId });
    },
    async ownersForAccount(accountId: string): Promise<GrantOwners[]> {
      return owners().where({ 'g.account_id': accountId });
    },
    /** Coarse bookkeeping (DESIGN.md, hot-path writes): at most one write per grant per `minIntervalSeconds`. */
    async touch(grantIds: string[], now: Date, minIntervalSeconds: number): Promise<void> {
      await db('oidc_models')
        .where({ model: 'Grant' })
        .whereIn('id', grantIds)
        .andWhere((q) => q.whereNull('last_used_at').orWhere('last_used_at', '<', new Date(now.getTime() - minIntervalSeconds * 1000)))
        .update({ last_used_at: now });
    },
    /** Removes the grant from the browser sessions that list it (`authorizations[clientId]`). */
    async detachFromSessions(accountId: string, clientId: string, grantId: string): Promise<number> {
      return db('oidc_models')
        .where({ model: 'Session', account_id: accountId })
        .andWhereRaw("payload->'authorizations'->?->>'grantId' = ?", [clientId, grantId])
        .update({ payload: db.raw("payload #- ARRAY['authorizations', ?]::text[]", [clientId]) });
    },
    /** Signs the account out of every browser session (user deletion). */
    async deleteSessionsOfAccount(accountId: string): Promise<number> {
      return db('oidc_models').where({ model: 'Session', account_id: accountId }).delete();
    },
  };
}

export type GrantQueries = ReturnType<typeof grantQueries>;
