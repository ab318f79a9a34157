import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import type Provider from 'oidc-provider';
import { z } from 'zod';
import type { AuditLog } from '../audit/writer.js';
import { originOf } from '../audit/origin.js';
import { jsonBody, parseBody } from '../http/validate.js';
import { DCR_POLICY } from '../oidc/registration.js';

export const createInitialAccessTokenBody = z.strictObject({
  /** Seconds; default one day, at most 30 days. */
  expires_in: z.number().int().min(60).max(30 * 86_400).default(86_400),
});

/** Initial access tokens gate RFC 7591 dynamic registration (`registration.initialAccessToken`). */
export function initialAccessTokenRoutes(provider: Provider, audit: AuditLog): Router {
  const router = createRouter({ prefix: '/initial-access-tokens' });
  router.post('/', jsonBody, async (ctx) => {
    const body = parseBody(ctx, createInitialAccessTokenBody);
    const token = new provider.InitialAccessToken({ expiresIn: body.expires_in, policies: [DCR_POLICY] });
    const value = await token.save();
    await audit.record({ ...originOf(ctx), type: 'OAuthInitialAccessTokenCreate', details: { expires_in: body.expires_in } });
    ctx.status = 201;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      initial_access_token: value,
      expires_at: new Date((token.exp ?? 0) * 1000).toISOString(),
      registration_endpoint: `${provider.issuer}${provider.pathFor('registration')}`,
    };
  });
  return router;
}
