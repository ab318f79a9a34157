import type Router from '@koa/router';
import { z } from 'zod';
import { createRouter } from '../http/router.js';
import { originOf } from '../audit/origin.js';
import type { GrantService } from '../grants/service.js';
import { requireBearer, type Principal, type TokenResolver } from '../http/bearer-auth.js';
import { notFound } from '../http/errors.js';
import { decodeCursorKey, page, pageQuery } from '../http/pagination.js';
import { parseQuery } from '../http/validate.js';

/** A grant id as oidc-provider makes them (a nanoid: URL-safe alphabet). */
const grantCursorKey = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/);

/**
 * The signed-in user's own grants (CONTRACT.md, Account API): a user access token with scope `account`.
 * Revoking one kills every token of that app at once (this is also "unlink this device / voice assistant").
 */
export function accountApiRoutes(resolve: TokenResolver, grants: GrantService): Router {
  const router = createRouter({ prefix: '/account' });
  const auth = requireBearer(resolve, { scope: 'account', realm: 'account', kinds: ['user'] });
  const accountOf = (principal: Principal) => principal.accountId!;

  // Paged like every list (CONTRACT.md): `limit` 1–1000 (default 100), keyset `cursor` on `grant_id`.
  router.get('/grants', auth, async (ctx) => {
    const query = parseQuery(ctx, pageQuery);
    const afterId = decodeCursorKey(query.cursor, grantCursorKey);
    const rows = await grants.pageForAccount(accountOf(ctx.state.principal), afterId, query.limit + 1);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = page(rows, query.limit, (row) => row.grant_id);
  });

  router.delete('/grants/:grantId', auth, async (ctx) => {
    const revoked = await grants.revokeForAccount(accountOf(ctx.state.principal), ctx.params.grantId!, originOf(ctx));
    if (!revoked) throw notFound(`no grant ${ctx.params.grantId} for this account`);
    ctx.status = 204;
  });

  return router;
}
