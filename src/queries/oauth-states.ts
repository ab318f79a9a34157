import type { Knex } from 'knex';
import type { ActorType } from './connections.js';

export interface OAuthStateRow {
  state_hash: string;
  provider: string;
  workspace_id: string;
  actor_type: ActorType;
  actor_id: string;
  purpose: string;
  return_to: string | null;
  code_verifier_enc: string | null;
  nonce: string | null;
  scopes: string[];
  created_at: Date;
  expires_at: Date;
}

export function oauthStateQueries(db: Knex) {
  return {
    async insert(row: Omit<OAuthStateRow, 'created_at' | 'scopes'> & { scopes: string[]; created_at: Date }): Promise<void> {
      await db('oauth_states').insert({ ...row, scopes: JSON.stringify(row.scopes) });
    },
    /**
     * Single use, atomically: the row is deleted and returned in one statement, so two callbacks with the same
     * state cannot both get it. Only a state issued for this provider is taken (a foreign state stays unused).
     * Expired rows are taken too, and the caller refuses them.
     */
    async take(stateHash: string, provider: string): Promise<OAuthStateRow | undefined> {
      const [row] = await db('oauth_states').where({ state_hash: stateHash, provider }).delete().returning('*');
      return row;
    },
    /** A deleted user's or client's links in progress, in every workspace (their callbacks then find no state). */
    async deleteOfActor(actorType: ActorType, actorId: string): Promise<number> {
      return db('oauth_states').where({ actor_type: actorType, actor_id: actorId }).delete();
    },
    async deleteExpired(now: Date): Promise<number> {
      return db('oauth_states').where('expires_at', '<', now).delete();
    },
    async pageEncrypted(after: string | undefined, limit: number): Promise<OAuthStateRow[]> {
      const q = db('oauth_states').whereNotNull('code_verifier_enc').orderBy('state_hash').limit(limit);
      if (after) q.where('state_hash', '>', after);
      return q.select('*');
    },
    async replaceVerifier(stateHash: string, expected: string, next: string): Promise<boolean> {
      return (await db('oauth_states').where({ state_hash: stateHash, code_verifier_enc: expected }).update({ code_verifier_enc: next })) > 0;
    },
  };
}

export type OAuthStateQueries = ReturnType<typeof oauthStateQueries>;
