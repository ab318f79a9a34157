import type { Knex } from 'knex';

export interface WorkspaceRow {
  id: string;
  name: string;
  created_at: Date;
  updated_at: Date;
}

/** What still belongs to a workspace; any of it blocks the workspace's deletion. */
export interface WorkspaceMembers {
  users: number;
  clients: number;
  resources: number;
  /** Connections not revoked (they hold tokens). */
  connections: number;
}

/** A workspace's own settings: deleted with it. */
export interface WorkspaceSettings {
  webhooks: number;
  mailboxes: number;
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
    /**
     * Deletes the workspace if nothing belongs to it any more; otherwise deletes nothing and says what is left.
     * Undefined when there is no such workspace. The row lock (FOR UPDATE) conflicts with the FOR KEY SHARE lock a
     * foreign-key insert takes on the workspace row, so nothing can join between the count and the delete.
     * The workspace's own settings, its webhook subscriptions and mailbox settings, go with it (ON DELETE CASCADE)
     * and are counted in `settingsRemoved`; only members and live connections block.
     * https://www.postgresql.org/docs/current/explicit-locking.html#LOCKING-ROWS
     */
    async deleteIfEmpty(id: string): Promise<{ deleted: boolean; members: WorkspaceMembers; settingsRemoved: WorkspaceSettings } | undefined> {
      return db.transaction(async (trx) => {
        if (!(await trx('workspaces').where({ id }).forUpdate().first())) return undefined;
        const count = async (table: string, live?: (q: Knex.QueryBuilder) => void) => {
          const q = trx(table).where({ workspace_id: id });
          live?.(q);
          return Number((await q.count({ n: '*' }).first())?.n ?? 0);
        };
        const members: WorkspaceMembers = {
          users: await count('users'),
          clients: await count('clients'),
          resources: await count('resource_servers'),
          // A revoked connection holds no token (disconnect and user/client deletion revoke): it is history, not content.
          connections: await count('integration_connections', (q) => q.whereNot('status', 'revoked')),
        };
        if (Object.values(members).some((n) => n > 0)) return { deleted: false, members, settingsRemoved: { webhooks: 0, mailboxes: 0 } };
        const settingsRemoved = { webhooks: await count('webhook_subscriptions'), mailboxes: await count('integration_mailboxes') };
        await trx('workspaces').where({ id }).delete();
        return { deleted: true, members, settingsRemoved };
      });
    },
  };
}

export type WorkspaceQueries = ReturnType<typeof workspaceQueries>;
