import * as oauth from 'openid-client';
import type { ProviderEntry } from './registry/index.js';
import { HttpError } from '../http/errors.js';

/** How long a discovered provider configuration is reused before discovery runs again. */
const DISCOVERY_TTL_MS = 60 * 60 * 1000;

const isHttp = (url: string | undefined) => !!url && url.startsWith('http:');

/**
 * Turns the form body of a token or revocation request into JSON for providers that want JSON
 * (Notion: https://developers.notion.com/reference/create-a-token). A named quirk hook, not a per-provider flow.
 */
function jsonBodyFetch(): oauth.CustomFetch {
  return (url, options) => {
    if (options.body instanceof URLSearchParams && options.method === 'POST') {
      const headers = { ...(options.headers as Record<string, string>), 'content-type': 'application/json' };
      return fetch(url, { ...options, headers, body: JSON.stringify(Object.fromEntries(options.body)) } as RequestInit);
    }
    return fetch(url, options as RequestInit);
  };
}

function clientAuth(entry: ProviderEntry): oauth.ClientAuth {
  return entry.token_auth_method === 'client_secret_post' ? oauth.ClientSecretPost(entry.client_secret) : oauth.ClientSecretBasic(entry.client_secret);
}

/**
 * Explicit endpoints of the entry win over discovered ones (CONTRACT.md, provider registry keys). `userinfo_url`
 * is read by identity.ts directly, so it never forces a rebuild (which would lose openid-client's Entra ID
 * `{tenantid}` issuer handling for microsoft-calendar).
 */
function explicitEndpoints(entry: ProviderEntry): Partial<oauth.ServerMetadata> {
  const endpoints = {
    authorization_endpoint: entry.authorization_url,
    token_endpoint: entry.token_url,
    revocation_endpoint: entry.revocation_url,
  };
  return Object.fromEntries(Object.entries(endpoints).filter(([, url]) => url !== undefined));
}

function finish(config: oauth.Configuration, entry: ProviderEntry): oauth.Configuration {
  // Only the entry's own URLs decide (the registry checked them); a discovered http endpoint of an https issuer
  // stays refused by openid-client.
  const urls = [entry.issuer, entry.authorization_url, entry.token_url, entry.userinfo_url, entry.revocation_url];
  // The registry allows http only for loopback hosts (development, tests with a local upstream).
  if (urls.some(isHttp)) oauth.allowInsecureRequests(config);
  if (entry.token_request_body === 'json') config[oauth.customFetch] = jsonBodyFetch();
  config.timeout = 15;
  return config;
}

async function build(entry: ProviderEntry): Promise<oauth.Configuration> {
  const auth = clientAuth(entry);
  const explicit = explicitEndpoints(entry);
  if (entry.issuer) {
    let discovered: oauth.Configuration;
    try {
      discovered = await oauth.discovery(new URL(entry.issuer), entry.client_id!, undefined, auth, {
        execute: isHttp(entry.issuer) ? [oauth.allowInsecureRequests] : [],
        timeout: 15,
      });
    } catch (error) {
      throw new HttpError(502, 'upstream_unavailable', `discovery at ${entry.issuer} failed: ${(error as Error).message}`);
    }
    // Discovery alone keeps openid-client's own handling (e.g. Entra ID's {tenantid} issuer); explicit
    // endpoints rebuild the configuration over the discovered metadata.
    if (Object.keys(explicit).length === 0) return finish(discovered, entry);
    return finish(new oauth.Configuration({ ...discovered.serverMetadata(), ...explicit }, entry.client_id!, undefined, auth), entry);
  }
  // No discovery: the issuer identifier is the authorization server's origin (used for RFC 9207 `iss` checks).
  const server: oauth.ServerMetadata = { issuer: new URL(entry.authorization_url!).origin, ...explicit };
  return finish(new oauth.Configuration(server, entry.client_id!, undefined, auth), entry);
}

/** openid-client configurations per provider, built once (discovery cached for an hour). */
export function upstreamClients(now: () => number = Date.now) {
  const cache = new Map<string, { at: number; config: Promise<oauth.Configuration> }>();
  return {
    async get(entry: ProviderEntry): Promise<oauth.Configuration> {
      const hit = cache.get(entry.name);
      if (hit && now() - hit.at < DISCOVERY_TTL_MS) return hit.config;
      const config = build(entry);
      cache.set(entry.name, { at: now(), config });
      config.catch(() => cache.delete(entry.name));
      return config;
    },
  };
}

export type UpstreamClients = ReturnType<typeof upstreamClients>;
