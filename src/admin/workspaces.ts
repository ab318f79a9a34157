import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { AuditLog } from '../audit/writer.js';
import { originOf } from '../audit/origin.js';
import { conflict, notFound } from '../http/errors.js';
import { decodeCursor, page, pageQuery } from '../http/pagination.js';
import { jsonBody, parseBody, parseQuery } from '../http/validate.js';
import { readOnlyFields } from '../http/read-only-fields.js';
import { changedFields } from '../audit/changed-fields.js';
import type { WorkspaceMembers, WorkspaceQueries, WorkspaceRow } from '../queries/workspaces.js';

export const DEFAULT_WORKSPACE = 'default';

export const createWorkspaceBody = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{1,62}$/, '2–63 characters: a-z 0-9 _ -, starting with a letter or digit').optional(),
  name: z.string().trim().min(1).max(200),
});
/** What GET shows and no PATCH changes: sent back with its current value (timestamps: any value), it is dropped. */
const readOnly = readOnlyFields({ id: 'is fixed at creation' });
/** PATCH: the name, plus the read-only fields GET shows (GET → modify → PATCH). */
export const updateWorkspaceBody = z.strictObject({ name: z.string().trim().min(1).max(200), ...readOnly.shape });

export const toWorkspaceView = (row: WorkspaceRow) => ({
  id: row.id,
  name: row.name,
  created_at: new Date(row.created_at).toISOString(),
  updated_at: new Date(row.updated_at).toISOString(),
});

const MEMBER_NAMES: Record<keyof WorkspaceMembers, [string, string]> = {
  users: ['user', 'users'],
  clients: ['client', 'clients'],
  resources: ['resource server', 'resource servers'],
  connections: ['integration connection', 'integration connections'],
};

/** "2 users and 1 resource server": only what is left. */
export function describeMembers(members: WorkspaceMembers): string {
  const parts = (Object.keys(MEMBER_NAMES) as Array<keyof WorkspaceMembers>)
    .filter((key) => members[key] > 0)
    .map((key) => `${members[key]} ${MEMBER_NAMES[key][members[key] === 1 ? 0 : 1]}`);
  return parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}` : (parts[0] ?? 'nothing');
}

/**
 * Tenants. `default` always exists; a workspace is deleted only once nothing belongs to it: no users, clients,
 * resource servers or live integration connections (README: "only an empty workspace can be deleted (409
 * otherwise)"). Its own settings (webhook subscriptions, mailbox settings) go with it; its delete event counts them.
 */
export function workspaceRoutes(workspaces: WorkspaceQueries, audit: AuditLog): Router {
  const router = createRouter({ prefix: '/workspaces' });
  const load = async (id: string) => {
    const row = await workspaces.find(id);
    if (!row) throw notFound(`no workspace ${id}`);
    return row;
  };

  router.post('/', jsonBody, async (ctx) => {
    const body = parseBody(ctx, createWorkspaceBody);
    const id = body.id ?? `ws-${randomBytes(6).toString('hex')}`;
    const row = await workspaces.insert(id, body.name);
    if (!row) throw conflict(`workspace ${id} exists`, 'workspace_exists');
    await audit.record({ ...originOf(ctx), type: 'WorkspaceCreate', workspaceId: id });
    ctx.status = 201;
    ctx.body = toWorkspaceView(row);
  });
  router.get('/', async (ctx) => {
    const query = parseQuery(ctx, pageQuery);
    ctx.body = page((await workspaces.list(decodeCursor(query.cursor), query.limit + 1)).map(toWorkspaceView), query.limit, (row) => row.id);
  });
  router.get('/:id', async (ctx) => {
    ctx.body = toWorkspaceView(await load(ctx.params.id!));
  });
  router.patch('/:id', jsonBody, async (ctx) => {
    const body = parseBody(ctx, updateWorkspaceBody);
    const current = await load(ctx.params.id!);
    const view = toWorkspaceView(current);
    const changes = readOnly.drop(body, view);
    const changed = changedFields(Object.keys(changes), view, { ...view, ...changes });
    // Nothing changed (a GET body sent back as it was): no write, `updated_at` stays; the event is still recorded.
    const row = changed.length ? await workspaces.update(ctx.params.id!, changes) : current;
    if (!row) throw notFound(`no workspace ${ctx.params.id}`);
    await audit.record({ ...originOf(ctx), type: 'WorkspaceUpdate', workspaceId: row.id, details: { changed } });
    ctx.body = toWorkspaceView(row);
  });
  router.delete('/:id', async (ctx) => {
    const id = ctx.params.id!;
    await load(id);
    if (id === DEFAULT_WORKSPACE) throw conflict('the default workspace cannot be deleted', 'workspace_protected');
    let outcome;
    try {
      outcome = await workspaces.deleteIfEmpty(id);
    } catch (error) {
      // Something joined the workspace meanwhile: the foreign key refuses, and so do we.
      if ((error as { code?: string }).code === '23503') throw conflict(`workspace ${id} is not empty`, 'workspace_not_empty');
      throw error;
    }
    if (!outcome) throw notFound(`no workspace ${id}`);
    if (!outcome.deleted) throw conflict(`workspace ${id} still has ${describeMembers(outcome.members)}; remove them first`, 'workspace_not_empty');
    await audit.record({
      ...originOf(ctx),
      type: 'WorkspaceDelete',
      workspaceId: id,
      details: { webhooks_removed: outcome.settingsRemoved.webhooks, mailbox_settings_removed: outcome.settingsRemoved.mailboxes },
    });
    ctx.status = 204;
  });
  return router;
}
