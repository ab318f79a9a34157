import type { Knex } from 'knex';

export interface SigningKeyRow {
  kid: string;
  alg: string;
  private_jwk_encrypted: string;
  created_at: Date;
  retire_at: Date | null;
}

export function signingKeyQueries(db: Knex) {
  return {
    /** Keys still published: current ones and retiring ones inside their overlap, newest first. */
    async listPublished(now: Date): Promise<SigningKeyRow[]> {
      return db('signing_keys')
        .where((q) => q.whereNull('retire_at').orWhere('retire_at', '>', now))
        .orderBy([{ column: 'retire_at', order: 'asc', nulls: 'first' }, { column: 'created_at', order: 'desc' }]);
    },
    /** Inserts new keys and schedules every current key's retirement, in one transaction. */
    async rotate(newKeys: Array<Pick<SigningKeyRow, 'kid' | 'alg' | 'private_jwk_encrypted'>>, retireAt: Date): Promise<void> {
      await db.transaction(async (trx) => {
        await trx('signing_keys').whereNull('retire_at').update({ retire_at: retireAt });
        await trx('signing_keys').insert(newKeys);
      });
    },
    async insertIfNone(newKeys: Array<Pick<SigningKeyRow, 'kid' | 'alg' | 'private_jwk_encrypted'>>): Promise<boolean> {
      return db.transaction(async (trx) => {
        // Serialise first-start key generation across instances.
        await trx.raw('LOCK TABLE signing_keys IN EXCLUSIVE MODE');
        const existing = await trx('signing_keys').whereNull('retire_at').first('kid');
        if (existing) return false;
        await trx('signing_keys').insert(newKeys);
        return true;
      });
    },
    async deleteRetired(now: Date): Promise<number> {
      return db('signing_keys').whereNotNull('retire_at').andWhere('retire_at', '<=', now).delete();
    },
    /** Every key (retiring ones too), in pages by kid: for re-encryption under the newest ENCRYPTION_KEYS key. */
    async pageEncrypted(after: string | undefined, limit: number): Promise<Array<Pick<SigningKeyRow, 'kid' | 'private_jwk_encrypted'>>> {
      const q = db('signing_keys').orderBy('kid').limit(limit);
      if (after !== undefined) q.where('kid', '>', after);
      return q.select('kid', 'private_jwk_encrypted');
    },
    /** Compare-and-set: replaces the ciphertext only if it is still the one read. */
    async replaceEncrypted(kid: string, expected: string, next: string): Promise<boolean> {
      return (await db('signing_keys').where({ kid, private_jwk_encrypted: expected }).update({ private_jwk_encrypted: next })) > 0;
    },
  };
}

export type SigningKeyQueries = ReturnType<typeof signingKeyQueries>;
