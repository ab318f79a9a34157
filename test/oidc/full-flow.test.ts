import * as oidc from 'openid-client';
import * as jose from 'jose';
import { startTestServer, type TestServer } from '../support/server.js';
import { Browser, findForm } from '../support/browser.js';
import { createUser, introspect, loginAndConsent, pkcePair, registerClient, relyingParty, REDIRECT_URI } from '../support/flow.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.destroy();
});

describe('authorization code + PKCE with openid-client as the relying party', () => {
  test.each([
    ['a plain authorization request', false],
    ['a pushed authorization request (PAR)', true],
  ])('%s: login → consent → tokens → userinfo → refresh → introspect → revoke', async (_name, usePar) => {
    const user = await createUser(server);
    const client = await registerClient(server);
    const rp = await relyingParty(server, client);
    expect(rp.serverMetadata().issuer).toBe(server.url);

    const { verifier, challenge } = await pkcePair();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const params = { redirect_uri: REDIRECT_URI, scope: 'openid email profile', code_challenge: challenge, code_challenge_method: 'S256', state, nonce };
    const url = usePar ? await oidc.buildAuthorizationUrlWithPAR(rp, params) : oidc.buildAuthorizationUrl(rp, params);
    if (usePar) expect(url.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);

    const callback = await loginAndConsent(new Browser(server.url), url.href, user);
    expect(callback.searchParams.get('iss')).toBe(server.url); // RFC 9207
    const tokens = await oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });

    // The ID token's signature, checked against the published JWKS (not only parsed).
    const jwks = jose.createRemoteJWKSet(new URL(rp.serverMetadata().jwks_uri!));
    const { payload, protectedHeader } = await jose.jwtVerify(tokens.id_token!, jwks, { issuer: server.url, audience: client.client_id });
    expect(payload.sub).toBe(user.id);
    expect(payload.nonce).toBe(nonce);
    // Scope claims go to userinfo when an access token is issued (conformIdTokenClaims).
    expect(payload.email).toBeUndefined();
    expect(protectedHeader.alg).toBe('RS256');
    expect(tokens.expires_in).toBe(900);
    expect(tokens.refresh_token).toBeTruthy(); // issued for the refresh_token grant, without offline_access or prompt=consent

    const userinfo = await oidc.fetchUserInfo(rp, tokens.access_token, user.id);
    expect(userinfo).toMatchObject({ sub: user.id, email: user.email, email_verified: true, name: 'Test User', workspace: 'default' });

    const refreshed = await oidc.refreshTokenGrant(rp, tokens.refresh_token!);
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token); // rotated

    const active = await oidc.tokenIntrospection(rp, refreshed.access_token);
    expect(active).toMatchObject({ active: true, sub: user.id, client_id: client.client_id, token_type: 'Bearer' });
    expect(String(active.scope).split(' ').sort()).toEqual(['email', 'openid', 'profile']);

    await oidc.tokenRevocation(rp, refreshed.access_token);
    expect(await introspect(server, client, refreshed.access_token)).toEqual({ active: false });
    await oidc.tokenRevocation(rp, refreshed.refresh_token!);
    expect(await introspect(server, client, refreshed.refresh_token!)).toEqual({ active: false });
  });
});

describe('login and consent pages', () => {
  async function startFlow(client: { client_id: string }) {
    const { challenge } = await pkcePair();
    const url = new URL(`${server.url}/auth`);
    url.search = new URLSearchParams({ client_id: client.client_id, redirect_uri: REDIRECT_URI, response_type: 'code', scope: 'openid email', code_challenge: challenge, code_challenge_method: 'S256', state: 's1' }).toString();
    const browser = new Browser(server.url);
    return { browser, page: await browser.navigate(url.href, REDIRECT_URI) };
  }

  test('the login form has one email input, one password input and one submit, with the security headers', async () => {
    const client = await registerClient(server);
    const { page } = await startFlow(client);
    const form = findForm(page.html!, '/login');
    expect(form.inputs.filter((i) => !i.startsWith('hidden:'))).toEqual(['email:email', 'password:password']);
    expect(page.html!.match(/type="submit"/g)).toHaveLength(1);
    expect(page.response!.headers.get('x-frame-options')).toBe('DENY');
    expect(page.response!.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.response!.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.response!.headers.get('referrer-policy')).toBe('no-referrer');
  });

  test('a wrong password shows an error on the same page, then the right one continues', async () => {
    const user = await createUser(server);
    const client = await registerClient(server);
    const { browser, page } = await startFlow(client);
    const wrong = await browser.submit(page, '/login', { email: user.email, password: 'nope' }, REDIRECT_URI);
    expect(wrong.response!.status).toBe(401);
    expect(wrong.html).toContain('Wrong email or password');
    expect(wrong.html).toContain(`value="${user.email}"`);
    const consent = await browser.submit(wrong, '/login', { email: user.email, password: 'correct horse battery staple' }, REDIRECT_URI);
    expect(consent.html).toContain('/confirm');
    expect(findForm(consent.html!, '/abort')).toBeTruthy(); // "deny" is its own form
  });

  test('deny returns access_denied to the client', async () => {
    const user = await createUser(server);
    const client = await registerClient(server);
    const { browser, page } = await startFlow(client);
    const consent = await browser.submit(page, '/login', { email: user.email, password: 'correct horse battery staple' }, REDIRECT_URI);
    const denied = await browser.submit(consent, '/abort', {}, REDIRECT_URI);
    const back = new URL(denied.url);
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('state')).toBe('s1');
    expect(back.searchParams.get('iss')).toBe(server.url);
  });

  test('a form post without the CSRF token or from another origin is refused', async () => {
    const user = await createUser(server);
    const client = await registerClient(server);
    const { browser, page } = await startFlow(client);
    const noToken = await browser.submit(page, '/login', { email: user.email, password: 'correct horse battery staple', csrf: 'forged' }, REDIRECT_URI);
    expect(noToken.response!.status).toBe(403);
    const crossOrigin = await browser.submit(page, '/login', { email: user.email, password: 'correct horse battery staple' }, REDIRECT_URI, { origin: 'https://evil.example' });
    expect(crossOrigin.response!.status).toBe(403);
  });

  test('discovery is served at both well-known locations', async () => {
    const [openid, oauth] = (await Promise.all(
      ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'].map((p) => fetch(`${server.url}${p}`).then((r) => r.json() as Promise<Record<string, unknown>>)),
    )) as [Record<string, unknown>, Record<string, unknown>];
    expect(oauth).toEqual(openid);
    expect(openid.scopes_supported).toEqual(['openid', 'profile', 'email', 'offline_access', 'account', 'integrations:token', 'admin']);
    expect(openid.response_types_supported).toEqual(['code']);
    expect(openid.code_challenge_methods_supported).toEqual(['S256']);
    expect(openid.grant_types_supported).not.toContain('password');
  });
});
