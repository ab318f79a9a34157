import type { KoaContextWithOIDC, Provider } from 'oidc-provider';

/**
 * RFC 6749 §5.2: a client whose metadata does not list the grant type it uses gets `unauthorized_client`.
 * oidc-provider 9 answers `invalid_request` ("requested grant type is not allowed for this client",
 * lib/actions/token.js allowedGrantTypeCheck) and has no option for it, so the error is renamed on the way out.
 * The conditions are the check's own: an authenticated client, one supported grant_type, not allowed for it (an
 * unauthenticated caller still gets `invalid_client`, an unknown grant type `unsupported_grant_type`).
 */
export function isGrantTypeRefusal(ctx: KoaContextWithOIDC, error: unknown): boolean {
  if (error !== 'invalid_request' || ctx.oidc?.route !== 'token') return false;
  const grantType = ctx.oidc.params?.grant_type;
  return typeof grantType === 'string' && !!ctx.oidc.client && !ctx.oidc.client.grantTypeAllowed(grantType);
}

/** The error code the client is answered with: also what the audit records (src/audit/provider-events.ts). */
export const answeredError = (ctx: KoaContextWithOIDC, error: string): string => (isGrantTypeRefusal(ctx, error) ? 'unauthorized_client' : error);

/** Renames the error in the token endpoint's answer (the provider's error handler has set the body by then). */
export function installGrantTypeRefusal(provider: Provider): void {
  provider.use(async (koaCtx, next) => {
    await next();
    const ctx = koaCtx as KoaContextWithOIDC;
    if (ctx.status !== 400) return;
    const body = ctx.body as { error?: unknown } | undefined;
    if (isGrantTypeRefusal(ctx, body?.error)) ctx.body = { ...body, error: 'unauthorized_client' };
  });
}
