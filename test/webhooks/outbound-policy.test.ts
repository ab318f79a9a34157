import { loadConfig, ConfigError } from '../../src/config.js';
import { DestinationRefused, outboundPolicy, SPECIAL_USE_REFUSAL } from '../../src/net/outbound-policy.js';
import { isSpecialUseAddress, parseCidr } from '../../src/net/special-use-address.js';

/**
 * The outbound policy of mail checks and webhook deliveries (src/net/outbound-policy.ts): which addresses are
 * special-use, the loopback exception of a loopback issuer, OUTBOUND_ALLOW_PRIVATE_NETWORKS, and name resolution
 * through the real resolver (`localhost` from /etc/hosts).
 */

describe('special-use addresses', () => {
  test.each([
    '127.0.0.1', '127.255.0.9', '10.0.0.5', '172.16.3.4', '172.31.255.255', '192.168.1.1', '100.64.0.1', '100.127.255.254',
    '169.254.169.254', '0.0.0.0', '0.1.2.3', '224.0.0.1', '239.255.255.250', '240.0.0.1', '255.255.255.255', '192.0.2.10', '198.18.0.1',
    '::', '::1', '::ffff:10.0.0.5', '::ffff:a00:5', '::ffff:7f00:1', '::ffff:169.254.169.254', '0:0:0:0:0:ffff:a9fe:a9fe', '[::ffff:a00:5]',
    'fc00::1', 'fd12:3456::1', 'fe80::1', 'fe80::1%eth0', 'febf::1', 'ff02::1', '64:ff9b::a00:5', '2001:db8::1', '2002:a00:5::1', '::a00:5',
    'not-an-address', '',
  ])('%s is special-use', (address) => {
    expect(isSpecialUseAddress(address)).toBe(true);
  });

  test.each(['93.184.215.14', '8.8.8.8', '172.32.0.1', '100.128.0.1', '11.0.0.1', '::ffff:8.8.8.8', '2606:4700::1111', '2a00:1450:4001::1'])('%s is not', (address) => {
    expect(isSpecialUseAddress(address)).toBe(false);
  });
});

describe('OUTBOUND_ALLOW_PRIVATE_NETWORKS', () => {
  test('a comma list of CIDR ranges; empty by default; a bad entry stops the start naming the variable', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).outbound.allowPrivateNetworks).toEqual([]);
    expect(loadConfig({ NODE_ENV: 'test', OUTBOUND_ALLOW_PRIVATE_NETWORKS: ' 10.0.0.0/8, fd00::/8 ,192.168.7.9' }).outbound.allowPrivateNetworks).toEqual(['10.0.0.0/8', 'fd00::/8', '192.168.7.9']);
    for (const bad of ['10.0.0.0/33', 'intranet', '10.0.0.0/8;rm', 'fd00::/129', '::ffff:10.0.0.0/104']) {
      expect(() => loadConfig({ NODE_ENV: 'test', OUTBOUND_ALLOW_PRIVATE_NETWORKS: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ NODE_ENV: 'test', OUTBOUND_ALLOW_PRIVATE_NETWORKS: bad })).toThrow(/OUTBOUND_ALLOW_PRIVATE_NETWORKS: .*not a CIDR range/);
    }
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
  });
});

describe('the policy', () => {
  const publicIssuer = outboundPolicy({ issuer: 'https://auth.example.test', allowPrivateNetworks: [] });
  const loopbackIssuer = outboundPolicy({ issuer: 'http://127.0.0.1:3000', allowPrivateNetworks: [] });
  const allowList = outboundPolicy({ issuer: 'https://auth.example.test', allowPrivateNetworks: ['10.0.0.0/8', '127.0.0.0/8', 'fd00::/8'] });

  test('a public issuer: no special-use address at all', () => {
    for (const host of ['127.0.0.1', '[::1]', '10.0.0.5', '169.254.169.254', '[::ffff:a00:5]', '[::ffff:7f00:1]']) expect({ host, refused: publicIssuer.refusesLiteral(host) }).toEqual({ host, refused: true });
    expect(publicIssuer.refusesLiteral('93.184.215.14')).toBe(false);
    expect(publicIssuer.refusesLiteral('receiver.example.com')).toBe(false); // names are checked when resolved
  });

  test('a loopback issuer: loopback addresses, nothing else special-use', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', '[::1]', '[::ffff:127.0.0.1]']) expect({ host, refused: loopbackIssuer.refusesLiteral(host) }).toEqual({ host, refused: false });
    for (const host of ['10.0.0.5', '169.254.169.254', '[::ffff:a00:5]', '0.0.0.0', '[fe80::1]']) expect({ host, refused: loopbackIssuer.refusesLiteral(host) }).toEqual({ host, refused: true });
  });

  test('in production a loopback issuer (the default ISSUER) opens nothing: loopback only through the allow list', () => {
    const production = outboundPolicy({ issuer: 'http://localhost:3000', allowPrivateNetworks: [], production: true });
    for (const host of ['127.0.0.1', '[::1]', '[::ffff:127.0.0.1]']) expect({ host, refused: production.refusesLiteral(host) }).toEqual({ host, refused: true });
    const allowed = outboundPolicy({ issuer: 'http://localhost:3000', allowPrivateNetworks: ['127.0.0.1'], production: true });
    expect(allowed.refusesLiteral('127.0.0.1')).toBe(false);
  });

  test('the allow list opens its ranges only (IPv4-mapped forms included)', () => {
    for (const host of ['10.0.0.5', '[::ffff:a00:5]', '127.0.0.1', '[fd00::5]']) expect({ host, refused: allowList.refusesLiteral(host) }).toEqual({ host, refused: false });
    for (const host of ['169.254.169.254', '192.168.1.1', '[::1]', '[fe80::1]']) expect({ host, refused: allowList.refusesLiteral(host) }).toEqual({ host, refused: true });
  });

  test('names are resolved and every address checked: localhost is refused for a public issuer', async () => {
    await expect(publicIssuer.resolve('localhost')).rejects.toBeInstanceOf(DestinationRefused);
    await expect(publicIssuer.resolve('localhost')).rejects.toThrow(SPECIAL_USE_REFUSAL);
    await expect(publicIssuer.resolve('[::ffff:a00:5]')).rejects.toBeInstanceOf(DestinationRefused);
    expect(await loopbackIssuer.resolve('127.0.0.1')).toEqual([{ address: '127.0.0.1', family: 4 }]);
    const viaLookup = await new Promise<unknown>((resolve) => publicIssuer.lookup('localhost', { all: true }, (error) => resolve(error)));
    expect(viaLookup).toBeInstanceOf(DestinationRefused);
  });
});
