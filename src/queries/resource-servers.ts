import type { Knex } from 'knex';

export interface ResourceServerRow {
  id: string;
  identifier: string;
  workspace_id: string;
  scopes: string[];
  access_token_ttl: number | null;
  created_at: Date;
}

export type NewResourceServer = Omit<ResourceServerRow, 'created_at'>;

export function resourceServerQueries(db: Knex) {
  return {
    async findByIdentifier(identifier: string): Promise<ResourceServerRow | undefined> {
      return db('resource_servers').where({ identifier }).first();
    },
    async find(id: string): Promise<ResourceServerRow | undefined> {
      return db('resource_servers').where({ id }).first();
    },
    /**
     * Inserts the server unless a registered identifier has the same `keyOf` (another spelling of the same URI);
     * then returns that identifier instead. The table is locked for the check and the insert, so two spellings
     * created at once cannot both land (readers are not blocked; creating a resource server is rare).
     */
    async insertUnlessEquivalent(server: NewResourceServer, keyOf: (identifier: string) => string): Promise<{ row: ResourceServerRow } | { existing: string }> {
      return db.transaction(async (trx) => {
        await trx.raw('LOCK TABLE resource_servers IN SHARE ROW EXCLUSIVE MODE');
        const key = keyOf(server.identifier);
        const registered: Array<{ identifier: string }> = await trx('resource_servers').select('identifier');
        const same = registered.find(({ identifier }) => identifier === server.identifier) ?? registered.find(({ identifier }) => keyOf(identifier) === key);
        if (same) return { existing: same.identifier };
        const [row] = await trx('resource_servers')
          .insert({ ...server, scopes: JSON.stringify(server.scopes) })
          .returning('*');
        return { row: row as ResourceServerRow };
      });
    },
    async list(afterId: string | undefined, limit: number): Promise<ResourceServerRow[]> {
      const q = db('resource_servers').orderBy('id').limit(limit);
      if (afterId !== undefined) q.where('id', '>', afterId);
      return q.select('*');
    },
    async delete(id: string): Promise<number> {
      return db('resource_servers').where({ id }).delete();
    },
  };
}

export type ResourceServerQueries = ReturnType<typeof resourceServerQueries>;
