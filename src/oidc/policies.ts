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
 * Tokens of clients that hold refresh tokens must outlive the browser session that created them.
 * https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#expireswithsession
 */
export const expiresWithSession: Configuration['expiresWithSession'] = async (ctx, code) =>
  !(code.scopes.has('offline_access') || ctx.oidc.client?.grantTypeAllowed('refresh_token'));

/**
 * Always rotate (RFC 9700 §4.14.2); reuse is detected by the adapter, which also answers a concurrent
 * duplicate refresh inside the grace window instead of revoking the grant.
 */
export const rotateRefreshToken: Configuration['rotateRefreshToken'] = true;
