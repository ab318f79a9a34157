import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import { z } from 'zod';
import { originOf } from '../audit/origin.js';
import type { ClientAdminService } from '../clients/admin-service.js';
import { ALEXA_VENDOR_ID, GOOGLE_PROJECT_ID, VOICE_PROFILES } from '../clients/voice-profiles.js';
import { decodeCursor, page, pageQuery } from '../http/pagination.js';
import { jsonBody, parseBody, parseQuery } from '../http/validate.js';

const ROLE_NAME = /^[A-Za-z][A-Za-z0-9_:.-]{0,63}$/;
const clientId = z.string().regex(/^[A-Za-z0-9._~-]{3,128}$/, '3–128 characters from A-Z a-z 0-9 . _ ~ -');

/** Fields the provider validates are passed through; ours are typed here (CONTRACT.md, Admin API). */
const ours = {
  workspace_id: z.string().min(1).max(128).optional(),
  first_party: z.boolean().optional(),
  require_pkce: z.boolean().optional(),
  client_name: z.string().min(1).max(200).optional(),
  redirect_uris: z.array(z.string().max(2000)).max(50).optional(),
  grant_types: z.array(z.string()).optional(),
  scope: z.string().max(2000).optional(),
  profile: z.enum(VOICE_PROFILES).optional(),
  alexa_vendor_id: z.string().regex(ALEXA_VENDOR_ID, 'upper-case letters and digits (Alexa developer console)').optional(),
  google_project_id: z.string().regex(GOOGLE_PROJECT_ID, 'a Google Cloud project id').optional(),
  /** Our role → this client's name for it (issue 8, "Roles"). */
  role_map: z.record(z.string().regex(ROLE_NAME, 'a role name'), z.string().regex(ROLE_NAME, 'a role name')).optional(),
  /** Resource server identifiers this client may exchange a user's token for (RFC 8693). */
  token_exchange_audiences: z.array(z.string().min(1).max(2000)).max(50).optional(),
};

const FORBIDDEN = ['client_secret', 'client_secret_expires_at', 'client_id_issued_at', 'registration_access_token', 'registration_client_uri'];

const refuse = (keys: string[], why: string) => (body: Record<string, unknown>, ctx: z.RefinementCtx) => {
  for (const key of keys) if (key in body) ctx.addIssue({ code: 'custom', path: [key], message: why });
};

export const createClientBody = z
  .looseObject({ ...ours, client_id: clientId.optional() })
  .superRefine(refuse(FORBIDDEN, 'is set by the server'));

/** PATCH: the same fields; `null` removes an optional one. */
export const updateClientBody = z
  .looseObject({
    workspace_id: ours.workspace_id,
    first_party: z.boolean().nullable().optional(),
    require_pkce: z.boolean().nullable().optional(),
    client_name: z.string().min(1).max(200).nullable().optional(),
    redirect_uris: ours.redirect_uris,
    grant_types: ours.grant_types,
    scope: ours.scope,
    role_map: ours.role_map.nullable(),
    token_exchange_audiences: ours.token_exchange_audiences.nullable(),
  })
  .superRefine(refuse(['profile', 'alexa_vendor_id', 'google_project_id'], 'is fixed at creation; create a new client for another platform'))
  .superRefine(refuse([...FORBIDDEN, 'client_id'], 'cannot be changed here'));

export const listClientsQuery = pageQuery.extend({ workspace_id: z.string().optional() });

export function clientRoutes(service: ClientAdminService): Router {
  const router = createRouter({ prefix: '/clients' });

  router.post('/', jsonBody, async (ctx) => {
    const body = parseBody(ctx, createClientBody, 'invalid_client_metadata');
    ctx.status = 201;
    ctx.body = await service.create(body, originOf(ctx));
  });

  router.get('/', async (ctx) => {
    const query = parseQuery(ctx, listClientsQuery);
    const rows = await service.list({ workspaceId: query.workspace_id, afterId: decodeCursor(query.cursor) }, query.limit + 1);
    ctx.body = page(rows, query.limit, (row) => row.client_id);
  });

  router.get('/:id', async (ctx) => {
    ctx.body = await service.read(ctx.params.id!);
  });

  router.patch('/:id', jsonBody, async (ctx) => {
    const body = parseBody(ctx, updateClientBody, 'invalid_client_metadata');
    ctx.body = await service.update(ctx.params.id!, body, originOf(ctx));
  });

  router.delete('/:id', async (ctx) => {
    await service.remove(ctx.params.id!, originOf(ctx));
    ctx.status = 204;
  });

  router.post('/:id/secret', async (ctx) => {
    ctx.body = await service.rotateSecret(ctx.params.id!, originOf(ctx));
  });

  return router;
}
