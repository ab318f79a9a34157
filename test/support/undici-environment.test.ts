import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'winston';
import { outboundFetch } from '../../src/oidc/outbound-fetch.js';
import { outboundPolicy, SPECIAL_USE_REFUSAL } from '../../src/net/outbound-policy.js';

/**
 * The suite's Jest environment (jest.config.js `testEnvironment`, test/support/undici-environment.js) has what a
 * plain Node process has and Jest's VM context lacks: Node's undici global dispatcher, from which oidc-provider and
 * src/oidc/outbound-fetch.ts build their SSRF guards. Should a change of jest.config.js lose it, this file fails
 * instead of the whole suite silently testing unguarded outbound fetches.
 * test/oidc/provider-outbound-policy.test.ts runs the guard end to end through the provider.
 */

test("the global dispatcher of Node's bundled undici is there, a plain Agent", () => {
  void Response; // as oidc-provider and outbound-fetch.ts do before looking
  const holder = globalThis as unknown as Record<symbol, object | undefined>;
  const dispatcher = holder[Symbol.for('undici.globalDispatcher.2')] ?? holder[Symbol.for('undici.globalDispatcher.1')];
  expect(dispatcher).toBeDefined();
  expect(dispatcher!.constructor.name).toBe('Agent');
});

test('in a production configuration, the provider fetch hook is built with its guard and refuses loopback before any request', async () => {
  let requests = 0;
  const target = http.createServer((_req, res) => {
    requests += 1;
    res.end('{}');
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  try {
    const logged: string[] = [];
    const logger = { error: (message: string) => logged.push(`error: ${message}`), warn: (message: string) => logged.push(`warn: ${message}`) } as unknown as Logger;
    const policy = outboundPolicy({ issuer: 'http://localhost:3000', allowPrivateNetworks: [], production: true });
    const fetchHook = outboundFetch({ policy, logger, production: true });
    // No complaint that the Agent is missing: the hook has its own dispatcher rather than refusing everything.
    expect(logged).toEqual([]);
    const url = `http://127.0.0.1:${(target.address() as AddressInfo).port}/jwks.json`;
    // The socket is destroyed once connected: fetch fails, undici naming our refusal as the network error's cause
    // (its errors are of Node's realm, not the test's), and the server never saw a request.
    const failure = await fetchHook(url, { signal: AbortSignal.timeout(5000) }).then(
      () => undefined,
      (error: Error) => error,
    );
    expect({ name: failure?.name, message: failure?.message }).toEqual({ name: 'TypeError', message: 'fetch failed' });
    expect(String((failure?.cause as Error | undefined)?.message)).toContain(SPECIAL_USE_REFUSAL);
    expect(requests).toBe(0);
  } finally {
    target.closeAllConnections();
    await new Promise<void>((resolve) => target.close(() => resolve()));
  }
});
