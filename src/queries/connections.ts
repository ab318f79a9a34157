import type { Knex } from 'knex';

export type ConnectionStatus = 'active' | 'needs_reauth' | 'revoked';
export type ActorType = 'user' | 'api_key';

export interface ConnectionRow {
  id: string;
  workspace_id: string;
  actor_type: ActorType;
  actor_id: string;
  provider: string;
  purpose: string;
  status: ConnectionStatus;
  provider_subject: string | null;
  provider_email: string | null;
  scopes: string[];
  access_token_enc: string | null;
  refresh_token_enc: string | null;
  token_type: string | null;
  expires_at: Date | null;
  connected_at: Date;
  last_refreshed_at: Date | null;
  last_success_at: Date | null;
  last_error: string | null;
  last_error_at: Date | null;
  revoked_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface ConnectionKey {
  workspace_id: string;
  actor_type: ActorType;
  actor_id: string;
  provider: string;
  purpose: string;
}

/** What a successful connect writes (insert, or over an earlier connection of the same key). */
export type ConnectionUpsert = ConnectionKey &
  Pick<ConnectionRow, 'id' | 'provider_subject' | 'provider_email' | 'scopes' | 'access_token_enc' | 'refresh_token_enc' | 'token_type' | 'expires_at'> & {
    now: Date;
  };

export type ConnectionWithErrors = ConnectionRow & { error_count_24h: number };

const keyOf = (key: ConnectionKey) => ({
  workspace_id: key.workspace_id,
  actor_type: key.actor_type,
  actor_id: key.actor_id,
  provider: key.provider,
  purpose: key.purpose,
});

export function connectionQueries(db: Knex) {
  /** Adds `error_count_24h` from the error log to each row. */
  const withErrorCounts = (q: Knex.QueryBuilder, now: Date) =>
    q.select(
      'c.*',
      db('integration_errors as e')
        .count('*')
        .whereRaw('e.connection_id = c.id')
        .where('e.occurred_at', '>', new Date(now.getTime() - 24 * 3600 * 1000))
        .as('error_count_24h'),
    );
  const normalize = (row: (ConnectionRow & { error_count_24h: string | number }) | undefined): ConnectionWithErrors | undefined =>
    row && { ...row, error_count_24h: Number(row.error_count_24h) };

  return {
    async find(key: ConnectionKey): Promise<ConnectionRow | undefined> {
      return db('integration_connections').where(keyOf(key)).first();
    },
    async findById(id: string): Promise<ConnectionRow | undefined> {
      return db('integration_connections').where({ id }).first();
    },
    async findWithHealth(key: ConnectionKey, now: Date): Promise<ConnectionWithErrors | undefined> {
      const q = db('integration_connections as c').where(Object.fromEntries(Object.entries(keyOf(key)).map(([k, v]) => [`c.${k}`, v])));
      return normalize(await withErrorCounts(q, now).first());
    },
    /** One actor's connections in one workspace, by (provider, purpose), keyset-paged. */
    async listForActor(
      actor: Pick<ConnectionKey, 'workspace_id' | 'actor_type' | 'actor_id'>,
      options: { now: Date; after?: string; limit: number; provider?: string },
    ): Promise<ConnectionWithErrors[]> {
      const q = db('integration_connections as c')
        .where({ 'c.workspace_id': actor.workspace_id, 'c.actor_type': actor.actor_type, 'c.actor_id': actor.actor_id })
        .orderBy('c.id')
        .limit(options.limit);
      if (options.provider) q.where('c.provider', options.provider);
      if (options.after) q.where('c.id', '>', options.after);
      return (await withErrorCounts(q, options.now)).map((row: ConnectionRow & { error_count_24h: string }) => normalize(row)!);
    },
    /**
     * Stores a fresh link: a new row, or the earlier one of the same key made active again with new tokens
     * (its id and error log stay).
     */
    async upsertConnected(values: ConnectionUpsert): Promise<ConnectionRow> {
      const { now, ...row } = values;
      const fresh = {
        status: 'active',
        provider_subject: row.provider_subject,
        provider_email: row.provider_email,
        scopes: JSON.stringify(row.scopes),
        access_token_enc: row.access_token_enc,
        refresh_token_enc: row.refresh_token_enc,
        token_type: row.token_type,
        expires_at: row.expires_at,
        connected_at: now,
        last_success_at: now,
        last_error: null,
        last_error_at: null,
        revoked_at: null,
        updated_at: now,
      };
      const [stored] = await db('integration_connections')
        .insert({ ...keyOf(row), id: row.id, created_at: now, ...fresh })
        .onConflict(['workspace_id', 'actor_type', 'actor_id', 'provider', 'purpose'])
        .merge(fresh)
        .returning('*');
      return stored as ConnectionRow;
    },
    /**
     * Stores refreshed tokens only if the refresh token is still the one the refresh started from
     * (compare-and-set): a concurrent refresh that already rotated it wins, and nothing it stored is lost.
     */
    async storeRefreshed(
      id: string,
      expectedRefreshTokenEnc: string | null,
      values: Pick<ConnectionRow, 'access_token_enc' | 'refresh_token_enc' | 'token_type' | 'expires_at' | 'scopes'> & { now: Date },
    ): Promise<ConnectionRow | undefined> {
      const { now, scopes, ...tokens } = values;
      const [row] = await db('integration_connections')
        .where({ id, status: 'active' })
        .andWhere((q) => (expectedRefreshTokenEnc === null ? q.whereNull('refresh_token_enc') : q.where('refresh_token_enc', expectedRefreshTokenEnc)))
        .update({ ...tokens, scopes: JSON.stringify(scopes), last_refreshed_at: now, last_success_at: now, last_error: null, updated_at: now })
        .returning('*');
      return row;
    },
    /**
     * Records a failed attempt: the error log row, and on the connection its last error (and status when given),
     * but only while it is still the active link the attempt started from (same refresh token): a refresh
     * refused because a disconnect or a reconnect happened meanwhile must not mark the new state broken.
     */
    async recordFailure(
      id: string,
      failure: { code: string; message: string; now: Date; status?: ConnectionStatus; expectedRefreshTokenEnc?: string | null },
    ): Promise<void> {
      await db.transaction(async (trx) => {
        await trx('integration_errors').insert({ connection_id: id, code: failure.code, message: failure.message.slice(0, 1000), occurred_at: failure.now });
        const q = trx('integration_connections').where({ id, status: 'active' });
        if (failure.expectedRefreshTokenEnc === null) q.whereNull('refresh_token_enc');
        else if (failure.expectedRefreshTokenEnc !== undefined) q.where('refresh_token_enc', failure.expectedRefreshTokenEnc);
        await q
          .update({
            last_error: `${failure.code}: ${failure.message}`.slice(0, 1000),
            last_error_at: failure.now,
            updated_at: failure.now,
            ...(failure.status ? { status: failure.status } : {}),
          });
      });
    },
    /**
     * Status `revoked`, tokens gone (the row stays: status and history remain visible). Only the link that was
     * read (same `connected_at`): a reconnect that landed meanwhile is a new link and stays. Undefined when the link
     * was linked again meanwhile or is already revoked (so one caller reports the revocation).
     */
    async markRevoked(id: string, now: Date, connectedAt: Date): Promise<ConnectionRow | undefined> {
      const [row] = await db('integration_connections')
        .where({ id, connected_at: connectedAt })
        .whereNot('status', 'revoked')
        .update({ status: 'revoked', access_token_enc: null, refresh_token_enc: null, expires_at: null, revoked_at: now, updated_at: now })
        .returning('*');
      return row;
    },
    /** An actor's links that are not revoked, in every workspace (a deleted user or client loses them all). */
    async listLiveOfActor(actorType: ActorType, actorId: string): Promise<ConnectionRow[]> {
      return db('integration_connections').where({ actor_type: actorType, actor_id: actorId }).whereNot('status', 'revoked').orderBy('id');
    },
    /** Every row holding ciphertext, in pages by id (for re-encryption under the newest key). */
    async pageEncrypted(after: string | undefined, limit: number): Promise<ConnectionRow[]> {
      const q = db('integration_connections')
        .where((w) => w.whereNotNull('access_token_enc').orWhereNotNull('refresh_token_enc'))
        .orderBy('id')
        .limit(limit);
      if (after) q.where('id', '>', after);
      return q.select('*');
    },
    /** Replaces ciphertexts only if they are still the ones read (a concurrent refresh wins). */
    async replaceCiphertexts(
      id: string,
      expected: Pick<ConnectionRow, 'access_token_enc' | 'refresh_token_enc'>,
      next: Pick<ConnectionRow, 'access_token_enc' | 'refresh_token_enc'>,
    ): Promise<boolean> {
      const q = db('integration_connections').where({ id });
      for (const column of ['access_token_enc', 'refresh_token_enc'] as const) {
        const value = expected[column];
        if (value === null) q.whereNull(column);
        else q.where(column, value);
      }
      return (await q.update(next)) > 0;
    },
    async deleteErrorsOlderThan(cutoff: Date): Promise<number> {
      return db('integration_errors').where('occurred_at', '<', cutoff).delete();
    },
    /**
     * Google Cross-Account Protection (RISC): the links that are not revoked, of these providers, of one provider
     * account, in every workspace and of every actor (the Google account is the same whoever linked it). By `sub`
     * when the event names one, else by email (case-insensitive).
     */
    async findBySubject(providers: string[], subject: { sub?: string; email?: string }): Promise<ConnectionRow[]> {
      if (!providers.length || (!subject.sub && !subject.email)) return [];
      const q = db('integration_connections').whereIn('provider', providers).whereNot('status', 'revoked').orderBy('id');
      if (subject.sub) q.where('provider_subject', subject.sub);
      else q.whereRaw('lower(provider_email) = ?', [subject.email!.toLowerCase()]);
      return q.select('*');
    },
    /** Links of these providers that are not revoked and hold a refresh token, in pages by id (RISC token-revoked). */
    async pageLiveWithRefreshToken(providers: string[], after: string | undefined, limit: number): Promise<ConnectionRow[]> {
      if (!providers.length) return [];
      const q = db('integration_connections').whereIn('provider', providers).whereNot('status', 'revoked').whereNotNull('refresh_token_enc').orderBy('id').limit(limit);
      if (after) q.where('id', '>', after);
      return q.select('*');
    },
    /**
     * A status change that did not come from the link's own use (RISC). `revoked`: tokens gone, `revoked_at` set,
     * from any live status. `needs_reauth`: only from `active`; the tokens stay, and the reason is logged as an
     * error (it counts in `error_count_24h`). Both record `reason` as `last_error`. With `connectedAt`, only the
     * link that was read: a reconnect that landed meanwhile is a new link and stays. Undefined when nothing changed.
     */
    async markStatus(id: string, status: 'revoked' | 'needs_reauth', now: Date, reason: string, connectedAt?: Date): Promise<ConnectionRow | undefined> {
      const message = reason.slice(0, 1000);
      return db.transaction(async (trx) => {
        const q = trx('integration_connections').where({ id });
        if (connectedAt) q.where('connected_at', connectedAt);
        if (status === 'revoked') q.whereNot('status', 'revoked');
        else q.where('status', 'active');
        const [row] = await q
          .update({
            status,
            last_error: message,
            last_error_at: now,
            updated_at: now,
            ...(status === 'revoked' ? { access_token_enc: null, refresh_token_enc: null, expires_at: null, revoked_at: now } : {}),
          })
          .returning('*');
        if (row && status === 'needs_reauth') {
          const [code, ...rest] = message.split(': ');
          await trx('integration_errors').insert({ connection_id: id, code: code!.slice(0, 100), message: rest.join(': ') || message, occurred_at: now });
        }
        return row as ConnectionRow | undefined;
      });
    },
  };
}

export type ConnectionQueries = ReturnType<typeof connectionQueries>;
