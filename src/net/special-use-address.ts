import { BlockList, isIP, isIPv4 } from 'node:net';

/**
 * Special-use IP addresses (RFC 6890 and the IANA special-purpose registries): where an outbound connection that a
 * caller can aim (a mailbox's IMAP/SMTP host, a webhook URL) must not go — loopback, private networks, CGNAT,
 * link-local (169.254.169.254, the cloud metadata service), unspecified, multicast, documentation and reserved
 * ranges, IPv6 ULA and link-local, and the IPv4-mapped forms of all of these. The same ranges oidc-provider refuses
 * for its own fetches (lib/helpers/fetch_request.js), plus IPv6 outside global unicast 2000::/3.
 */

const SPECIAL_USE_IPV4: Array<[string, number]> = [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8], // private (RFC 1918)
  ['100.64.0.0', 10], // shared address space, CGNAT (RFC 6598)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata (RFC 3927)
  ['172.16.0.0', 12], // private (RFC 1918)
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation TEST-NET-1
  ['192.31.196.0', 24], // AS112-v4
  ['192.52.193.0', 24], // AMT
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // private (RFC 1918)
  ['192.175.48.0', 24], // direct delegation AS112
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation TEST-NET-2
  ['203.0.113.0', 24], // documentation TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, limited broadcast
];

/** Inside global unicast 2000::/3 (everything outside it is special-use: ULA, link-local, multicast, NAT64, …). */
const SPECIAL_USE_IPV6_IN_GLOBAL: Array<[string, number]> = [
  ['2001::', 23], // IETF protocol assignments (Teredo, ORCHID, …)
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4 (embeds an IPv4 address)
  ['2620:4f:8000::', 48], // direct delegation AS112
  ['3fff::', 20], // documentation
];

const specialUse = new BlockList();
for (const [address, prefix] of SPECIAL_USE_IPV4) specialUse.addSubnet(address, prefix, 'ipv4');
for (const [address, prefix] of SPECIAL_USE_IPV6_IN_GLOBAL) specialUse.addSubnet(address, prefix, 'ipv6');
const globalUnicast = new BlockList();
globalUnicast.addSubnet('2000::', 3, 'ipv6');

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** The 16 bytes of an IPv6 address (`isIP(address) === 6`, no zone). */
function ipv6Bytes(address: string): number[] {
  let text = address;
  const bytes: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let tail: number[] = [];
  if (dotted) {
    tail = dotted[1]!.split('.').map(Number);
    text = `${text.slice(0, -dotted[1]!.length)}0:0`;
  }
  const [head = '', rest] = text.split('::');
  const groups = (part: string) => (part ? part.split(':').map((group) => parseInt(group, 16)) : []);
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const all = rest === undefined ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  for (const group of all) bytes.push(group >> 8, group & 0xff);
  if (dotted) bytes.splice(12, 4, ...tail);
  return bytes;
}

/**
 * An address as it is compared: brackets and an IPv6 zone (`%eth0`) dropped, and an IPv4-mapped IPv6 address
 * (`::ffff:10.0.0.5`, `::ffff:a00:5`) turned into its IPv4 form (a dual-stack socket dials that IPv4 address).
 * Undefined when `input` is not an IP address.
 */
export function normalizeAddress(input: string): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  let address = input.startsWith('[') && input.endsWith(']') ? input.slice(1, -1) : input;
  const zone = address.indexOf('%');
  if (zone !== -1 && address.includes(':')) address = address.slice(0, zone);
  const version = isIP(address);
  if (version === 4) return { address, family: 'ipv4' };
  if (version !== 6) return undefined;
  const bytes = ipv6Bytes(address.toLowerCase());
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return { address: bytes.slice(12).join('.'), family: 'ipv4' };
  return { address: address.toLowerCase(), family: 'ipv6' };
}

/** Whether an IP address is special-use (anything that is not an IP address counts as special-use too). */
export function isSpecialUseAddress(input: string): boolean {
  const normal = normalizeAddress(input);
  if (!normal) return true;
  if (normal.family === 'ipv6' && !globalUnicast.check(normal.address, 'ipv6')) return true;
  return specialUse.check(normal.address, normal.family);
}

/** Whether an IP address is a loopback address (127.0.0.0/8, ::1, or their IPv4-mapped forms). */
export function isLoopbackAddress(input: string): boolean {
  const normal = normalizeAddress(input);
  return normal !== undefined && loopback.check(normal.address, normal.family);
}

export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/**
 * `10.0.0.0/8`, `fd00::/8`, or a bare address (one host). IPv4 ranges are written in dotted form (an IPv4-mapped
 * IPv6 range would never match: addresses are compared in their IPv4 form). Undefined when not one of those.
 */
export function parseCidr(text: string): Cidr | undefined {
  const match = /^([^/\s]+)(?:\/(\d{1,3}))?$/.exec(text.trim());
  if (!match) return undefined;
  const address = match[1]!;
  const version = isIP(address);
  if (version === 0) return undefined;
  if (version === 6 && isIPv4(normalizeAddress(address)?.address ?? '')) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = match[2] === undefined ? max : Number(match[2]);
  if (prefix > max) return undefined;
  return { address: address.toLowerCase(), prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** A set of CIDR ranges to test addresses against (IPv4-mapped IPv6 addresses match IPv4 ranges). */
export function addressRanges(ranges: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const range of ranges) {
    const cidr = parseCidr(range);
    if (!cidr) throw new Error(`not a CIDR range: ${range}`);
    list.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  return (input) => {
    const normal = normalizeAddress(input);
    return normal !== undefined && list.check(normal.address, normal.family);
  };
}
