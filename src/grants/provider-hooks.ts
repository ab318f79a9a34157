import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { GrantService } from './service.js';

/**
 * RFC 7592 DELETE removes only the client row: revoke every grant (and so every token) it had before the
 * response goes out, as the admin API's delete does. A later client reusing the id finds nothing of it.
 */
export function revokeGrantsOfDeletedClients(provider: Provider, grants: GrantService): void {
  provider.use(async (koaCtx, next) => {
    await next();
    const ctx = koaCtx as KoaContextWithOIDC;
    const clientId = ctx.oidc?.client?.clientId;
    if (ctx.oidc?.route !== 'client_delete' || ctx.status !== 204 || !clientId) return;
    await grants.revokeAllOfClient(clientId, { actor: `client:${clientId}`, ip: ctx.ip, requestId: ctx.get('x-request-id') || null });
  });
}
