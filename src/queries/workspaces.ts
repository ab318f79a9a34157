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
    /** Inserts; undefined when the id is taken. */
    async insert(id: string, name: string): Promise<WorkspaceRow | undefined> {
      const [row] = await db('workspaces').insert({ id, name }).onConflict('id').ignore().returning('*');
      return row;
    },
    async find(id: string): Promise<WorkspaceRow | undefined> {
      return db('workspaces').where({ id }).first();
    },
    async list(afterId: string | undefined, limit: number): Promise<WorkspaceRow[]> {
      const q = db('workspaces').orderBy('id').limit(limit);
      if (afterId !== undefined) q.where('id', '>', afterId);
      return q.select('*');
    },
    async update(id: string, changes: { name?: string }): Promise<WorkspaceRow | undefined> {
      const [row] = await db('workspaces').where({ id }).update({ ...changes, updated_at: db.fn.now() }).returning('*');
      return row;
    },
    /** What still belongs to the workspace (a workspace is deleted only when empty). */
    async countMembers(id: string): Promise<{ users: number; clients: number; resources: number }> {
      const count = async (table: string) => Number((await db(table).where({ workspace_id: id }).count({ n: '*' }).first())?.n ?? 0);
      return { users: await count('users'), clients: await count('clients'), resources: await count('resource_servers') };
    },
    async delete(id: string): Promise<number> {
      return db('workspaces').where({ id }).delete();
    },
  };
}

export type WorkspaceQueries = ReturnType<typeof workspaceQueries>;
