import type { Provider } from 'oidc-provider';

/**
 * Answers that publish URLs for clients to keep or follow: discovery (and RFC 8414 metadata), dynamic
 * registration (`registration_client_uri`) and the logout pages (their form's action).
 */
const PUBLISHING_ROUTES = new Set(['discovery', 'registration', 'client', 'client_update', 'end_session', 'end_session_confirm', 'end_session_success']);

/**
 * The URLs those answers hold come from ISSUER (its origin and path prefix), not from the request: oidc-provider
 * builds them from Koa's `ctx.href` (the request's Host, or X-Forwarded-Host/-Proto when `proxy` is on), so a forged
 * Host would point clients at another origin, and a shared cache could serve that to everyone (Host header
 * injection). Every other route keeps the request's own URL: a DPoP proof's `htu` (RFC 9449 §4.3) and a private
 * key JWT's audience name the URL the client called, and the authorization `resume` URL must stay on the host
 * whose cookies the browser holds.
 * https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#trusting-tls-offloading-proxies
 */
export function pinUrlsToIssuer(provider: Provider): void {
  const requestUrlFor = provider.OIDCContext.prototype.urlFor;
  provider.OIDCContext.prototype.urlFor = function urlFor(this: { route?: string }, name: string, options?: Record<string, unknown>): string {
    if (this.route !== undefined && PUBLISHING_ROUTES.has(this.route)) return provider.urlFor(name, options);
    return requestUrlFor.call(this, name, options);
  };
}
