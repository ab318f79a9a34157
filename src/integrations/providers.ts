import { HttpError, notFound } from '../http/errors.js';
import type { ProviderEntry, ProviderRegistry } from './registry/index.js';

/** CONTRACT.md: unknown provider → 404 `not_found`; known but not configured → 400 `provider_not_configured`. */
export function configuredProvider(providers: ProviderRegistry, name: string): ProviderEntry {
  const entry = Object.hasOwn(providers, name) ? providers[name] : undefined;
  if (!entry) throw notFound(`no provider named ${name}`);
  if (!entry.configured) {
    const missing = entry.missing.length ? ` (missing: ${entry.missing.join(', ')})` : '';
    throw new HttpError(400, 'provider_not_configured', `provider ${name} is not configured on this server${missing}`);
  }
  return entry;
}

export const callbackUrl = (issuer: string, provider: string): string => `${issuer}/integrations/${provider}/callback`;

/** The providers list: what is offered, whether it is usable, and the redirect URI to register at the provider. */
export const toProviderView = (entry: ProviderEntry, issuer: string) => ({
  name: entry.name,
  display_name: entry.display_name,
  configured: entry.configured,
  missing: entry.missing,
  scopes: entry.scopes,
  pkce: entry.pkce,
  redirect_uri: callbackUrl(issuer, entry.name),
});
