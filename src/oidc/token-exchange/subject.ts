import { errors, type AccessToken, type FindAccount, type Grant, type KoaContextWithOIDC } from 'oidc-provider';

export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

export interface Subject {
  token: AccessToken;
  grant: Grant;
  accountId: string;
}

/**
 * The request's token parameters (RFC 8693 §2.1). Only this server's opaque access tokens are accepted as
 * subject, only access tokens are issued, and the acting party is the authenticated client itself: there is no
 * separate actor token. Malformed or unsupported combinations are `invalid_request`.
 */
export function assertTokenParameters(ctx: KoaContextWithOIDC): string {
  const params = ctx.oidc.params as Record<string, unknown>;
  const subjectToken = params.subject_token;
  if (typeof subjectToken !== 'string' || !subjectToken) throw new errors.InvalidRequest("missing required parameter 'subject_token'");
  if (!params.subject_token_type) throw new errors.InvalidRequest("missing required parameter 'subject_token_type'");
  if (params.subject_token_type !== ACCESS_TOKEN_TYPE) throw new errors.InvalidRequest(`unsupported subject_token_type, only ${ACCESS_TOKEN_TYPE} is accepted`);
  if (params.requested_token_type !== undefined && params.requested_token_type !== ACCESS_TOKEN_TYPE) {
    throw new errors.InvalidRequest(`unsupported requested_token_type, only ${ACCESS_TOKEN_TYPE} is issued`);
  }
  if (params.actor_token !== undefined || params.actor_token_type !== undefined) {
    throw new errors.InvalidRequest('actor_token is not supported: the authenticated client is the actor');
  }
  return subjectToken;
}

/**
 * The user's access token the client presents, checked the way introspection and our bearer auth check a token:
 * an opaque access token of this server, valid (not expired, not revoked, its session still there when it is
 * bound to one), of a grant that still exists and belongs to the same client and user, of an account that still
 * exists. It must have been issued to the acting client: a backend exchanges the tokens its users gave it, not
 * tokens of other apps (and the new token joins that grant, so revoking the grant ends it too). A
 * sender-constrained (DPoP) token is refused: presenting it here would use it without its proof.
 * Every failure is `invalid_grant`; another client's token gets the same answer as an unknown one.
 */
export async function loadSubject(ctx: KoaContextWithOIDC, value: string, findAccount: FindAccount): Promise<Subject> {
  const { provider } = ctx.oidc;
  const client = ctx.oidc.client!;
  const invalid = () => new errors.InvalidGrant('subject token is invalid, expired or revoked');

  const token = await provider.AccessToken.find(value);
  if (!token?.isValid || !token.grantId || !token.accountId) throw invalid();
  if (token.clientId !== client.clientId) throw invalid();
  if (token.isSenderConstrained()) throw new errors.InvalidGrant('sender-constrained subject tokens cannot be exchanged');

  const grant = await provider.Grant.find(token.grantId);
  if (!grant || grant.isExpired || grant.clientId !== token.clientId || grant.accountId !== token.accountId) throw invalid();
  // From here on the audit log knows the account (src/audit/provider-events.ts reads the Grant entity).
  ctx.oidc.entity('Grant', grant);

  // The configured findAccount, as the built-in grants call it (a deleted user has no tokens to exchange).
  const account = await findAccount(ctx, token.accountId, token);
  if (!account) throw invalid();
  ctx.oidc.entity('Account', account);

  return { token, grant, accountId: token.accountId };
}
