import { errors, type Configuration } from 'oidc-provider';
import type { ResourceServerQueries, ResourceServerRow } from '../queries/resource-servers.js';
import { isStorableText } from './storable.js';

type ResourceIndicators = NonNullable<NonNullable<Configuration['features']>['resourceIndicators']>;

/** The client's workspace as its metadata holds it (`workspace_id`, absent on old clients: `default`). */
export const clientWorkspace = (client: object | undefined): string => (client as { workspace_id?: string } | undefined)?.workspace_id ?? 'default';

/**
 * A registered resource server that serves this client: the same workspace only. Another workspace's server is
 * answered exactly like an unknown one, so a client cannot probe other tenants' identifiers.
 */
export async function findServingResourceServer(
  resourceServers: ResourceServerQueries,
  identifier: string,
  client: object | undefined,
): Promise<ResourceServerRow | undefined> {
  // U+0000 or an unpaired surrogate names no registered server (storable.ts); Postgres would refuse the query.
  const server = isStorableText(identifier) ? await resourceServers.findByIdentifier(identifier) : undefined;
  return server && server.workspace_id === clientWorkspace(client) ? server : undefined;
}

/**
 * RFC 8707 resource indicators: plain scopes need no `resource`; a registered resource server (admin API)
 * gets tokens with `aud` = its identifier and only its scopes. Unknown resources are `invalid_target`, and so are
 * resource servers of another workspace than the client's (tenant isolation). oidc-provider calls this with the
 * client for every path that resolves a resource: authorization, authorization_code, refresh_token and
 * client_credentials. Token exchange (RFC 8693) resolves its target itself, with the same rule
 * (token-exchange/target.ts).
 * https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#featuresresourceindicators
 */
export function resourceIndicators(resourceServers: ResourceServerQueries, accessTokenTtl: number): ResourceIndicators {
  return {
    enabled: true,
    defaultResource: () => undefined,
    useGrantedResource: () => true,
    async getResourceServerInfo(_ctx, resourceIndicator, client) {
      const server = await findServingResourceServer(resourceServers, resourceIndicator, client);
      if (!server) throw new errors.InvalidTarget(`unknown resource server ${resourceIndicator}`);
      return {
        audience: server.identifier,
        scope: server.scopes.join(' '),
        accessTokenTTL: server.access_token_ttl ?? accessTokenTtl,
        accessTokenFormat: 'opaque',
      };
    },
  };
}
