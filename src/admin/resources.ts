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
import { resourceIdentifierKey, resourceIdentifierProblem } from '../oidc/resource-servers.js';

/**
 * RFC 8707 §2: an absolute https, http or urn URI without credentials or fragment (src/oidc/resource-servers.ts).
 * Not the issuer: checked in the handler, which knows it.
 */
const identifier = z
  .string()
  .max(2000)
  .superRefine((value, ctx) => {
    const problem = resourceIdentifierProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** RFC 6749 §3.3 scope-token. */
const scopeToken = z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'a scope token (no spaces or quotes)');

/**
 * Scopes that mean something to this server itself (CONTRACT.md, Scopes): a resource server may not offer them, so a
 * token for an API never carries `admin`, `account`, `integrations:token`, `openid` or `offline_access`. `profile` and
 * `email` stay allowed: token exchange narrows a user's token to the scopes it shares with the target API
 * (src/oidc/token-exchange/issue.ts), and those are the ones a user's token carries.
 */
export const RESERVED_RESOURCE_SCOPES = ['openid', 'offline_access', 'account', 'integrations:token', 'admin'] as const;
const reserved = new Set<string>(RESERVED_RESOURCE_SCOPES);

const scopes = z
  .array(scopeToken)
  .max(100)
  .superRefine((list, ctx) => {
    const taken = [...new Set(list.filter((scope) => reserved.has(scope)))];
    if (taken.length) ctx.addIssue({ code: 'custom', message: `${taken.join(', ')}: reserved for this server (${RESERVED_RESOURCE_SCOPES.join(' ')})` });
  });

export const createResourceBody = z.strictObject({
  identifier,
  scopes: scopes.default([]),
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

/** Equal up to URL normalisation and a trailing slash (`https://id.example.com` and `https://ID.example.com/`). */
const sameUrl = (a: string, b: string) => new URL(a).href.replace(/\/+$/, '') === new URL(b).href.replace(/\/+$/, '');

/** Resource servers: APIs with their own audience (`resource=`, RFC 8707). */
export function resourceRoutes(resources: ResourceServerQueries, workspaces: WorkspaceQueries, audit: AuditLog, issuer: string): Router {
  const router = createRouter({ prefix: '/resources' });
  router.post('/', jsonBody, async (ctx) => {
    const body = parseBody(ctx, createResourceBody);
    // Tokens with the issuer as audience would read as this server's own (introspection, userinfo, /admin).
    if (sameUrl(body.identifier, issuer)) throw badRequest(`identifier: ${body.identifier} is this server's issuer, not a resource server`);
    const workspaceId = body.workspace_id ?? 'default';
    if (!(await workspaces.find(workspaceId))) throw badRequest(`workspace ${workspaceId} does not exist`);
    // Stored as given, and refused when it is another spelling of a registered identifier (`HTTPS://API.example.com`,
    // `https://api.example.com:443/` for `https://api.example.com`): the `resource` parameter is matched exactly
    // (src/oidc/resource-servers.ts), so two spellings would be two audiences for one API.
    const created = await resources.insertUnlessEquivalent(
      { id: randomUUID(), identifier: body.identifier, workspace_id: workspaceId, scopes: [...new Set(body.scopes)], access_token_ttl: body.access_token_ttl ?? null },
      resourceIdentifierKey,
    );
    if ('existing' in created) {
      throw conflict(
        created.existing === body.identifier
          ? `a resource server with identifier ${body.identifier} exists`
          : `identifier: ${body.identifier} is the registered resource server ${created.existing} spelled differently (RFC 3986 §6.2: scheme and host are case-insensitive, a default port and an empty path are implied); use that identifier`,
        'resource_exists',
      );
    }
    const { row } = created;
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
