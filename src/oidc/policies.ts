import type { Configuration } from 'oidc-provider';
import type { Config } from '../config.js';

type Ttl = NonNullable<Configuration['ttl']>;

/**
 * Token lifetimes (CONTRACT.md: access 15 min, refresh 7 days; all configurable).
 * https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#ttl
 */
export function ttlPolicy(ttl: Config['ttl']): Ttl {
  return {
    AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? ttl.accessToken,
    ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? ttl.clientCredentials,
    AuthorizationCode: ttl.authorizationCode,
    IdToken: ttl.idToken,
    // Sliding: each rotation issues a token with a full lifetime; the grant's TTL caps the whole link.
    RefreshToken: ttl.refreshToken,
    Grant: ttl.grant,
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
