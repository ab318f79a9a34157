import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import { koaBody } from 'koa-body';
import type { Context } from 'koa';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { derivePurposeSecret } from '../crypto/keyring.js';
import { forbidden, notFound } from '../http/errors.js';
import { interactionCsrf } from '../interactions/csrf.js';
import { PAGE_CSP } from '../views/html.js';
import { accountPage } from '../views/account-page.js';
import { ACCOUNT_CONSOLE_CLIENT_ID } from '../../seeds/index.js';
import { signedInUser } from './browser-session.js';
import { accountSignIn } from './signin.js';
import type { IntegrationActor } from '../integrations/actor.js';

const userActor = (account: { id: string; workspace_id: string }): IntegrationActor => ({ workspace_id: account.workspace_id, actor_type: 'user', actor_id: account.id });

const revokeForm = z.object({ csrf: z.string().max(200) });
const grantIdParam = z.string().min(1).max(200).regex(/^[A-Za-z0-9_-]+$/);
const pageQuery = z.object({ revoked: z.literal('1').optional(), disconnected: z.literal('1').optional() });
const connectionIdParam = z.uuid();

/**
 * The account page at /account, for the user's browser session: "Apps with access" (revoke one per form) and
 * "Linked accounts". Signed out, the browser goes through the account-console client's sign-in (./signin.ts).
 * Forms carry an HMAC token bound to the provider session and are Origin-checked, like the interaction forms.
 */
export function accountPageRoutes(context: AppContext): Router {
  const { config, provider, grants, accounts, keyring, clock, integrations } = context;
  const router = createRouter();
  const derive = (purpose: string) => derivePurposeSecret(keyring, purpose);
  const csrf = interactionCsrf(derive('account-page-csrf'), config.issuer);
  const signIn = accountSignIn({ provider, issuer: config.issuer, secret: derive('account-signin'), clock });
  const form = koaBody({ urlencoded: true, json: false, multipart: false, formLimit: '16kb' });
  const csrfSubject = (sessionUid: string) => `account:${sessionUid}`;

  const toSignIn = (ctx: Context) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 303;
    ctx.redirect('/account/signin');
  };

  router.get('/account', async (ctx) => {
    const user = await signedInUser(provider, ctx);
    const account = user && (await accounts.find(user.accountId));
    if (!user || !account) return toSignIn(ctx);
    const apps = (await grants.listForAccount(account.id)).filter((app) => app.client_id !== ACCOUNT_CONSOLE_CLIENT_ID);
    const linked = await integrations.list(userActor(account), { limit: 200 });
    const query = pageQuery.safeParse(ctx.query).data;
    ctx.set('Content-Security-Policy', PAGE_CSP);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = accountPage({
      email: account.email,
      apps,
      csrf: csrf.tokenFor(csrfSubject(user.sessionUid)),
      revoked: query?.revoked === '1',
      disconnected: query?.disconnected === '1',
      linked,
      signOutUrl: provider.pathFor('end_session'),
    });
  });

  router.get('/account/signin', (ctx) => signIn.start(ctx));
  router.get('/account/callback', (ctx) => signIn.finish(ctx));

  router.post('/account/grants/:grantId/revoke', form, async (ctx) => {
    const user = await signedInUser(provider, ctx);
    if (!user) throw forbidden('you are not signed in; open your account page and try again');
    const body = revokeForm.safeParse(ctx.request.body);
    csrf.verify(ctx, csrfSubject(user.sessionUid), body.data?.csrf);
    const grantId = grantIdParam.safeParse(ctx.params.grantId);
    const origin = { actor: `user:${user.accountId}`, ip: ctx.ip, requestId: ctx.state.requestId };
    if (!grantId.success || !(await grants.revokeForAccount(user.accountId, grantId.data, origin))) {
      throw notFound('this app has no access to your account (any more)');
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 303;
    ctx.redirect('/account?revoked=1');
  });

  router.post('/account/connections/:connectionId/disconnect', form, async (ctx) => {
    const user = await signedInUser(provider, ctx);
    const account = user && (await accounts.find(user.accountId));
    if (!user || !account) throw forbidden('you are not signed in; open your account page and try again');
    const body = revokeForm.safeParse(ctx.request.body);
    csrf.verify(ctx, csrfSubject(user.sessionUid), body.data?.csrf);
    const id = connectionIdParam.safeParse(ctx.params.connectionId);
    const actor = userActor(account);
    const connection = id.success ? await integrations.findOwn(actor, id.data) : undefined;
    if (!connection) throw notFound('this linked account does not exist (any more)');
    await integrations.disconnect(actor, connection.provider, connection.purpose, { actor: `user:${user.accountId}`, ip: ctx.ip, requestId: ctx.state.requestId });
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 303;
    ctx.redirect('/account?disconnected=1');
  });

  return router;
}
