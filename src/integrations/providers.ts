import { HttpError, notFound } from '../http/errors.js';
import type { ProviderEntry, ProviderRegistry } from './registry/index.js';

/** CONTRACT.md: unknown provider → 404 `not_found`. */
export function knownProvider(providers: ProviderRegistry, name: string): ProviderEntry {
  const entry = Object.hasOwn(providers, name) ? providers[name] : undefined;
  if (!entry) throw notFound(`no provider named ${name}`);
  return entry;
}

/** CONTRACT.md: known but not configured → 400 `provider_not_configured`. */
export function notConfigured(entry: ProviderEntry): HttpError {
  const missing = entry.missing.length ? ` (missing: ${entry.missing.join(', ')})` : '';
  return new HttpError(400, 'provider_not_configured', `provider ${entry.name} is not configured on this server${missing}`);
}

/** A provider that can be used for a new flow: known and configured. */
export function configuredProvider(providers: ProviderRegistry, name: string): ProviderEntry {
  const entry = knownProvider(providers, name);
  if (!entry.configured) throw notConfigured(entry);
  return entry;
}

/**
 * The answer when the actor has no such connection: the provider's own error first (unknown: 404, not configured:
 * 400, as authorize gives), else 404 naming the connection. Callers look the row up first, so a link made before
 * its provider's configuration was removed stays readable and disconnectable.
 */
export function noConnection(providers: ProviderRegistry, name: string, purpose: string, actorLabel: string): HttpError {
  const entry = knownProvider(providers, name);
  return entry.configured ? notFound(`no ${name} connection with purpose ${purpose} for ${actorLabel}`) : notConfigured(entry);
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
