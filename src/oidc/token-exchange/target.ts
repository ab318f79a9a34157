import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { ResourceServerQueries, ResourceServerRow } from '../../queries/resource-servers.js';
import { findServingResourceServer } from '../resource-servers.js';

/** The acting client as token exchange reads it: our metadata on top of the provider's Client. */
export interface ExchangeClient {
  clientId: string;
  clientAuthMethod: string;
  first_party?: boolean;
  token_exchange_audiences?: string[];
}

/**
 * Who may exchange at all. A first-party backend: confidential (a public client cannot prove it is the backend),
 * `first_party: true` (an administrator's statement that it is our own app), and at least one audience configured
 * by an administrator (`token_exchange_audiences`). Anything else is `unauthorized_client` (RFC 6749 §5.2).
 * The token endpoint has already checked that the client's `grant_types` list the grant.
 */
export function assertActingClient(client: ExchangeClient): string[] {
  if (client.clientAuthMethod === 'none') throw new errors.UnauthorizedClient('token exchange needs a confidential client');
  if (client.first_party !== true) throw new errors.UnauthorizedClient('token exchange is for first-party clients');
  const audiences = Array.isArray(client.token_exchange_audiences) ? client.token_exchange_audiences : [];
  if (!audiences.length) throw new errors.UnauthorizedClient('no token exchange audiences are configured for this client');
  return audiences;
}

const single = (value: unknown, name: string): string | undefined => {
  if (value === undefined) return undefined;
  const values = Array.isArray(value) ? value : [value];
  if (values.length !== 1) throw new errors.InvalidTarget(`only a single ${name} value is supported`);
  const [only] = values;
  if (typeof only !== 'string' || !only) throw new errors.InvalidTarget(`${name} must not be empty`);
  return only;
};

/**
 * The one API the new token is for. RFC 8693 §2.1 names it with `resource` (RFC 8707, an absolute URI) or
 * `audience` (a logical name); here both take a registered resource server's identifier, and when both are sent
 * they must name the same one. The target must be in the client's `token_exchange_audiences` and still be a
 * registered resource server of the client's own workspace (another tenant's API is answered like an unregistered
 * one, whatever `token_exchange_audiences` says). A missing, unknown or unallowed target is `invalid_target`
 * (RFC 8693 §2.2.2, RFC 8707 §2).
 *
 * oidc-provider's resourceIndicators feature does not touch `resource` at the token endpoint for a grant type
 * registered with `registerGrantType` (only its built-in grants resolve it, and only with Rich Authorization
 * Requests does the token action default it): the raw value arrives here and this grant resolves it itself.
 */
export async function resolveTarget(ctx: KoaContextWithOIDC, allowed: string[], resourceServers: ResourceServerQueries): Promise<ResourceServerRow> {
  const params = ctx.oidc.params as Record<string, unknown>;
  const resource = single(params.resource, 'resource');
  const audience = single(params.audience, 'audience');
  if (resource && audience && resource !== audience) throw new errors.InvalidTarget('resource and audience name different targets');
  const identifier = resource ?? audience;
  if (!identifier) throw new errors.InvalidTarget('a resource or audience naming the target API is required');
  if (!allowed.includes(identifier)) throw new errors.InvalidTarget('this client may not exchange tokens for the requested target');
  const server = await findServingResourceServer(resourceServers, identifier, ctx.oidc.client);
  if (!server) throw new errors.InvalidTarget('the requested target is not a registered resource server');
  return server;
}
