import type { FindAccount, KoaContextWithOIDC, Provider } from 'oidc-provider';
import type { ResourceServerQueries } from '../queries/resource-servers.js';
import { exchangedScopes, issueExchangedToken } from './token-exchange/issue.js';
import { assertTokenParameters, loadSubject } from './token-exchange/subject.js';
import { assertActingClient, resolveTarget, type ExchangeClient } from './token-exchange/target.js';

export { ACCESS_TOKEN_TYPE } from './token-exchange/subject.js';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

/**
 * OAuth 2.0 Token Exchange (RFC 8693), for one case: a confidential first-party backend holding a user's access
 * token gets a token for another first-party API, on the user's behalf.
 *
 *   POST /token  (client authentication of the backend)
 *   grant_type=urn:ietf:params:oauth:grant-type:token-exchange
 *   subject_token=<the user's access token, issued to this client>
 *   subject_token_type=urn:ietf:params:oauth:token-type:access_token
 *   resource=<API identifier>  and/or  audience=<the same identifier>
 *   scope=<optional, narrower>
 *
 * → 200 { access_token, issued_token_type: …:access_token, token_type: "Bearer", expires_in, scope }
 *
 * The new token is for that API only (`aud`), with scopes no wider than the subject token's and only the API's,
 * carries `act: { sub: <client_id> }`, belongs to the subject's grant, and never outlives the subject token.
 * Which client may exchange for which API is administered: `first_party: true` and `token_exchange_audiences`
 * (resource server identifiers) in the client's metadata. Refusals: `unauthorized_client` (public, not first
 * party, no audiences), `invalid_target` (target missing, not allowed, not registered), `invalid_grant` (subject
 * token invalid or not this client's), `invalid_scope`, `invalid_request` (token types, actor tokens).
 *
 * Built on oidc-provider's `registerGrantType`: the token endpoint authenticates the client, checks that its
 * `grant_types` list this grant, and emits `grant.success` / `grant.error`, which the audit log records as
 * `OAuthTokenExchange` (src/audit/provider-events.ts).
 * https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#registergranttype
 */
export interface TokenExchangeDependencies {
  resourceServers: ResourceServerQueries;
  /** The provider's configured findAccount: a user who no longer exists has nothing to exchange. */
  findAccount: FindAccount;
  /** Default access token lifetime (seconds) when the resource server sets none. */
  accessTokenTtl: number;
}

/** RFC 8693 §2.1 parameters. `resource` and `audience` may repeat (RFC 8693); more than one target is refused. */
const PARAMETERS = ['subject_token', 'subject_token_type', 'resource', 'audience', 'scope', 'requested_token_type', 'actor_token', 'actor_token_type'];
const REPEATABLE = ['resource', 'audience'];

function exchangeHandler(deps: TokenExchangeDependencies) {
  return async (ctx: KoaContextWithOIDC) => {
    const subjectToken = assertTokenParameters(ctx);
    const allowed = assertActingClient(ctx.oidc.client as unknown as ExchangeClient);
    const target = await resolveTarget(ctx, allowed, deps.resourceServers);
    const subject = await loadSubject(ctx, subjectToken, deps.findAccount);
    const scopes = exchangedScopes(ctx, subject.token, target);
    await issueExchangedToken(ctx, subject, { gty: TOKEN_EXCHANGE, target, scopes, defaultTtl: deps.accessTokenTtl });
  };
}

export function installTokenExchange(provider: Provider, deps: TokenExchangeDependencies): void {
  provider.registerGrantType(TOKEN_EXCHANGE, exchangeHandler(deps), PARAMETERS, REPEATABLE);
}
