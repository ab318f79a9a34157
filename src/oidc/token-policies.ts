import { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';

type Features = NonNullable<Configuration['features']>;
type IntrospectionPolicy = NonNullable<NonNullable<Features['introspection']>['allowedPolicy']>;
type RevocationPolicy = NonNullable<NonNullable<Features['revocation']>['allowedPolicy']>;
type RevokeGrantPolicy = NonNullable<Configuration['revokeGrantPolicy']>;

const workspaceOf = (client: object): string => (client as { workspace_id?: string }).workspace_id ?? 'default';

/**
 * RFC 7662 §4: a confidential client (a resource server) may introspect the tokens of its own workspace; a public
 * client only its own tokens (it cannot prove who it is). Others' tokens answer `{ active: false }`, so one
 * tenant's clients learn nothing about another tenant's tokens.
 * https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#featuresintrospection
 */
export const introspectionAllowed: IntrospectionPolicy = async (ctx, client, token) => {
  if (token.clientId === client.clientId) return true;
  if (client.clientAuthMethod === 'none') return false;
  // A deleted client's tokens are inactive, including client_credentials tokens, which have no grant to revoke.
  const owner = await ctx.oidc.provider.Client.find(token.clientId!);
  return owner !== undefined && workspaceOf(owner) === workspaceOf(client);
};

/** Why a revocation request revoked nothing although it answers 200. */
export type RevocationRefusal = 'not_owner' | 'other_workspace';

/**
 * What the revocation policy decided, for the audit middleware (src/audit/provider-events.ts): RFC 7009 answers 200
 * whether or not anything was revoked, and oidc-provider emits no event for either.
 */
export interface RevocationDecision {
  revoked: boolean;
  refusal?: RevocationRefusal;
}

const decide = (ctx: KoaContextWithOIDC, decision: RevocationDecision): void => {
  ctx.state.revocation = decision;
};

export const revocationDecision = (ctx: KoaContextWithOIDC): RevocationDecision | undefined =>
  ctx.state?.revocation as RevocationDecision | undefined;

/**
 * RFC 7009 §2.1: a client revokes only tokens issued to it. Another client's token is not revoked, and:
 * - a public client gets the silent 200 the RFC allows (it cannot prove who it is: it learns nothing);
 * - a confidential client of another workspace (or a token whose client is gone) gets the same 200 an unknown
 *   token gets (§2.2), so revocation is no cross-tenant oracle, just as introspection answers `active: false`;
 * - a confidential client of the same workspace is told (400 `invalid_request`): it may introspect that token
 *   anyway (introspectionAllowed), so the answer reveals nothing more.
 * Each refusal is audited as a failed OAuthRevoke.
 * https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#featuresrevocation
 */
export const revocationAllowed: RevocationPolicy = async (ctx, client, token) => {
  if (token.clientId === client.clientId) {
    decide(ctx, { revoked: true });
    return true;
  }
  if (client.clientAuthMethod === 'none') {
    decide(ctx, { revoked: false, refusal: 'not_owner' });
    return false;
  }
  const owner = await ctx.oidc.provider.Client.find(token.clientId!);
  if (!owner || workspaceOf(owner) !== workspaceOf(client)) {
    decide(ctx, { revoked: false, refusal: 'other_workspace' });
    return false;
  }
  throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
};

/**
 * Revoking any token of a user grant at the revocation endpoint ends the whole grant, access token included.
 * oidc-provider's revoke helper (lib/helpers/revoke.js) kills every access token, refresh token and code of the
 * grant whatever this policy answers; the policy only decides whether the Grant itself is destroyed and
 * `grant.revoked` emitted. Its default answers false for an access token at the revocation route, which left a
 * grant listed on GET /account/grants with no live token and the refresh token dead without an audit event.
 * Answering true makes an RFC 7009 call "unlink that revokes everything" (RFC 7009 §2.1 allows revoking the
 * related refresh token when an access token is revoked): the Grant goes, and `grant.revoked` feeds the
 * grant-revoke cascade audit. client_credentials tokens have no grant: they are revoked alone. Every other route
 * (refresh-token reuse, code replay, logout) keeps the default: true.
 * https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#revokegrantpolicy
 */
export const revokeGrantPolicy: RevokeGrantPolicy = () => true;
