import type { Knex } from 'knex';

export interface WorkspaceRow {
  id: string;
  name: string;
  created_at: Date;
  updated_at: Date;
}

export function workspaceQueries(db: Knex) {
  return {
    async ensure(id: string, name: string): Promise<void> {
      await db('workspaces').insert({ id, name }).onConflict('id').ignore();
    },
  };
}

export type WorkspaceQueries = ReturnType<typeof workspaceQueries>;
