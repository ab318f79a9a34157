import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { AuditLog } from '../audit/writer.js';
import { originOf } from '../audit/origin.js';
import { badRequest, conflict, notFound } from '../http/errors.js';
import { decodeCursor, page, pageQuery } from '../http/pagination.js';
import { jsonBody, parseBody, parseQuery } from '../http/validate.js';
import type { ResourceServerQueries, ResourceServerRow } from '../queries/resource-servers.js';
import type { WorkspaceQueries } from '../queries/workspaces.js';

/** RFC 8707 §2: an absolute URI without a fragment. */
const identifier = z
  .string()
  .max(2000)
  .refine((value) => {
    try {
      const url = new URL(value);
      return !url.hash && !value.includes('#');
    } catch {
      return false;
    }
  }, 'an absolute URI without a fragment (RFC 8707)');

/** RFC 6749 §3.3 scope-token. */
const scopeToken = z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'a scope token (no spaces or quotes)');

export const createResourceBody = z.strictObject({
  identifier,
  scopes: z.array(scopeToken).max(100).default([]),
  access_token_ttl: z.number().int().min(30).max(86_400).optional(),
  workspace_id: z.string().min(1).max(128).optional(),
});

export const toResourceView = (row: ResourceServerRow) => ({
  id: row.id,
  identifier: row.identifier,
  workspace_id: row.workspace_id,
  scopes: row.scopes,
  access_token_ttl: row.access_token_ttl,
  created_at: new Date(row.created_at).toISOString(),
});

/** Resource servers: APIs with their own audience (`resource=`, RFC 8707). */
export function resourceRoutes(resources: ResourceServerQueries, workspaces: WorkspaceQueries, audit: AuditLog): Router {
  const router = createRouter({ prefix: '/resources' });
  router.post('/', jsonBody, async (ctx) => {
    const body = parseBody(ctx, createResourceBody);
    const workspaceId = body.workspace_id ?? 'default';
    if (!(await workspaces.find(workspaceId))) throw badRequest(`workspace ${workspaceId} does not exist`);
    const row = await resources.insert({
      id: randomUUID(),
      identifier: body.identifier,
      workspace_id: workspaceId,
      scopes: [...new Set(body.scopes)],
      access_token_ttl: body.access_token_ttl ?? null,
    });
    if (!row) throw conflict(`a resource server with identifier ${body.identifier} exists`, 'resource_exists');
    await audit.record({ ...originOf(ctx), type: 'ResourceServerCreate', workspaceId, details: { identifier: row.identifier } });
    ctx.status = 201;
    ctx.body = toResourceView(row);
  });
  router.get('/', async (ctx) => {
    const query = parseQuery(ctx, pageQuery);
    ctx.body = page((await resources.list(decodeCursor(query.cursor), query.limit + 1)).map(toResourceView), query.limit, (row) => row.id);
  });
  router.delete('/:id', async (ctx) => {
    const id = ctx.params.id!;
    const row = /^[0-9a-f-]{36}$/i.test(id) ? await resources.find(id) : undefined;
    if (!row) throw notFound(`no resource server ${id}`);
    await resources.delete(id);
    await audit.record({ ...originOf(ctx), type: 'ResourceServerDelete', workspaceId: row.workspace_id, details: { identifier: row.identifier } });
    ctx.status = 204;
  });
  return router;
}
