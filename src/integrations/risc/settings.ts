import type { ProviderRegistry } from '../registry/index.js';
import { assertRiscConfig } from './verify.js';

/** The built-in providers on Google's client (config/providers.yaml: `extends: google`). */
export const GOOGLE_FAMILY = ['google', 'gmail', 'google-calendar', 'youtube'];
const GOOGLE_ISSUER = 'https://accounts.google.com';

const bare = (issuer: string | undefined) => issuer?.replace(/\/+$/, '');

/** The receiver's view of GOOGLE_RISC_* and the google provider. */
export interface RiscConfig {
  /** Who signs the SETs (`iss`). */
  issuer: string;
  jwksUri: string;
  /** The google provider's client_id (the SETs' `aud`); unset → every SET is refused with invalid_audience. */
  audience?: string | string[];
  /** Namespaces an `iss-sub` subject may name (default: any). */
  subjectIssuers?: string[];
  /** SETs older than this (by `iat`) are refused (default 7 days). */
  maxAgeSeconds?: number;
}

/**
 * `config` and `providers` of the receiver's dependencies, from the app config, computed once at start:
 * audience = the google provider's client_id, subject issuers = the SET issuer's and the google provider's.
 * Throws a ConfigError naming GOOGLE_RISC_JWKS_URI when it is http on a non-loopback host.
 */
export function googleRiscSettings(config: { googleRisc: { issuer: string; jwksUri: string }; providers: ProviderRegistry }): { config: RiscConfig; providers: string[] } {
  assertRiscConfig(config.googleRisc);
  const google = Object.hasOwn(config.providers, 'google') ? config.providers.google : undefined;
  return {
    config: {
      issuer: config.googleRisc.issuer,
      jwksUri: config.googleRisc.jwksUri,
      audience: google?.client_id,
      subjectIssuers: [config.googleRisc.issuer, ...(google?.issuer ? [google.issuer] : [])],
    },
    providers: googleFamily(config.providers),
  };
}

/**
 * The Google family in this registry: the built-in names that are present, plus any provider at Google's real
 * issuer (a PROVIDERS_FILE entry with `extends: google`, e.g. a Drive provider). Deliberately not "every entry
 * at the google entry's issuer": a deployment or a test may point unrelated entries at one server.
 */
export function googleFamily(providers: ProviderRegistry): string[] {
  return Object.values(providers)
    .filter((entry) => GOOGLE_FAMILY.includes(entry.name) || bare(entry.issuer) === GOOGLE_ISSUER)
    .map((entry) => entry.name)
    .sort();
}
