import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import { z } from 'zod';
import { originOf } from '../audit/origin.js';
import { requireBearer, type TokenResolver } from '../http/bearer-auth.js';
import { decodeCursorKey, page, pageQuery, uuidCursorKey } from '../http/pagination.js';
import { jsonBody, parseBody, parseQuery, parseWith } from '../http/validate.js';
import { actorOf } from './actor.js';
import { mailboxBody, purposeParam } from './mailboxes.js';
import type { IntegrationService } from './service.js';
import { mailboxCheckHandler } from './mail-check/service.js';

const scopeToken = z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]{1,512}$/, 'a scope token');
const purpose = purposeParam.default('default');

export const authorizeBody = z.strictObject({
  purpose,
  return_to: z.string().max(2000).optional(),
  scopes: z.array(scopeToken).min(1).max(50).optional(),
});
export const tokenBody = z.strictObject({
  purpose,
  scopes: z.array(scopeToken).min(1).max(50).optional(),
  force_refresh: z.boolean().default(false),
});
export const purposeBody = z.strictObject({ purpose });
export const purposeQuery = z.object({ purpose });
export const listQuery = pageQuery.extend({ provider: z.string().max(64).optional() });
const providerName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a provider name');

/**
 * The Integrations API (CONTRACT.md): any access token of this server; the token decides the actor.
 * The callback is the provider's redirect and is authenticated by `state` alone.
 */
export function integrationRoutes(resolve: TokenResolver, integrations: IntegrationService): Router {
  const router = createRouter({ prefix: '/integrations' });
  const auth = requireBearer(resolve, { realm: 'integrations' });
  const vendAuth = requireBearer(resolve, { realm: 'integrations', scope: 'integrations:token' });
  const provider = (params: Record<string, string | undefined>) => parseWith(providerName, params.provider);
  const noStore = (ctx: { set(name: string, value: string): void }) => ctx.set('Cache-Control', 'no-store');
  router.use(jsonBody); // parses POST/PUT/PATCH JSON bodies only

  router.get('/providers', auth, async (ctx) => {
    ctx.body = { items: integrations.providers(), next_cursor: null };
  });

  router.get('/', auth, async (ctx) => {
    const query = parseQuery(ctx, listQuery);
    const after = decodeCursorKey(query.cursor, uuidCursorKey);
    const items = await integrations.list(actorOf(ctx.state.principal), { after, limit: query.limit + 1, provider: query.provider });
    noStore(ctx);
    ctx.body = page(items, query.limit, (item) => item.id);
  });

  // Mailboxes before /:provider routes, so "mailboxes" is never read as a provider name.
  router.get('/mailboxes/:purpose', auth, async (ctx) => {
    noStore(ctx);
    ctx.body = await integrations.mailboxes.get(actorOf(ctx.state.principal), parseWith(purposeParam, ctx.params.purpose));
  });
  router.put('/mailboxes/:purpose', auth, async (ctx) => {
    const result = await integrations.mailboxes.put(actorOf(ctx.state.principal), parseWith(purposeParam, ctx.params.purpose), parseBody(ctx, mailboxBody), originOf(ctx));
    noStore(ctx);
    ctx.status = result.created ? 201 : 200;
    ctx.body = result.view;
  });

  router.post('/mailboxes/:purpose/check', auth, mailboxCheckHandler(integrations.mailCheck));

  router.post('/:provider/authorize', auth, async (ctx) => {
    const body = parseBody(ctx, authorizeBody);
    noStore(ctx);
    ctx.body = await integrations.authorize(actorOf(ctx.state.principal), provider(ctx.params), body);
  });

  router.get('/:provider/callback', async (ctx) => {
    const query = new URLSearchParams(ctx.querystring);
    const { connection, returnTo } = await integrations.callback(provider(ctx.params), query, originOf(ctx));
    noStore(ctx);
    if (returnTo) {
      const target = new URL(returnTo);
      target.searchParams.set('connected', connection.provider);
      target.searchParams.set('purpose', connection.purpose);
      ctx.status = 303;
      ctx.redirect(target.toString());
      return;
    }
    ctx.body = await integrations.view(connection);
  });

  router.get('/:provider/status', auth, async (ctx) => {
    const { purpose } = parseQuery(ctx, purposeQuery);
    noStore(ctx);
    ctx.body = await integrations.status(actorOf(ctx.state.principal), provider(ctx.params), purpose);
  });

  router.post('/:provider/token', vendAuth, async (ctx) => {
    const body = parseBody(ctx, tokenBody);
    noStore(ctx);
    ctx.set('Pragma', 'no-cache');
    ctx.body = await integrations.token(actorOf(ctx.state.principal), provider(ctx.params), body, originOf(ctx));
  });

  router.post('/:provider/disconnect', auth, async (ctx) => {
    const { purpose } = parseBody(ctx, purposeBody);
    const result = await integrations.disconnect(actorOf(ctx.state.principal), provider(ctx.params), purpose, originOf(ctx));
    ctx.body = { ...(await integrations.view(result.connection)), upstream_revocation: result.upstream_revocation, mailboxes_reverted: result.mailboxes_reverted };
  });

  return router;
}
