import type { Knex } from 'knex';
import { groupCommit } from './group-commit.js';
import { preparedStatements } from './prepared.js';
import type { StatementRunner } from '../db/knex.js';

export interface StoredArtifact {
  payload: Record<string, unknown>;
  consumedAt: Date | null;
  expiresAt: Date | null;
}

export interface ArtifactIndexes {
  grantId?: string;
  uid?: string;
  userCode?: string;
  accountId?: string;
  clientId?: string;
}

type ArtifactRow = { payload: Record<string, unknown>; consumed_at: Date | null; expires_at: Date | null };

/** SQL for oidc-provider's artifacts. `id` is already the storage key (hashed for bearer values). */
export function oidcModelQueries(db: Knex, statements?: StatementRunner) {
  const table = () => db('oidc_models');
  const live = (now: Date) => (q: Knex.QueryBuilder) => q.whereNull('expires_at').orWhere('expires_at', '>', now);
  const toArtifact = (row: ArtifactRow) => ({
    payload: row.payload,
    consumedAt: row.consumed_at,
    expiresAt: row.expires_at,
  });

  // The statements every token request runs, prepared (src/queries/prepared.ts).
  const statement = preparedStatements(db, statements);
  const onConflict = `ON CONFLICT (model, id) DO UPDATE SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id, uid = EXCLUDED.uid,
       user_code = EXCLUDED.user_code, account_id = EXCLUDED.account_id, client_id = EXCLUDED.client_id, expires_at = EXCLUDED.expires_at`;
  const upsertRow = statement(
    'oidc_models_upsert',
    `INSERT INTO oidc_models (model, id, payload, grant_id, uid, user_code, account_id, client_id, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ${onConflict}`,
  );
  // Many rows in one statement: one array per column, zipped by unnest (one prepared statement for any count).
  const upsertRows = statement(
    'oidc_models_upsert_many',
    `INSERT INTO oidc_models (model, id, payload, grant_id, uid, user_code, account_id, client_id, expires_at)
     SELECT * FROM unnest(?::text[], ?::text[], ?::jsonb[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::timestamptz[]) ${onConflict}`,
  );
  // Every token request writes a row: concurrent writes share statements (src/queries/group-commit.ts).
  type UpsertValues = [string, string, string, string | null, string | null, string | null, string | null, string | null, Date | null];
  const upsertGrouped = groupCommit<UpsertValues>({
    writeOne: async (values) => void (await upsertRow(values)),
    writeMany: async (rows) => void (await upsertRows(rows[0]!.map((_, column) => rows.map((row) => row[column])))),
    keyOf: ([model, id]) => `${model}\n${id}`,
    maxInFlight: 2,
    maxBatch: 500,
  });
  const findRow = statement<ArtifactRow>(
    'oidc_models_find',
    'SELECT payload, consumed_at, expires_at FROM oidc_models WHERE model = ? AND id = ? AND (expires_at IS NULL OR expires_at > ?) LIMIT 1',
  );
  // `consumed_at >= NULL` is never true: without a grace moment only an unconsumed row is updated.
  const consumeRow = statement(
    'oidc_models_consume',
    `UPDATE oidc_models SET consumed_at = COALESCE(consumed_at, ?)
     WHERE model = ? AND id = ? AND (expires_at IS NULL OR expires_at > ?) AND (consumed_at IS NULL OR consumed_at >= ?)`,
  );
  const destroyRow = statement('oidc_models_destroy', 'DELETE FROM oidc_models WHERE model = ? AND id = ?');
  const destroyGrantRows = statement('oidc_models_revoke_grant', 'DELETE FROM oidc_models WHERE grant_id = ? AND model = ?');

  return {
    async upsert(model: string, id: string, payload: object, expiresAt: Date | null, indexes: ArtifactIndexes): Promise<void> {
      const { grantId, uid, userCode, accountId, clientId } = indexes;
      await upsertGrouped([model, id, JSON.stringify(payload), grantId ?? null, uid ?? null, userCode ?? null, accountId ?? null, clientId ?? null, expiresAt]);
    },

    async find(model: string, id: string, now: Date): Promise<StoredArtifact | undefined> {
      const [row] = (await findRow([model, id, now])).rows;
      return row ? toArtifact(row) : undefined;
    },

    async findBy(model: string, column: 'uid' | 'user_code', value: string, now: Date): Promise<{ id: string; artifact: StoredArtifact } | undefined> {
      const row = await table().where({ model, [column]: value }).andWhere(live(now)).first('id', 'payload', 'consumed_at', 'expires_at');
      return row ? { id: row.id, artifact: toArtifact(row) } : undefined;
    },

    /**
     * Marks an artifact consumed in one conditional UPDATE (never read-then-write), so of N parallel
     * redemptions exactly one succeeds. `alreadyConsumedSince` lets a consumption that happened after that
     * moment count as success too (the refresh-token grace window). Returns whether this call may proceed.
     */
    async consume(model: string, id: string, now: Date, alreadyConsumedSince?: Date): Promise<boolean> {
      return (await consumeRow([now, model, id, now, alreadyConsumedSince ?? null])).count === 1;
    },

    async destroy(model: string, id: string): Promise<void> {
      await destroyRow([model, id]);
    },

    async revokeByGrantId(model: string, grantId: string): Promise<number> {
      return (await destroyGrantRows([grantId, model])).count;
    },

    async deleteExpired(now: Date, batchSize = 5000): Promise<number> {
      let total = 0;
      for (;;) {
        const deleted = await table()
          .whereIn(['model', 'id'], (q) => q.from('oidc_models').select('model', 'id').where('expires_at', '<', now).limit(batchSize))
          .delete();
        total += deleted;
        if (deleted < batchSize) return total;
      }
    },

    /**
     * Live artifacts holding a sealed value (`payload.sealedJti`), in pages by (model, id), for re-encryption.
     * Expired rows are left out: nothing reads them again and the sweeper deletes them.
     */
    async pageSealed(after: [string, string] | undefined, limit: number, now: Date): Promise<Array<{ model: string; id: string; sealed_jti: string }>> {
      const q = table()
        .whereRaw("payload->>'sealedJti' IS NOT NULL")
        .andWhere(live(now))
        .orderBy(['model', 'id'])
        .limit(limit);
      if (after) q.whereRaw('(model, id) > (?, ?)', after);
      return q.select('model', 'id', db.raw("payload->>'sealedJti' AS sealed_jti"));
    },

    /** Compare-and-set on the sealed value; only that field of the payload is rewritten. */
    async replaceSealed(model: string, id: string, expected: string, next: string): Promise<boolean> {
      const updated = await table()
        .where({ model, id })
        .andWhereRaw("payload->>'sealedJti' = ?", [expected])
        .update({ payload: db.raw("jsonb_set(payload, '{sealedJti}', to_jsonb(?::text))", [next]) });
      return updated > 0;
    },
  };
}

export type OidcModelQueries = ReturnType<typeof oidcModelQueries>;
