import { isFirstParty } from './client-metadata.js';
import type { Configuration } from 'oidc-provider';
import type { Config } from '../config.js';
import { isVoiceProfile } from '../clients/voice-profiles.js';

type Ttl = NonNullable<Configuration['ttl']>;

/**
 * Token lifetimes (CONTRACT.md: access 15 min, refresh 7 days; all configurable).
 * https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#ttl
 */
const isVoice = (client: unknown) => isVoiceProfile((client as { profile?: unknown } | undefined)?.profile);

export function ttlPolicy(ttl: Config['ttl']): Ttl {
  return {
    AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? ttl.accessToken,
    ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? ttl.clientCredentials,
    AuthorizationCode: ttl.authorizationCode,
    IdToken: ttl.idToken,
    // Sliding: each rotation issues a token with a full lifetime; the grant's TTL caps the whole link.
    // Voice assistants keep a link for months: their clients get VOICE_REFRESH_TOKEN_TTL (1 year).
    RefreshToken: (_ctx, _token, client) => (isVoice(client) ? ttl.voiceRefreshToken : ttl.refreshToken),
    // A voice link's grant lives at least as long as its refresh tokens. Grants saved outside a provider request
    // (our consent page) have no client in context: they get the longer of the two.
    Grant: (ctx) => (ctx?.oidc?.client && !isVoice(ctx.oidc.client) ? ttl.grant : Math.max(ttl.grant, ttl.voiceRefreshToken)),
    Session: ttl.session,
    Interaction: ttl.interaction,
    PushedAuthorizationRequest: ttl.pushedAuthorizationRequest,
  };
}

/**
 * Refresh tokens for every client allowed the `refresh_token` grant, without depending on
 * `offline_access` + `prompt=consent` (oidc-provider's default).
 * https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#issuerefreshtoken
 */
export const issueRefreshToken: Configuration['issueRefreshToken'] = async (_ctx, client) => client.grantTypeAllowed('refresh_token');


/**
 * Which tokens die with the browser session that created them. oidc-provider binds such tokens to the session
 * (each use checks it still exists for the same account and grant) and, at RP-initiated logout, revokes the grants
 * of the clients in that session whose tokens are bound to it. Tokens not bound to it survive a logout.
 * - Voice assistants (`profile`): never bound; a link must survive the user signing out of the browser.
 * - `offline_access` granted: never bound (OpenID Connect Core §11, Back-Channel Logout §2.7).
 * - First-party apps (`first_party: true`): bound, refresh tokens included. They share the single sign-on
 *   session, so logging out of one app (or of the account page) ends them all (issue 8, "Logout everywhere").
 * - Other (third-party) clients allowed `refresh_token`: not bound. The user consented to their access; it
 *   lasts until revoked (account page, RFC 7009, admin), not until the browser session ends.
 * - Anything else (no refresh tokens): bound, the provider's default.
 * https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#expireswithsession
 */
export const expiresWithSession: Configuration['expiresWithSession'] = async (ctx, code) => {
  const client = ctx.oidc.client;
  if (isVoice(client) || code.scopes.has('offline_access')) return false;
  if (isFirstParty(client)) return true;
  return !client?.grantTypeAllowed('refresh_token');
};

/**
 * Always rotate (RFC 9700 §4.14.2); reuse is detected by the adapter, which also answers a concurrent
 * duplicate refresh inside the grace window instead of revoking the grant.
 */
export const rotateRefreshToken: Configuration['rotateRefreshToken'] = true;
