import dns, { type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { isLoopbackHost } from '../http/loopback.js';
import { addressRanges, isLoopbackAddress, isSpecialUseAddress, normalizeAddress } from './special-use-address.js';

/** The one reason a refused destination is given: the same words whichever range it fell in (no enumeration). */
export const SPECIAL_USE_REFUSAL = 'destination address is not allowed (special-use)';

/** A connection refused by the outbound policy before anything was dialled. */
export class DestinationRefused extends Error {
  override name = 'DestinationRefused';
  readonly code = 'EDESTINATIONREFUSED';
  constructor() {
    super(SPECIAL_USE_REFUSAL);
  }
}

export interface OutboundPolicySettings {
  /** The issuer URL: on a loopback host (development, tests), loopback destinations are allowed. */
  issuer: string;
  /** CIDR ranges allowed although special-use (OUTBOUND_ALLOW_PRIVATE_NETWORKS): internal mail servers, receivers. */
  allowPrivateNetworks: readonly string[];
  /** NODE_ENV=production: loopback only through the allow list, whatever the issuer (a default ISSUER is loopback). */
  production?: boolean;
}

/**
 * The one rule for where the server's outbound connections that a caller can aim may go: mailbox checks (IMAP/SMTP
 * hosts set by any token of a workspace), webhook deliveries, and oidc-provider's own fetches (a client's jwks_uri,
 * sector_identifier_uri, back-channel logout: src/oidc/outbound-fetch.ts). Special-use addresses
 * (src/net/special-use-address.ts) are refused, with two exceptions: loopback addresses when the issuer is on a
 * loopback host and NODE_ENV is not production (development, tests), and the configured allow list
 * (OUTBOUND_ALLOW_PRIVATE_NETWORKS). Mail and webhooks resolve a host name once and check every address; the
 * connection goes to a checked address (the name stays for TLS SNI and the certificate check). The provider's
 * fetches check the address a socket has connected to, before it carries a request. Either way a name that
 * resolves differently the second time (DNS rebinding) gains nothing.
 */
export interface OutboundPolicy {
  /** Whether a connection to this IP address may be made. */
  allows(address: string): boolean;
  /** Whether `host` is an IP literal (brackets allowed) that may not be dialled; false for names. */
  refusesLiteral(host: string): boolean;
  /**
   * `host` (a name or an IP literal) resolved once, every address checked: the addresses to dial, in order.
   * Throws DestinationRefused when any of them is not allowed, and the resolver's error when it fails.
   */
  resolve(host: string): Promise<LookupAddress[]>;
  /**
   * A `lookup` for net / tls / http(s) connections: resolves like dns.lookup and refuses (DestinationRefused)
   * unless every address is allowed. Node skips `lookup` for IP literals: check those with `refusesLiteral`.
   */
  lookup: LookupFunction;
}

export function outboundPolicy(settings: OutboundPolicySettings): OutboundPolicy {
  const loopbackAllowed = !settings.production && isLoopbackHost(new URL(settings.issuer).hostname);
  const allowListed = addressRanges(settings.allowPrivateNetworks);
  const allows = (address: string) =>
    normalizeAddress(address) !== undefined && (!isSpecialUseAddress(address) || (loopbackAllowed && isLoopbackAddress(address)) || allowListed(address));
  /** An IP literal host (as URL and the mailbox setting write it: IPv6 in brackets) without its brackets. */
  const literal = (host: string): string | undefined => {
    const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    return isIP(bare) ? bare : undefined;
  };

  const checked = (addresses: LookupAddress[]) => {
    if (addresses.some((entry) => !allows(entry.address))) throw new DestinationRefused();
    return addresses;
  };

  async function resolve(host: string): Promise<LookupAddress[]> {
    const ip = literal(host);
    if (ip !== undefined) return checked([{ address: ip, family: ip.includes(':') ? 6 : 4 }]);
    const addresses = await dns.promises.lookup(host, { all: true });
    if (!addresses.length) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return checked(addresses);
  }

  const lookup = ((hostname: string, options: LookupOptions, callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void) => {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, options?.all ? [] : '', 0);
      try {
        checked(addresses);
      } catch (refused) {
        return callback(refused as Error, options?.all ? [] : '', 0);
      }
      if (options?.all) return callback(null, addresses);
      const [first] = addresses;
      if (!first) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
      return callback(null, first.address, first.family);
    });
  }) as LookupFunction;

  return {
    allows,
    refusesLiteral: (host) => {
      const ip = literal(host);
      return ip !== undefined && !allows(ip);
    },
    resolve,
    lookup,
  };
}
