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
    /** Undefined when the identifier is taken. */
    async insert(server: NewResourceServer): Promise<ResourceServerRow | undefined> {
      const [row] = await db('resource_servers')
        .insert({ ...server, scopes: JSON.stringify(server.scopes) })
        .onConflict('identifier')
        .ignore()
        .returning('*');
      return row;
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
