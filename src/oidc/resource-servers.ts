import { errors, type Configuration } from 'oidc-provider';
import type { ResourceServerQueries } from '../queries/resource-servers.js';
import { isStorableText } from './storable.js';

type ResourceIndicators = NonNullable<NonNullable<Configuration['features']>['resourceIndicators']>;

/**
 * RFC 8707 resource indicators: plain scopes need no `resource`; a registered resource server (admin API)
 * gets tokens with `aud` = its identifier and only its scopes. Unknown resources are `invalid_target`.
 * https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#featuresresourceindicators
 */
export function resourceIndicators(resourceServers: ResourceServerQueries, accessTokenTtl: number): ResourceIndicators {
  return {
    enabled: true,
    defaultResource: () => undefined,
    useGrantedResource: () => true,
    async getResourceServerInfo(_ctx, resourceIndicator) {
      // U+0000 or an unpaired surrogate names no registered server (storable.ts); Postgres would refuse the query.
      const server = isStorableText(resourceIndicator) ? await resourceServers.findByIdentifier(resourceIndicator) : undefined;
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
