import { isLoopbackHost } from '../http/loopback.js';
/**
 * Our rules on top of oidc-provider's (RFC 9700 §2.1, RFC 8252 §7): exact URIs only — https, http only on a
 * loopback host, a private-use scheme (reverse domain name, RFC 8252 §7.1) only for native apps; no wildcard,
 * no fragment. Returns the first problem, or undefined.
 */
export function redirectUriProblem(uri: string, applicationType: unknown): string | undefined {
  if (uri.includes('*')) return `${uri}: wildcards are not allowed, register each redirect URI exactly`;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return `${uri}: not an absolute URI`;
  }
  if (url.hash || uri.includes('#')) return `${uri}: must not contain a fragment`;
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:') return isLoopbackHost(url.hostname) ? undefined : `${uri}: http is allowed only for loopback hosts (localhost, 127.0.0.1, [::1]); use https`;
  const scheme = url.protocol.slice(0, -1);
  if (applicationType === 'native' && scheme.includes('.')) return undefined;
  return `${uri}: scheme ${scheme} is not allowed (https, loopback http, or a reverse-domain private-use scheme for native apps)`;
}

export function checkRedirectUris(metadata: Record<string, unknown>): string | undefined {
  for (const key of ['redirect_uris', 'post_logout_redirect_uris'] as const) {
    const uris = metadata[key];
    if (!Array.isArray(uris)) continue;
    for (const uri of uris) {
      const problem = typeof uri === 'string' ? redirectUriProblem(uri, metadata.application_type) : `${key} must be a list of strings`;
      if (problem) return problem;
    }
  }
  return undefined;
}
