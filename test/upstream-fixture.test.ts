import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import { startUpstream, type Upstream } from './support/upstream.js';

/**
 * The local upstream (test/support/upstream.ts) driven by a real OAuth client, openid-client, the way the consumer
 * will use it: discovery, authorization code + PKCE + state + nonce, Google's extra parameters, refresh, revocation,
 * plus the fixture's own knobs (counters, JSON token bodies, failRefreshes, Graph /v1.0/me, revokeAll).
 */
const REDIRECT_URI = 'http://127.0.0.1:9/integrations/google/callback'; // never fetched: completeLogin stops there
const SCOPE = 'openid email offline_access https://mail.google.com/';

let upstream: Upstream;
let rp: oidc.Configuration;

beforeAll(async () => {
  upstream = await startUpstream();
  upstream.setRedirectUris([REDIRECT_URI]);
  rp = await oidc.discovery(new URL(upstream.issuer), upstream.clientId, undefined, oidc.ClientSecretPost(upstream.clientSecret), {
    execute: [oidc.allowInsecureRequests],
  });
});

afterAll(async () => {
  await upstream?.close();
});

/** One complete account link: authorization URL → user login + consent at the upstream → code exchange. */
async function link(target = upstream, config = rp) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    prompt: 'consent',
    access_type: 'offline', // Google's; the upstream ignores it
  });
  const callback = await target.completeLogin(url.href);
  const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
  return { callback, tokens };
}

/** The upstream's redirect for a consented authorization request without PKCE (for hand-made token requests). */
async function codeWithoutPkce() {
  const url = oidc.buildAuthorizationUrl(rp, { redirect_uri: REDIRECT_URI, scope: SCOPE, state: oidc.randomState(), prompt: 'consent' });
  const callback = await upstream.completeLogin(url.href);
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`no code in ${callback.href}`);
  return code;
}

const basic = (target: Upstream) =>
  `Basic ${Buffer.from(`${encodeURIComponent(target.clientId)}:${encodeURIComponent(target.clientSecret)}`).toString('base64')}`;

const graphMe = (target: Upstream, token: string) =>
  fetch(new URL('/v1.0/me', target.issuer), { headers: { authorization: `Bearer ${token}` } });

describe('local upstream fixture', () => {
  it('publishes discovery with the endpoints the consumer needs and RFC 9207 iss', () => {
    const metadata = rp.serverMetadata();
    expect(metadata.issuer).toBe(upstream.issuer);
    expect(metadata.authorization_response_iss_parameter_supported).toBe(true);
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
    expect(metadata.revocation_endpoint).toBe(`${upstream.issuer}/token/revocation`);
    expect(metadata.introspection_endpoint).toBe(`${upstream.issuer}/token/introspection`);
    expect(metadata.userinfo_endpoint).toBe(`${upstream.issuer}/me`);
    expect(metadata.scopes_supported).toEqual(expect.arrayContaining(['https://mail.google.com/', 'https://graph.microsoft.com/User.Read']));
  });

  it('links an account: PKCE + nonce + prompt=consent + access_type=offline → tokens with a refresh token', async () => {
    const before = { ...upstream.counts };
    const { callback, tokens } = await link();

    expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT_URI);
    expect(callback.searchParams.get('iss')).toBe(upstream.issuer); // and openid-client verified it
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.expires_in).toBeGreaterThan(3500);
    expect(tokens.scope?.split(' ')).toEqual(expect.arrayContaining(['openid', 'email', 'offline_access', 'https://mail.google.com/']));
    expect(tokens.claims()).toMatchObject({ iss: upstream.issuer, sub: 'upstream-user-1', aud: upstream.clientId });

    const userinfo = await oidc.fetchUserInfo(rp, tokens.access_token, 'upstream-user-1');
    expect(userinfo).toMatchObject({ sub: 'upstream-user-1', email: 'alice@upstream.test', email_verified: true });

    expect(upstream.counts.authorize).toBe(before.authorize + 1);
    expect(upstream.counts.token).toBe(before.token + 1);
    expect(upstream.counts.refresh).toBe(before.refresh);
    expect(upstream.lastTokenRequest).toEqual({ contentType: expect.stringMatching(/^application\/x-www-form-urlencoded/), authorization: 'body' });
  });

  it('rotates refresh tokens; a rotated-out token is invalid_grant (and, as a replay, revokes the grant)', async () => {
    const { tokens } = await link();
    const first = tokens.refresh_token!;
    const before = upstream.counts.refresh;

    const refreshed = await oidc.refreshTokenGrant(rp, first);
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(refreshed.refresh_token).toEqual(expect.any(String));
    expect(refreshed.refresh_token).not.toBe(first);
    expect(upstream.counts.refresh).toBe(before + 1);
    expect((await upstream.introspect(refreshed.access_token)).active).toBe(true);

    await expect(oidc.refreshTokenGrant(rp, first)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(upstream.counts.refresh).toBe(before + 2);
    // oidc-provider's reuse detection: the whole grant is gone, the newest tokens included.
    expect((await upstream.introspect(refreshed.refresh_token!)).active).toBe(false);
    expect((await upstream.introspect(refreshed.access_token)).active).toBe(false);
  });

  it('introspects tokens as active until revoked at the revocation endpoint', async () => {
    const { tokens } = await link();
    const introspected = await upstream.introspect(tokens.access_token);
    expect(introspected).toMatchObject({ active: true, client_id: upstream.clientId, sub: 'upstream-user-1', token_type: 'Bearer' });
    expect(String(introspected.scope).split(' ')).toContain('https://mail.google.com/');
    expect(await upstream.introspect(tokens.refresh_token!)).toMatchObject({ active: true, client_id: upstream.clientId });

    const before = upstream.counts.revocation;
    await oidc.tokenRevocation(rp, tokens.access_token);
    expect(upstream.counts.revocation).toBe(before + 1);
    expect((await upstream.introspect(tokens.access_token)).active).toBe(false);
    // oidc-provider (like Google) revokes every token of the grant, whichever one is revoked.
    expect((await upstream.introspect(tokens.refresh_token!)).active).toBe(false);
    await expect(oidc.refreshTokenGrant(rp, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });

    const second = await link();
    await oidc.tokenRevocation(rp, second.tokens.refresh_token!);
    expect(upstream.counts.revocation).toBe(before + 2);
    expect((await upstream.introspect(second.tokens.refresh_token!)).active).toBe(false);
    expect((await upstream.introspect(second.tokens.access_token)).active).toBe(false);
    await expect(oidc.refreshTokenGrant(rp, second.tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('accepts a JSON token request body with Basic client authentication (Notion style)', async () => {
    const code = await codeWithoutPkce();
    const response = await fetch(new URL('/token', upstream.issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic(upstream), accept: 'application/json' },
      body: JSON.stringify({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI }),
    });
    const body = (await response.json()) as Record<string, unknown>;
    expect(response.status).toBe(200);
    expect(body).toMatchObject({ access_token: expect.any(String), refresh_token: expect.any(String), token_type: 'Bearer' });
    expect(upstream.lastTokenRequest).toEqual({ contentType: 'application/json', authorization: 'basic' });

    const refresh = await fetch(new URL('/token', upstream.issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic(upstream) },
      body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: body.refresh_token }),
    });
    expect(refresh.status).toBe(200);

    const malformed = await fetch(new URL('/token', upstream.issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic(upstream) },
      body: '{not json',
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('fails every refresh with invalid_grant while failRefreshes(true)', async () => {
    const { tokens } = await link();
    upstream.failRefreshes(true);
    try {
      const before = upstream.counts.refresh;
      await expect(oidc.refreshTokenGrant(rp, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
      expect(upstream.counts.refresh).toBe(before + 1);
    } finally {
      upstream.failRefreshes(false);
    }
    // The refresh token itself was never touched.
    await expect(oidc.refreshTokenGrant(rp, tokens.refresh_token!)).resolves.toMatchObject({ access_token: expect.any(String) });
  });

  it('serves Graph GET /v1.0/me for valid access tokens only', async () => {
    const { tokens } = await link();
    const before = upstream.counts.graphMe;
    const ok = await graphMe(upstream, tokens.access_token);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({
      id: 'upstream-user-1',
      mail: 'alice@upstream.test',
      userPrincipalName: 'alice@upstream.test',
      displayName: 'Alice Upstream',
    });

    const bad = await graphMe(upstream, 'not-a-token');
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toContain('invalid_token');
    expect(await bad.json()).toMatchObject({ error: { code: 'InvalidAuthenticationToken' } });
    expect((await fetch(new URL('/v1.0/me', upstream.issuer))).status).toBe(401);
    expect(upstream.counts.graphMe).toBe(before + 3);
  });

  it('revokeAll() invalidates every grant: refresh tokens fail, access tokens are rejected', async () => {
    const a = await link();
    const b = await link();
    await upstream.revokeAll();
    for (const { tokens } of [a, b]) {
      await expect(oidc.refreshTokenGrant(rp, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
      expect((await upstream.introspect(tokens.access_token)).active).toBe(false);
      expect((await graphMe(upstream, tokens.access_token)).status).toBe(401);
    }
    // Linking again works.
    const again = await link();
    await expect(oidc.refreshTokenGrant(rp, again.tokens.refresh_token!)).resolves.toMatchObject({ access_token: expect.any(String) });
  });

  it('redirects access_denied when the user denies consent', async () => {
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(rp, { redirect_uri: REDIRECT_URI, scope: SCOPE, state, prompt: 'consent' });
    const callback = await upstream.completeLogin(url.href, { deny: true });
    expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT_URI);
    expect(Object.fromEntries(callback.searchParams)).toMatchObject({ error: 'access_denied', state, iss: upstream.issuer });
  });

  it('signs in another account when asked', async () => {
    const url = oidc.buildAuthorizationUrl(rp, { redirect_uri: REDIRECT_URI, scope: 'openid email', state: 's', prompt: 'consent' });
    const callback = await upstream.completeLogin(url.href, { account: { sub: 'upstream-user-2', email: 'bob@upstream.test' } });
    const tokens = await oidc.authorizationCodeGrant(rp, callback, { expectedState: 's' });
    expect(tokens.claims()?.sub).toBe('upstream-user-2');
    const me = await graphMe(upstream, tokens.access_token);
    expect(await me.json()).toMatchObject({ id: 'upstream-user-2', mail: 'bob@upstream.test', displayName: null });
  });

  it('throws from completeLogin with the upstream error for an unregistered redirect URI', async () => {
    const url = oidc.buildAuthorizationUrl(rp, { redirect_uri: 'http://127.0.0.1:9/elsewhere', scope: SCOPE, state: 's' });
    await expect(upstream.completeLogin(url.href)).rejects.toThrow(/redirect_uri did not match/);
  });

  it('setRedirectUris replaces the registered redirect URIs', async () => {
    const other = 'http://127.0.0.1:9/integrations/microsoft/callback';
    upstream.setRedirectUris([REDIRECT_URI, other]);
    try {
      const url = oidc.buildAuthorizationUrl(rp, { redirect_uri: other, scope: SCOPE, state: 's' });
      const callback = await upstream.completeLogin(url.href);
      expect(`${callback.origin}${callback.pathname}`).toBe(other);
      expect(callback.searchParams.get('code')).toEqual(expect.any(String));
    } finally {
      upstream.setRedirectUris([REDIRECT_URI]);
    }
  });
});

describe('local upstream options', () => {
  let plain: Upstream;
  let plainRp: oidc.Configuration;

  beforeAll(async () => {
    // A second upstream in the same process, with its own store: without rotation, short-lived access tokens.
    plain = await startUpstream({ rotateRefreshTokens: false, accessTokenTtl: 1, redirectUris: [REDIRECT_URI] });
    plainRp = await oidc.discovery(new URL(plain.issuer), plain.clientId, undefined, oidc.ClientSecretBasic(plain.clientSecret), {
      execute: [oidc.allowInsecureRequests],
    });
  });

  afterAll(async () => {
    await plain?.close();
  });

  it('keeps the refresh token when rotation is off, and expires access tokens after accessTokenTtl', async () => {
    const { tokens } = await link(plain, plainRp);
    expect(plain.lastTokenRequest).toMatchObject({ authorization: 'basic' });
    expect(tokens.expires_in).toBe(1);
    // Tokens of one upstream mean nothing to the other.
    expect((await upstream.introspect(tokens.access_token)).active).toBe(false);

    const refreshed = await oidc.refreshTokenGrant(plainRp, tokens.refresh_token!);
    expect(refreshed.refresh_token).toBe(tokens.refresh_token);
    await expect(oidc.refreshTokenGrant(plainRp, tokens.refresh_token!)).resolves.toMatchObject({ access_token: expect.any(String) });
    expect(plain.counts).toMatchObject({ token: 1, refresh: 2 });

    expect((await graphMe(plain, refreshed.access_token)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect((await graphMe(plain, refreshed.access_token)).status).toBe(401);
    await expect(oidc.fetchUserInfo(plainRp, refreshed.access_token, oidc.skipSubjectCheck)).rejects.toMatchObject({ status: 401 });
    expect((await plain.introspect(refreshed.access_token)).active).toBe(false);
  });
});
