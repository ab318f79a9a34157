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

/**
 * Initial access tokens gate RFC 7591 dynamic registration (`registration.initialAccessToken`). oidc-provider's
 * adapter-backed tokens are not consumed by a registration: one registers clients until it expires (RFC 7591 leaves
 * it to the server; CONTRACT.md asks for nothing more). Each registration carries the token's policies (DCR_POLICY).
 * https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#featuresregistration
 */
export function initialAccessTokenRoutes(provider: Provider, audit: AuditLog): Router {
  const router = createRouter({ prefix: '/initial-access-tokens' });
  router.post('/', jsonBody, async (ctx) => {
    const body = parseBody(ctx, createInitialAccessTokenBody);
    // `exp` set here: the provider computes it at save() without writing it back to the token (it read as 1970).
    // Its own clock (epoch seconds of Date.now()) is the one that checks the expiry.
    const exp = Math.floor(Date.now() / 1000) + body.expires_in;
    const token = new provider.InitialAccessToken({ exp, policies: [DCR_POLICY] });
    const value = await token.save();
    await audit.record({ ...originOf(ctx), type: 'OAuthInitialAccessTokenCreate', details: { expires_in: body.expires_in } });
    ctx.status = 201;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      initial_access_token: value,
      expires_at: new Date(exp * 1000).toISOString(),
      registration_endpoint: provider.urlFor('registration'),
    };
  });
  return router;
}
