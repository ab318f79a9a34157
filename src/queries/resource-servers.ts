import type { Knex } from 'knex';

export interface ResourceServerRow {
  id: string;
  identifier: string;
  workspace_id: string;
  scopes: string[];
  access_token_ttl: number | null;
  created_at: Date;
}

export function resourceServerQueries(db: Knex) {
  return {
    async findByIdentifier(identifier: string): Promise<ResourceServerRow | undefined> {
      return db('resource_servers').where({ identifier }).first();
    },
  };
}

export type ResourceServerQueries = ReturnType<typeof resourceServerQueries>;
