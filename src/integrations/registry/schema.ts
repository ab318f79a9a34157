import { z } from 'zod';
import { isLoopbackHost } from '../../http/loopback.js';

/** Where the flow reads the linked account's identity (`sub`, email). */
export type IdentitySource = 'id_token' | 'userinfo' | 'token_response' | 'none';

/** One consumer provider after merging, `extends`, `${ENV}` expansion and defaults. */
export interface ProviderEntry {
  /** The YAML key, e.g. 'google'. */
  name: string;
  display_name: string;
  /** OIDC / RFC 8414 discovery at this issuer for the endpoints not set explicitly. */
  issuer?: string;
  authorization_url?: string;
  token_url?: string;
  /** Where identity is read when identity.source = 'userinfo' (else discovery's userinfo_endpoint). */
  userinfo_url?: string;
  revocation_url?: string;
  /** After `${ENV}` expansion; undefined when the variable is unset. */
  client_id?: string;
  client_secret?: string;
  /** Default scopes. */
  scopes: string[];
  /** Extra query parameters on the authorization request. */
  authorization_params: Record<string, string>;
  token_auth_method: 'client_secret_basic' | 'client_secret_post';
  /** Notion wants JSON at its token endpoint. */
  token_request_body: 'form' | 'json';
  pkce: boolean;
  /** Dotted claim paths; the first non-empty one wins. */
  identity: { source: IdentitySource; subject: string[]; email: string[] };
  /** Informational: the provider returns a new refresh token on refresh (Notion, Microsoft). */
  rotates_refresh_tokens: boolean;
  /** client_id + client_secret present AND (issuer, or authorization_url + token_url) present, nothing in `missing`. */
  configured: boolean;
  /** Why not configured: unset environment variables (e.g. 'GOOGLE_CLIENT_ID') or absent keys (e.g. 'token_url'). */
  missing: string[];
}

export type ProviderRegistry = Readonly<Record<string, ProviderEntry>>;

export const PROVIDER_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const IDENTITY_SOURCES = ['id_token', 'userinfo', 'token_response', 'none'] as const;
export const TOKEN_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'] as const;
export const TOKEN_REQUEST_BODIES = ['form', 'json'] as const;

/** `${NAME}` or `${NAME:-default}`. Anything else with a `$` is literal text. */
export const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Keys holding a URL, checked after expansion (`https:`, or `http:` on loopback only). */
export const URL_KEYS = ['issuer', 'authorization_url', 'token_url', 'userinfo_url', 'revocation_url'] as const;

/** Keys holding one of a few words; a `${...}` there is allowed and checked after expansion. */
export const ENUM_KEYS: Record<string, readonly string[]> = {
  token_auth_method: TOKEN_AUTH_METHODS,
  token_request_body: TOKEN_REQUEST_BODIES,
  'identity.source': IDENTITY_SOURCES,
};

const hasPlaceholder = (value: string): boolean => new RegExp(PLACEHOLDER.source).test(value);
const oneOf = (values: readonly [string, ...string[]]) =>
  z.string().refine((v) => values.includes(v) || hasPlaceholder(v), `expected one of ${values.join(', ')}`);
const claimPaths = z.union([z.string().min(1), z.array(z.string().min(1))], {
  error: 'expected a claim path or a list of them',
});

/** One entry as written in a file: every key optional, unknown keys fail (typos must not pass silently). */
export const rawEntrySchema = z.strictObject({
  extends: z.string().regex(PROVIDER_NAME, 'a provider name'),
  display_name: z.string(),
  issuer: z.string(),
  authorization_url: z.string(),
  token_url: z.string(),
  userinfo_url: z.string(),
  revocation_url: z.string(),
  client_id: z.string(),
  client_secret: z.string(),
  scopes: z.array(z.string()),
  authorization_params: z.record(z.string(), z.string()),
  token_auth_method: oneOf(TOKEN_AUTH_METHODS),
  token_request_body: oneOf(TOKEN_REQUEST_BODIES),
  pkce: z.boolean(),
  identity: z.strictObject({ source: oneOf(IDENTITY_SOURCES), subject: claimPaths, email: claimPaths }).partial(),
  rotates_refresh_tokens: z.boolean(),
}).partial();

export type RawEntry = z.infer<typeof rawEntrySchema>;

/** A whole file: provider name → entry (an empty entry, `name:` alone, is allowed). */
export const rawFileSchema = z.record(
  z.string().regex(PROVIDER_NAME, 'a provider name: lowercase letters, digits and dashes'),
  z.preprocess((v) => v ?? {}, rawEntrySchema),
);

/** Why a URL is refused, or undefined when it is fine (CONTRACT.md: http only for loopback hosts). */
export function urlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `not a valid URL: ${JSON.stringify(value)}`;
  }
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:') return isLoopbackHost(url.hostname) ? undefined : 'http is allowed only for loopback hosts';
  return `must be an https URL, not ${url.protocol}`;
}
