import { errors, type Configuration } from 'oidc-provider';
import type { ResourceServerQueries, ResourceServerRow } from '../queries/resource-servers.js';
import { isStorableText } from './storable.js';

type ResourceIndicators = NonNullable<NonNullable<Configuration['features']>['resourceIndicators']>;

const IDENTIFIER_SCHEMES = new Set(['https:', 'http:', 'urn:']);

/**
 * RFC 8707 §2: a resource server identifier is an absolute URI without a fragment. It is an audience name, never
 * called, so an http URL or a URN (`urn:example:api`) is fine; other schemes (`javascript:`, `data:`, `file:`) name no
 * API and are refused, as are credentials in the URI. The one rule for `POST /admin/resources` and for the client
 * metadata that names resource servers (`token_exchange_audiences`). Returns why not, or undefined.
 */
export function resourceIdentifierProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'an absolute URI (RFC 8707)';
  }
  if (!IDENTIFIER_SCHEMES.has(url.protocol)) return 'an https, http or urn URI (RFC 8707)';
  if (url.username || url.password) return 'no credentials in the URL';
  if (url.hash || value.includes('#')) return 'no fragment (RFC 8707)';
  return undefined;
}

const UNRESERVED = /[A-Za-z0-9._~-]/;

/**
 * Two spellings of one identifier map to one key: RFC 3986 §6.2.2 syntax-based normalisation (scheme and host in
 * lower case, percent-encodings in upper case and decoded where they encode an unreserved character, dot segments
 * removed) and, for http(s), §6.2.3 scheme-based normalisation (`:443`/`:80` is the same as no port, an empty path
 * the same as `/`); a URN's namespace identifier is case-insensitive too (RFC 8141 §3). WHATWG URL parsing does the
 * scheme, host, port, path and dot segments. The key decides only whether a new identifier repeats a registered
 * one (POST /admin/resources): a `resource` parameter is still matched exactly against the identifier as registered
 * (`findServingResourceServer`), which is also the tokens' `aud`, so what oidc-provider compares does not change.
 */
export function resourceIdentifierKey(identifier: string): string {
  let url: URL;
  try {
    url = new URL(identifier);
  } catch {
    return identifier;
  }
  let key = url.href;
  if (url.protocol === 'urn:') {
    const colon = url.pathname.indexOf(':');
    key = colon < 0 ? key : `urn:${url.pathname.slice(0, colon).toLowerCase()}${url.pathname.slice(colon)}${url.search}`;
  }
  return key.replace(/%([0-9A-Fa-f]{2})/g, (_match, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
}

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
