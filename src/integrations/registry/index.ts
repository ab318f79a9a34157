/** The consumer's provider registry: config/providers.yaml + PROVIDERS_FILE, validated and frozen at start. */
export type { IdentitySource, ProviderEntry, ProviderRegistry } from './schema.js';
export { loadProviderRegistry, ProviderRegistryError } from './load.js';
