import { changedFields } from '../audit/changed-fields.js';
import type { AuditLog } from '../audit/writer.js';
import type { AuditOrigin } from '../audit/origin.js';
import { hashPassword } from '../crypto/secrets.js';
import type { GrantService } from '../grants/service.js';
import { badRequest, conflict, notFound } from '../http/errors.js';
import type { UserQueries, UserRow } from '../queries/users.js';
import type { WorkspaceQueries } from '../queries/workspaces.js';
import { randomUUID } from 'node:crypto';

export interface UserView {
  id: string;
  email: string;
  email_verified: boolean;
  name: string | null;
  workspace_id: string;
  roles: string[];
  created_at: string;
  updated_at: string;
}

export const toUserView = (row: UserRow): UserView => ({
  id: row.id,
  email: row.email,
  email_verified: row.email_verified,
  name: row.name,
  workspace_id: row.workspace_id,
  roles: row.roles,
  created_at: new Date(row.created_at).toISOString(),
  updated_at: new Date(row.updated_at).toISOString(),
});

export interface UserAdminDependencies {
  users: UserQueries;
  workspaces: WorkspaceQueries;
  grants: GrantService;
  audit: AuditLog;
  /** Disconnects a deleted user's linked external accounts (the consumer side). */
  linkedAccounts?: { disconnectAllOfActor(actorType: 'user', actorId: string, origin: AuditOrigin): Promise<number> };
}

/** Users for the admin API: one workspace each, email unique per deployment, never a password hash out. */
export function userAdminService({ users, workspaces, grants, audit, linkedAccounts }: UserAdminDependencies) {
  const load = async (id: string) => {
    const row = await users.findById(id);
    if (!row) throw notFound(`no user ${id}`);
    return row;
  };
  const event = (origin: AuditOrigin, row: UserRow) => ({ ...origin, accountId: row.id, workspaceId: row.workspace_id });

  return {
    async create(input: { email: string; password: string; name?: string; workspace_id?: string; email_verified?: boolean; roles?: string[] }, origin: AuditOrigin) {
      const workspaceId = input.workspace_id ?? 'default';
      if (!(await workspaces.find(workspaceId))) throw badRequest(`workspace ${workspaceId} does not exist`);
      const row = await users.insertUnlessTaken({
        id: randomUUID(),
        workspace_id: workspaceId,
        email: input.email.trim(),
        email_verified: input.email_verified ?? false,
        name: input.name ?? null,
        password_hash: await hashPassword(input.password),
        roles: input.roles ?? [],
      });
      if (!row) throw conflict(`a user with email ${input.email} exists`, 'email_taken');
      await audit.record({ ...event(origin, row), type: 'UserCreate' });
      return toUserView(row);
    },
    async list(filter: { workspaceId?: string; afterId?: string }, limit: number) {
      return (await users.list(filter, limit)).map(toUserView);
    },
    async read(id: string) {
      return toUserView(await load(id));
    },
    /**
     * Writes the fields whose value is another than the stored one; a password sent always counts as changed (it is
     * never shown, so never echoed). Nothing changed: no write (`updated_at` stays), and still one event.
     */
    async update(id: string, changes: { name?: string | null; password?: string; roles?: string[]; email_verified?: boolean }, origin: AuditOrigin) {
      const current = await load(id);
      const { password, ...rest } = changes;
      const view = toUserView(current);
      // The view has no `password`: one sent differs from it (only its name goes in the event).
      const changed = changedFields(Object.keys(changes), view, { ...view, ...changes });
      const row = changed.length ? await users.update(id, { ...rest, ...(password ? { password_hash: await hashPassword(password) } : {}) }) : current;
      if (!row) throw notFound(`no user ${id}`);
      await audit.record({ ...event(origin, row), type: 'UserUpdate', details: { changed } });
      return toUserView(row);
    },
    /** Deletes the user, then revokes every grant, signs out every session and disconnects every linked account of theirs. */
    async remove(id: string, origin: AuditOrigin) {
      const row = await load(id);
      // Row first: a flow finishing meanwhile then fails in findAccount instead of leaving a live grant.
      await users.delete(id);
      const revoked = await grants.revokeAllOfAccount(id, origin);
      const disconnected = (await linkedAccounts?.disconnectAllOfActor('user', id, origin)) ?? 0;
      await audit.record({ ...event(origin, row), type: 'UserDelete', details: { grants_revoked: revoked, integrations_disconnected: disconnected } });
    },
  };
}

export type UserAdminService = ReturnType<typeof userAdminService>;
