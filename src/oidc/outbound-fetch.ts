import { isLoopbackHost } from '../http/loopback.js';
import type { Configuration } from 'oidc-provider';


const hostOf = (input: string | URL | Request) => new URL(input instanceof Request ? input.url : input).hostname;

/**
 * The provider's outbound HTTP (back-channel logout tokens, a client's jwks_uri, sector_identifier_uri).
 * oidc-provider hands every call a dispatcher that refuses loopback, private and other special-use addresses
 * (SSRF protection); that stays as it is, except that an issuer that is itself on a loopback host (development,
 * tests: `http://localhost:3000`) may call loopback URLs, such as a local app's `backchannel_logout_uri`.
 * A public issuer never gets the exception (the rule the CONTRACT applies to every http URL: loopback only).
 * https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#fetch
 */
export function outboundFetch(issuer: string): NonNullable<Configuration['fetch']> {
  const issuerOnLoopback = isLoopbackHost(new URL(issuer).hostname);
  return (input, init) => {
    if (issuerOnLoopback && init && isLoopbackHost(hostOf(input))) {
      const { dispatcher: _ssrfGuard, ...rest } = init as RequestInit & { dispatcher?: unknown };
      return globalThis.fetch(input, rest);
    }
    return globalThis.fetch(input, init);
  };
}
