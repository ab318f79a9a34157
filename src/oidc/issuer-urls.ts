import type { Provider } from 'oidc-provider';

/**
 * Every URL the provider builds while serving a request (discovery, `registration_client_uri`, the logout form's
 * action, the authorization `resume` URL, expected JWT audiences) from ISSUER: its origin and its path prefix.
 * oidc-provider builds them from Koa's `ctx.href` (the request's Host, or X-Forwarded-Host/-Proto when `proxy` is
 * on), so a forged Host would otherwise point clients at another origin (Host header injection). `provider.urlFor`
 * is the same URL resolved against the issuer. `proxy` still decides the client IP (`ctx.ip`) and `ctx.secure`.
 * https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#trusting-tls-offloading-proxies
 */
export function pinUrlsToIssuer(provider: Provider): void {
  provider.OIDCContext.prototype.urlFor = function urlFor(name: string, options?: Record<string, unknown>): string {
    return provider.urlFor(name, options);
  };
}
