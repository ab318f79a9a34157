import * as oidc from 'openid-client';
import type { ConfigOverrides } from '../../src/config.js';
import { startBalancer, type Balancer } from '../support/balancer.js';
import { Browser } from '../support/browser.js';
import { createUser, introspect, PASSWORD, pkcePair, postForm, REDIRECT_URI, registerClient, relyingParty } from '../support/flow.js';
import { startInstancePair, type TestServer } from '../support/server.js';

/** Two instances over one Postgres schema and one Redis key prefix, behind a balancer whose URL is their issuer. */
export interface Pair {
  lb: Balancer;
  a: TestServer;
  b: TestServer;
  /** The balancer as a "server" for the flow helpers (they only read `url`). */
  front: TestServer;
  destroy(): Promise<void>;
}

export async function startPair(config: ConfigOverrides = {}): Promise<Pair> {
  const lb = await startBalancer();
  const instances = await startInstancePair({ ...config, issuer: lb.url });
  const { a, b } = instances;
  lb.backends = [a.url, b.url];
  return {
    lb,
    a,
    b,
    front: { url: lb.url } as TestServer,
    async destroy() {
      await instances.destroy();
      await lb.close();
    },
  };
}

const A = 0;
const B = 1;

/**
 * Authorization request on A, login and consent on B, code exchange on A, refresh on B, introspection and
 * revocation each on the other instance than the one that issued the token; the browser session made on B signs
 * the user in on A. Every step checks it landed where it was sent.
 */
export async function crossingFlow(pair: Pair): Promise<void> {
  const { lb, a, front } = pair;
  const user = await createUser(a);
  const client = await registerClient(a, { scope: 'openid email offline_access account' });
  const rp = await relyingParty(front, client);
  const { verifier, challenge } = await pkcePair();
  const state = oidc.randomState();
  const authorizationUrl = oidc.buildAuthorizationUrl(rp, { redirect_uri: REDIRECT_URI, scope: 'openid email offline_access account', code_challenge: challenge, code_challenge_method: 'S256', state });
  const on = async <T>(instance: number, step: () => Promise<T>): Promise<T> => {
    lb.use(instance);
    const before = [...lb.served];
    const result = await step();
    expect(lb.served[instance]! - before[instance]!).toBeGreaterThan(0);
    expect(lb.served[1 - instance]).toBe(before[1 - instance]);
    return result;
  };

  const browser = new Browser(lb.url);
  const loginPage = await on(A, () => browser.navigate(authorizationUrl.href, REDIRECT_URI));
  expect(loginPage.html).toContain('type="password"');
  const callback = await on(B, async () => {
    const consentPage = await browser.submit(loginPage, '/login', { email: user.email, password: PASSWORD }, REDIRECT_URI);
    expect(consentPage.html).toContain('/confirm');
    const done = await browser.submit(consentPage, '/confirm', {}, REDIRECT_URI);
    return new URL(done.url);
  });
  const tokens = await on(A, () => oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state }));
  expect(tokens.claims()?.sub).toBe(user.id);
  const refreshed = await on(B, () => oidc.refreshTokenGrant(rp, tokens.refresh_token!));
  expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);

  // Tokens issued by one instance are known to the other.
  expect(await on(A, () => introspect(front, client, refreshed.access_token))).toMatchObject({ active: true, sub: user.id });
  expect(await on(B, () => introspect(front, client, tokens.access_token))).toMatchObject({ active: true, sub: user.id });
  const grants = await on(A, async () => (await fetch(`${lb.url}/account/grants`, { headers: { authorization: `Bearer ${refreshed.access_token}` } })).json() as Promise<{ items: unknown[] }>);
  expect(grants.items).toEqual([expect.objectContaining({ client_id: client.client_id })]);

  // The browser session made on B signs the user in on A: no login page, straight back with a code.
  const again = await on(A, () => browser.navigate(oidc.buildAuthorizationUrl(rp, { redirect_uri: REDIRECT_URI, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' }).href, REDIRECT_URI));
  expect(again.html).toBeUndefined();
  expect(new URL(again.url).searchParams.get('code')).toBeTruthy();

  // Revocation on one instance holds on the other: the access token (A issued, B revokes, A asks)...
  expect((await on(B, () => postForm(front, '/token/revocation', { token: tokens.access_token, token_type_hint: 'access_token' }, client))).status).toBe(200);
  expect(await on(A, () => introspect(front, client, tokens.access_token))).toEqual({ active: false });
  // ...and the refresh token (B issued, A revokes, B refuses it).
  expect((await on(A, () => postForm(front, '/token/revocation', { token: refreshed.refresh_token!, token_type_hint: 'refresh_token' }, client))).status).toBe(200);
  const refused = await on(B, () => postForm(front, '/token', { grant_type: 'refresh_token', refresh_token: refreshed.refresh_token! }, client));
  expect(refused.body.error).toBe('invalid_grant');

  // Both publish the same signing keys.
  const jwks = async (server: TestServer) => ((await fetch(`${server.url}/jwks`).then((r) => r.json())) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid).sort();
  expect(await jwks(pair.a)).toEqual(await jwks(pair.b));
}
