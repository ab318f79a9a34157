import { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** Scopes no grant may carry without an explicit decision (CONTRACT.md: `admin` only via client_credentials). */
const NEVER_GRANTED = new Set(['admin']);

/**
 * The scopes a linking request gets: the known scopes in `scope` (default `openid`), each of which must be in the
 * client's `scope` metadata (CONTRACT.md: otherwise `invalid_scope`). Unknown scope values are ignored, as the
 * authorization endpoint does with OpenID scopes it does not know.
 */
export function linkingScopes(ctx: KoaContextWithOIDC): string[] {
  const { client, params } = ctx.oidc;
  const requested = params?.scope ? [...ctx.oidc.requestParamOIDCScopes] : ['openid'];
  const allowed = new Set(String(client?.scope ?? '').split(' '));
  for (const scope of requested) {
    if (NEVER_GRANTED.has(scope) || !allowed.has(scope)) throw new errors.InvalidScope('requested scope is not allowed', scope);
  }
  return requested;
}

type IssueRefreshToken = NonNullable<Configuration['issueRefreshToken']>;

/**
 * Tokens for `accountId`, built the way oidc-provider's authorization_code grant builds them (lib/helpers/grant_common.js
 * `issueTokens`), through the public models only: a new Grant holding the scopes, an opaque AccessToken and, when the
 * configured `issueRefreshToken` policy says so, a RefreshToken of that grant. The models apply `ttl`,
 * `extraTokenClaims` (the `workspace` claim) and the adapter; the token endpoint emits `grant.success` afterwards.
 * There is no browser session here, so nothing expires with one.
 */
export async function issueLinkTokens(ctx: KoaContextWithOIDC, accountId: string, scopes: string[], issueRefreshToken: IssueRefreshToken): Promise<void> {
  const { provider } = ctx.oidc;
  const client = ctx.oidc.client!;

  const grant = new provider.Grant({ accountId, clientId: client.clientId });
  if (scopes.length) grant.addOIDCScope(scopes.join(' '));
  const grantId = await grant.save();
  ctx.oidc.entity('Grant', grant);

  const at = new provider.AccessToken({ accountId, client, grantId, gty: JWT_BEARER, expiresWithSession: false });
  at.scope = grant.getOIDCScopeFiltered(new Set(scopes));
  ctx.oidc.entity('AccessToken', at);
  const accessToken = await at.save();

  let refreshToken: string | undefined;
  // The policy receives the access token as the grant source (it carries accountId, grantId, scope, scopes).
  if (await issueRefreshToken(ctx, client, at as unknown as Parameters<IssueRefreshToken>[2])) {
    const rt = new provider.RefreshToken({
      accountId,
      client,
      grantId,
      gty: JWT_BEARER,
      scope: at.scope,
      rotations: 0,
      expiresWithSession: false,
    });
    ctx.oidc.entity('RefreshToken', rt);
    refreshToken = await rt.save();
  }

  ctx.body = {
    access_token: accessToken,
    expires_in: at.expiration,
    ...(refreshToken ? { refresh_token: refreshToken } : {}),
    ...(at.scope ? { scope: at.scope } : {}),
    token_type: at.tokenType,
  };
}
