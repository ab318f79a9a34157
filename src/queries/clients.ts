import type { Knex } from 'knex';

export interface ClientRow {
  client_id: string;
  workspace_id: string;
  metadata: Record<string, unknown>;
  secret_hash: string | null;
  secret_encrypted: string | null;
  created_at: Date;
  updated_at: Date;
}

export type ClientWrite = Pick<ClientRow, 'client_id' | 'workspace_id' | 'metadata' | 'secret_hash' | 'secret_encrypted'>;

export function clientQueries(db: Knex) {
  return {
    async find(clientId: string): Promise<ClientRow | undefined> {
      return db('clients').where({ client_id: clientId }).first();
    },
    async upsert(client: ClientWrite): Promise<void> {
      await db('clients')
        .insert({ ...client, metadata: JSON.stringify(client.metadata) })
        .onConflict('client_id')
        .merge({
          workspace_id: client.workspace_id,
          metadata: JSON.stringify(client.metadata),
          secret_hash: client.secret_hash,
          secret_encrypted: client.secret_encrypted,
          updated_at: db.fn.now(),
        });
    },
    /** Inserts; undefined when the client_id is taken. */
    async insertUnlessTaken(client: ClientWrite): Promise<ClientRow | undefined> {
      const [row] = await db('clients')
        .insert({ ...client, metadata: JSON.stringify(client.metadata) })
        .onConflict('client_id')
        .ignore()
        .returning('*');
      return row;
    },
    async update(client: ClientWrite): Promise<ClientRow | undefined> {
      const [row] = await db('clients')
        .where({ client_id: client.client_id })
        .update({
          workspace_id: client.workspace_id,
          metadata: JSON.stringify(client.metadata),
          secret_hash: client.secret_hash,
          secret_encrypted: client.secret_encrypted,
          updated_at: db.fn.now(),
        })
        .returning('*');
      return row;
    },
    async list(filter: { workspaceId?: string; afterId?: string }, limit: number): Promise<ClientRow[]> {
      const q = db('clients').orderBy('client_id').limit(limit);
      if (filter.workspaceId) q.where({ workspace_id: filter.workspaceId });
      if (filter.afterId !== undefined) q.where('client_id', '>', filter.afterId);
      return q.select('*');
    },
    async delete(clientId: string): Promise<number> {
      return db('clients').where({ client_id: clientId }).delete();
    },
    /** Clients whose secret is stored encrypted, in pages by client_id (for re-encryption). */
    async pageEncryptedSecrets(afterId: string | undefined, limit: number): Promise<Array<{ client_id: string; secret_encrypted: string }>> {
      const q = db('clients').whereNotNull('secret_encrypted').orderBy('client_id').limit(limit);
      if (afterId !== undefined) q.where('client_id', '>', afterId);
      return q.select('client_id', 'secret_encrypted');
    },
    /**
     * Compare-and-set on the old ciphertext: a secret rotated meanwhile is left alone. `updated_at` stays:
     * the client did not change, only the key its secret is sealed with.
     */
    async replaceSecretEncrypted(clientId: string, expected: string, next: string): Promise<boolean> {
      return (await db('clients').where({ client_id: clientId, secret_encrypted: expected }).update({ secret_encrypted: next })) > 0;
    },
  };
}

export type ClientQueries = ReturnType<typeof clientQueries>;
