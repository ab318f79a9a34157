import { errors, type Configuration } from 'oidc-provider';

type Features = NonNullable<Configuration['features']>;
type IntrospectionPolicy = NonNullable<NonNullable<Features['introspection']>['allowedPolicy']>;
type RevocationPolicy = NonNullable<NonNullable<Features['revocation']>['allowedPolicy']>;

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

/**
 * RFC 7009 §2.1: a client revokes only tokens issued to it. A public client gets the silent 200 the RFC
 * allows; a confidential one is told.
 * https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#featuresrevocation
 */
export const revocationAllowed: RevocationPolicy = async (ctx, client, token) => {
  if (token.clientId === client.clientId) {
    // Read by the audit middleware: this request really revokes the token (src/audit/provider-events.ts).
    ctx.state.revocationAllowed = true;
    return true;
  }
  if (client.clientAuthMethod === 'none') return false;
  throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
};
