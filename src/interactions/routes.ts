import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import { koaBody } from 'koa-body';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { errors, type InteractionResults } from 'oidc-provider';
import { z } from 'zod';
import type { AccountService } from '../accounts/service.js';
import type { AuditLog } from '../audit/writer.js';
import { loginPage, consentPage } from '../views/interaction-pages.js';
import { PAGE_CSP } from '../views/html.js';
import { badRequest } from '../http/errors.js';
import type { interactionCsrf } from './csrf.js';
import { rateLimitHeaders } from '../http/rate-limit.js';
import { loginThrottle, type LoginBlock, type LoginThrottle } from './login-throttle.js';

// No control characters in a login name (Postgres refuses NUL in text: a 500 otherwise).
const loginForm = z.object({ email: z.string().trim().min(1).max(320).regex(/^[^\p{Cc}]*$/u), password: z.string().min(1).max(1024), csrf: z.string() });
const csrfForm = z.object({ csrf: z.string() });

export interface InteractionDependencies {
  provider: Provider;
  accounts: AccountService;
  audit: AuditLog;
  csrf: ReturnType<typeof interactionCsrf>;
  /** Failed-login lockout (absent: none). */
  throttle?: LoginThrottle;
}

/** Scopes only client_credentials may carry (CONTRACT.md, Scopes). */
const NON_INTERACTIVE_SCOPES = ['admin'];

/**
 * Login and consent pages for oidc-provider's interactions.
 * https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#user-flows
 */
export function interactionRoutes({ provider, accounts, audit, csrf, throttle = loginThrottle({}) }: InteractionDependencies): Router {
  const router = createRouter({ prefix: '/interaction' });
  const form = koaBody({ urlencoded: true, json: false, multipart: false, formLimit: '16kb' });

  // An interaction that is gone (expired, finished in another tab, lost with a Redis flush): say what to do next.
  router.use(async (_ctx, next) => {
    try {
      await next();
    } catch (error) {
      if (error instanceof errors.SessionNotFound) throw badRequest('This sign-in request has expired or is no longer known. Go back to the application and start again.');
      throw error;
    }
  });

  const render = (ctx: Context, page: string, status = 200) => {
    ctx.status = status;
    ctx.set('Content-Security-Policy', PAGE_CSP);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = page;
  };

  const finish = async (ctx: Context, result: InteractionResults, merge: boolean) => {
    const redirectTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
    ctx.status = 303;
    ctx.redirect(redirectTo);
  };

  const clientName = async (clientId: unknown) => {
    const client = await provider.Client.find(String(clientId));
    return client?.clientName ?? String(clientId);
  };

  const parse = <T>(schema: z.ZodType<T>, body: unknown): T => {
    const result = schema.safeParse(body);
    if (!result.success) throw badRequest(`invalid form: ${result.error.issues.map((i) => i.path.join('.') || i.message).join(', ')}`);
    return result.data;
  };

  router.get('/:uid', async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const requested = String(details.params.scope ?? '').split(' ');
    const refused = requested.filter((scope) => NON_INTERACTIVE_SCOPES.includes(scope));
    if (refused.length > 0) {
      return finish(ctx, { error: 'invalid_scope', error_description: `scope ${refused.join(' ')} is granted only through client_credentials` }, false);
    }
    const name = await clientName(details.params.client_id);
    const token = csrf.tokenFor(details.uid);
    if (details.prompt.name === 'login') {
      return render(ctx, loginPage({ action: `/interaction/${details.uid}/login`, csrf: token, clientName: name, email: String(details.params.login_hint ?? '') }));
    }
    const account = await accounts.find(String(details.session?.accountId));
    const details_ = details.prompt.details as { missingOIDCScope?: string[]; missingResourceScopes?: Record<string, string[]> };
    const scopes = [...(details_.missingOIDCScope ?? []), ...Object.values(details_.missingResourceScopes ?? {}).flat()];
    return render(
      ctx,
      consentPage({
        confirmAction: `/interaction/${details.uid}/confirm`,
        abortAction: `/interaction/${details.uid}/abort`,
        csrf: token,
        clientName: name,
        scopes: [...new Set(scopes)],
        accountEmail: account?.email ?? '',
      }),
    );
  });

  router.post('/:uid/login', form, async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.prompt.name !== 'login') throw badRequest('this interaction is not waiting for a login');
    const input = parse(loginForm, ctx.request.body);
    csrf.verify(ctx, details.uid, input.csrf);
    const clientId = String(details.params.client_id);
    const origin = { ip: ctx.ip, requestId: ctx.state.requestId, clientId };
    const again = async (error: string, status: number) =>
      render(
        ctx,
        loginPage({ action: `/interaction/${details.uid}/login`, csrf: csrf.tokenFor(details.uid), clientName: await clientName(clientId), email: input.email, error }),
        status,
      );
    // A locked login is answered before the password is looked at: even the right one waits (429, RFC 6585 §4).
    const lock = await throttle.check(input.email, ctx.ip);
    if (lock) {
      await audit.record({ ...origin, type: 'LoginFailure', outcome: 'failure', actor: 'anonymous', details: { login: input.email, reason: 'locked', scope: lock.scope } });
      ctx.set(rateLimitHeaders(lock));
      return again(lockedMessage(lock), 429);
    }
    const user = await accounts.authenticate(input.email, input.password);
    if (!user) {
      const reached = await throttle.failed(input.email, ctx.ip);
      const lockout = reached ? { locked: reached.scope } : {};
      await audit.record({ ...origin, type: 'LoginFailure', outcome: 'failure', actor: 'anonymous', details: { login: input.email, reason: 'invalid_credentials', ...lockout } });
      if (!reached) return again('Wrong email or password.', 401);
      ctx.set(rateLimitHeaders(reached));
      return again(lockedMessage(reached), 429);
    }
    await throttle.succeeded(input.email, ctx.ip);
    await audit.record({ ...origin, type: 'LoginSuccess', actor: `user:${user.id}`, accountId: user.id, workspaceId: user.workspace_id });
    return finish(ctx, { login: { accountId: user.id } }, false);
  });

  router.post('/:uid/confirm', form, async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.prompt.name !== 'consent') throw badRequest('this interaction is not waiting for consent');
    csrf.verify(ctx, details.uid, parse(csrfForm, ctx.request.body).csrf);
    const accountId = details.session?.accountId;
    if (!accountId) throw badRequest('no signed-in account for this interaction');
    const clientId = String(details.params.client_id);
    const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId, clientId });
    if (!grant) throw badRequest('the grant of this interaction no longer exists');
    // Grant exactly what was asked and is still missing (never more).
    const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    return finish(ctx, { consent: { grantId } }, true);
  });

  router.post('/:uid/abort', form, async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    csrf.verify(ctx, details.uid, parse(csrfForm, ctx.request.body).csrf);
    return finish(ctx, { error: 'access_denied', error_description: 'the user denied the request' }, false);
  });

  return router;
}

/** The same words whether or not the account exists. */
function lockedMessage(lock: LoginBlock): string {
  const seconds = lock.retryAfterSeconds;
  const wait = seconds < 90 ? `${seconds} seconds` : seconds < 90 * 60 ? `${Math.ceil(seconds / 60)} minutes` : `${Math.ceil(seconds / 3600)} hours`;
  return `Too many failed sign-in attempts. Try again in ${wait}.`;
}
