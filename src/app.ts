import Koa from 'koa';
import type { AppContext } from './context.js';
import { derivePurposeSecret } from './crypto/keyring.js';
import { logAppErrors } from './http/app-errors.js';
import { errorHandler, notFound } from './http/errors.js';
import { methodNotAllowed } from './http/method-not-allowed.js';
import { healthRoutes } from './http/health.js';
import { httpMetrics } from './metrics/http.js';
import { metricsRoutes } from './metrics/routes.js';
import { requestContext, securityHeaders } from './http/request-context.js';
import { rejectMalformedRequestLine } from './http/input-guard.js';
import { interactionCsrf } from './interactions/csrf.js';
import { interactionRoutes } from './interactions/routes.js';
import { loginThrottle } from './interactions/login-throttle.js';
import { adminRoutes } from './admin/routes.js';
import { accountApiRoutes } from './account/routes.js';
import { accountPageRoutes } from './account/page.js';
import { openApiRoutes } from './openapi/routes.js';
import { integrationRoutes } from './integrations/routes.js';
import { riscRoutes } from './integrations/risc/index.js';
import { alexaRoutes } from './integrations/alexa/routes.js';

/**
 * The Koa host: our routes first, then oidc-provider (mounted at the root, so the issuer is ISSUER).
 * The provider runs through its own callback with its own Koa context and reads the raw body itself.
 */
export function createApp(context: AppContext): Koa {
  const { config, logger, provider, accounts, keyring } = context;
  const app = new Koa({ proxy: config.trustProxy });
  const csrfSecret = derivePurposeSecret(keyring, 'interaction-csrf');

  const routers = [
    healthRoutes(context),
    metricsRoutes({ metrics: context.metrics, token: config.metrics.token }),
    interactionRoutes({ provider, accounts, audit: context.audit, csrf: interactionCsrf(csrfSecret, config.issuer), throttle: loginThrottle(context.rateLimits) }),
    adminRoutes({ ...context, resolve: context.resolveToken }),
    accountApiRoutes(context.resolveToken, context.grants),
    accountPageRoutes(context),
    // before the generic /integrations/:provider routes
    riscRoutes({ receiver: context.risc }),
    alexaRoutes(context.acceptGrant),
    integrationRoutes(context.resolveToken, context.integrations),
    openApiRoutes(config.issuer),
  ];

  app.use(requestContext(logger));
  app.use(httpMetrics(context.metrics));
  app.use(securityHeaders);
  app.use(errorHandler(logger));
  app.use(rejectMalformedRequestLine);
  for (const router of routers) {
    const routes = router.routes() as unknown as Koa.Middleware;
    // The provider's token endpoints, JWKS and discovery skip our routers: none of them has a route there, and
    // walking them all cost ~12 % of a token request's CPU (docs/performance.md, "Where the time goes").
    app.use((ctx, next) => (isProviderOnlyPath(ctx.path) ? next() : routes(ctx, next)));
  }

  // A path of ours asked with another method is a 405 (the provider's own paths: src/oidc/provider-boundary.ts).
  app.use(methodNotAllowed);

  // Our API prefixes never fall through to the provider: an unknown route there is a JSON 404.
  app.use(async (ctx, next) => {
    if (/^\/(admin|account|integrations)(\/|$)/.test(ctx.path)) throw notFound(`no route ${ctx.method} ${ctx.path}`);
    await next();
  });

  logAppErrors(logger, app, provider);
  const providerCallback = provider.callback();
  app.use(async (ctx) => {
    // RFC 8414 metadata is the same document as OIDC discovery; oidc-provider serves only the latter.
    if (ctx.path === '/.well-known/oauth-authorization-server') ctx.req.url = '/.well-known/openid-configuration';
    ctx.respond = false;
    await providerCallback(ctx.req, ctx.res);
  });

  return app;
}

/** Paths only oidc-provider answers (its default routes: token, introspection, revocation, JWKS, discovery). */
const isProviderOnlyPath = (path: string): boolean =>
  path === '/token' || path.startsWith('/token/') || path === '/jwks' || path.startsWith('/.well-known/');
