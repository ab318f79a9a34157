import * as oauth from 'openid-client';
import type { ProviderEntry } from './registry/index.js';

export interface LinkedIdentity {
  subject: string | null;
  email: string | null;
}

/** `a.b.c` in a JSON object; only strings and numbers count as values. */
function pick(source: unknown, path: string): string | undefined {
  let node = source;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  if (typeof node === 'string' && node.length > 0) return node;
  if (typeof node === 'number') return String(node);
  return undefined;
}

const firstOf = (source: unknown, paths: string[]): string | null => {
  for (const path of paths) {
    const value = pick(source, path);
    if (value !== undefined) return value;
  }
  return null;
};

/**
 * Reads who the linked account is, where the registry entry says: the ID token's claims, the userinfo
 * endpoint (or a provider API like Microsoft Graph `/v1.0/me`), or the token response itself (Notion's
 * `owner`). Claim paths are data in the registry (`identity.subject`, `identity.email`), first non-empty wins.
 */
export async function readIdentity(
  config: oauth.Configuration,
  entry: ProviderEntry,
  tokens: oauth.TokenEndpointResponse & oauth.TokenEndpointResponseHelpers,
): Promise<LinkedIdentity> {
  const { source, subject, email } = entry.identity;
  const userinfoUrl = entry.userinfo_url ?? config.serverMetadata().userinfo_endpoint;
  const fromUserinfo = async (): Promise<unknown> => {
    if (!userinfoUrl) return {};
    const response = await oauth.fetchProtectedResource(config, tokens.access_token, new URL(userinfoUrl), 'GET');
    if (!response.ok) throw new Error(`the identity endpoint answered ${response.status}`);
    return response.json();
  };
  const read = (claims: unknown): LinkedIdentity => ({ subject: firstOf(claims, subject), email: firstOf(claims, email) });

  switch (source) {
    case 'none':
      return { subject: null, email: null };
    case 'token_response':
      return read(tokens);
    case 'userinfo':
      return read(await fromUserinfo());
    case 'id_token': {
      // An ID token may carry only `sub` (OIDC Core §5.4: scope claims go to userinfo when an access token is
      // issued); the userinfo endpoint fills in what it lacks.
      const fromIdToken = read(tokens.claims() ?? {});
      if (fromIdToken.subject && fromIdToken.email) return fromIdToken;
      const fromEndpoint = read(await fromUserinfo());
      return { subject: fromIdToken.subject ?? fromEndpoint.subject, email: fromIdToken.email ?? fromEndpoint.email };
    }
  }
}
