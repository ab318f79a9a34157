import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import { originOf } from '../audit/origin.js';
import type { GrantService } from '../grants/service.js';
import { requireBearer, type Principal, type TokenResolver } from '../http/bearer-auth.js';
import { notFound } from '../http/errors.js';

/**
 * The signed-in user's own grants (CONTRACT.md, Account API): a user access token with scope `account`.
 * Revoking one kills every token of that app at once (this is also "unlink this device / voice assistant").
 */
export function accountApiRoutes(resolve: TokenResolver, grants: GrantService): Router {
  const router = createRouter({ prefix: '/account' });
  const auth = requireBearer(resolve, { scope: 'account', realm: 'account', kinds: ['user'] });
  const accountOf = (principal: Principal) => principal.accountId!;

  router.get('/grants', auth, async (ctx) => {
    const items = await grants.listForAccount(accountOf(ctx.state.principal));
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { items, next_cursor: null };
  });

  router.delete('/grants/:grantId', auth, async (ctx) => {
    const revoked = await grants.revokeForAccount(accountOf(ctx.state.principal), ctx.params.grantId!, originOf(ctx));
    if (!revoked) throw notFound(`no grant ${ctx.params.grantId} for this account`);
    ctx.status = 204;
  });

  return router;
}
