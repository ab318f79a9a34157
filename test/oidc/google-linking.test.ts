import http from 'node:http';
import * as jose from 'jose';
import { startTestServer, type TestServer } from '../support/server.js';
import { createUser, introspect, PASSWORD, postForm, registerClient } from '../support/flow.js';
import { api } from '../support/api.js';
import { ConfigError } from '../../src/config.js';
import { assertLinkingConfig } from '../../src/oidc/google-linking/assertion.js';

/**
 * Google streamlined account linking against a real server, with a local stand-in for Google's JWKS.
 * Request bodies are Google's: https://developers.google.com/identity/account-linking/oauth-with-sign-in-linking
 */
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const GOOGLE_CLIENT_ID = '1234567890-linking.apps.googleusercontent.com';
const GOOGLE_ISSUER = 'https://accounts.google.com';

type KeyPair = Awaited<ReturnType<typeof jose.generateKeyPair>>;
let googleKey: KeyPair;
let otherKey: KeyPair;
let jwksServer: http.Server;
let jwksOrigin: string;

let server: TestServer;
let unconfigured: TestServer;
let client: { client_id: string; client_secret?: string };

async function startJwksServer(): Promise<void> {
  googleKey = await jose.generateKeyPair('RS256', { extractable: true });
  otherKey = await jose.generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await jose.exportJWK(googleKey.publicKey)), kid: 'google-1', alg: 'RS256', use: 'sig' };
  jwksServer = http.createServer((req, res) => {
    if (req.url === '/oauth2/v3/certs') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
      return;
    }
    res.statusCode = 503;
    res.end('unavailable');
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksOrigin = `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}`;
}

const linkingConfig = (jwksPath = '/oauth2/v3/certs') => ({
  config: { googleLinking: { clientId: GOOGLE_CLIENT_ID, issuer: GOOGLE_ISSUER, jwksUri: `${jwksOrigin}${jwksPath}` } },
});

let counter = 0;
const newEmail = () => `google-${Date.now().toString(36)}-${(counter += 1)}@example.com`;

/** A Google ID token as Google issues them for streamlined linking (RS256, kid, iss, aud, sub, email). */
async function idToken(claims: Record<string, unknown> = {}, options: { key?: KeyPair; expiresAt?: number | string; kid?: string } = {}) {
  const { iss = GOOGLE_ISSUER, aud = GOOGLE_CLIENT_ID, sub = `1${Math.floor(Math.random() * 1e17)}`, ...rest } = claims;
  return new jose.SignJWT({ email_verified: true, name: 'Grace Hopper', ...rest })
    .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? 'google-1', typ: 'JWT' })
    .setIssuer(iss as string)
    .setAudience(aud as string)
    .setSubject(sub as string)
    .setIssuedAt(typeof options.expiresAt === 'number' ? options.expiresAt - 3600 : undefined)
    .setExpirationTime(options.expiresAt ?? '1h')
    .sign((options.key ?? googleKey).privateKey);
}

/** Google's request: credentials in the form body (client_id, client_secret), or HTTP Basic. */
async function link(target: TestServer, form: Record<string, string>, credentials: 'body' | 'basic' = 'body', as = client) {
  if (credentials === 'basic') return postForm(target, '/token', { grant_type: JWT_BEARER, ...form }, as);
  const body = new URLSearchParams({ grant_type: JWT_BEARER, ...form, client_id: as.client_id, ...(as.client_secret ? { client_secret: as.client_secret } : {}) });
  const response = await fetch(`${target.url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

const userByEmail = (email: string) => server.context.queries.users.findByEmail(email);

beforeAll(async () => {
  await startJwksServer();
  [server, unconfigured] = await Promise.all([startTestServer(linkingConfig()), startTestServer()]);
  client = await registerClient(server, {
    client_name: 'Google',
    grant_types: ['authorization_code', 'refresh_token', JWT_BEARER],
    token_endpoint_auth_method: 'client_secret_post',
  });
});
afterAll(async () => {
  await Promise.all([server?.destroy(), unconfigured?.destroy()]);
  jwksServer?.closeAllConnections(); // jose's fetch keeps connections alive
  await new Promise((resolve) => jwksServer?.close(resolve));
});

describe('check', () => {
  test.each(['body', 'basic'] as const)('200 account_found "true" for a known email, 404 "false" otherwise (credentials in %s)', async (style) => {
    const user = await createUser(server);
    const found = await link(server, { intent: 'check', assertion: await idToken({ email: user.email.toUpperCase() }), scope: 'openid email' }, style);
    expect(found).toMatchObject({ status: 200, body: { account_found: 'true' } });
    const missing = await link(server, { intent: 'check', assertion: await idToken({ email: newEmail() }), scope: 'openid email' }, style);
    expect(missing).toMatchObject({ status: 404, body: { account_found: 'false' } });
  });
});

describe('get', () => {
  test('an existing account gets tokens: opaque, introspectable, with the workspace claim, refreshable', async () => {
    const user = await createUser(server);
    const assertion = await idToken({ email: user.email });
    const response = await link(server, { intent: 'get', assertion, scope: 'openid email profile' });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.body).toEqual({
      access_token: expect.any(String),
      expires_in: 900,
      refresh_token: expect.any(String),
      scope: 'openid email profile',
      token_type: 'Bearer',
    });
    const { access_token: accessToken, refresh_token: refreshToken } = response.body;
    expect(accessToken.split('.')).toHaveLength(1); // opaque, not a JWT

    expect(await introspect(server, client, accessToken)).toMatchObject({ active: true, sub: user.id, client_id: client.client_id, workspace: 'default', scope: 'openid email profile' });
    const userinfo = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${accessToken}` } }).then((r) => r.json());
    expect(userinfo).toMatchObject({ sub: user.id, email: user.email, workspace: 'default' });

    // Google refreshes like any OAuth client, credentials in the body.
    const refreshed = await postForm(server, '/token', { grant_type: 'refresh_token', refresh_token: refreshToken }, client);
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).not.toBe(refreshToken);
    expect(await introspect(server, client, refreshed.body.access_token)).toMatchObject({ active: true, sub: user.id, workspace: 'default' });

    // The link is a grant the user sees (and can revoke) like any other.
    const grants = await server.context.grants.listForAccount(user.id);
    expect(grants.map((g) => g.client_id)).toEqual([client.client_id]);

    // grant.success fed the audit log; the assertion is nowhere in it.
    await server.context.audit.flush();
    const events = await server.context.queries.audit.list({ account_id: user.id, limit: 100 });
    expect(events.find((e) => e.type === 'OAuthTokenIssue')).toMatchObject({ outcome: 'success', client_id: client.client_id, details: expect.objectContaining({ grant_type: JWT_BEARER }) });
    const written = JSON.stringify(events);
    for (const secret of [assertion, accessToken, refreshToken, client.client_secret!]) expect(written).not.toContain(secret);
  });

  test('HTTP Basic credentials work too, and a client without the refresh_token grant gets no refresh token', async () => {
    const user = await createUser(server);
    const noRefresh = await registerClient(server, { grant_types: ['authorization_code', JWT_BEARER] });
    const response = await link(server, { intent: 'get', assertion: await idToken({ email: user.email }), scope: 'openid' }, 'basic', noRefresh);
    expect(response.status).toBe(200);
    expect(response.body.refresh_token).toBeUndefined();
    expect(await introspect(server, noRefresh, response.body.access_token)).toMatchObject({ active: true, sub: user.id });
  });

  test('no matching account: 401 linking_error, nothing created', async () => {
    const email = newEmail();
    const response = await link(server, { intent: 'get', assertion: await idToken({ email }), scope: 'openid email' });
    expect(response.status).toBe(401);
    expect(response.body.error).toBe('linking_error');
    expect(response.body.login_hint).toBeUndefined();
    expect(await userByEmail(email)).toBeUndefined();
  });
});

describe('create', () => {
  test('a new email: the account is created (verified, named, default workspace, no usable password) and gets tokens', async () => {
    const email = newEmail();
    const response = await link(server, { intent: 'create', assertion: await idToken({ email, name: 'Ada Lovelace' }), scope: 'openid email' });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ token_type: 'Bearer', scope: 'openid email', refresh_token: expect.any(String) });
    const user = await userByEmail(email);
    expect(user).toMatchObject({ email, email_verified: true, name: 'Ada Lovelace', workspace_id: 'default' });
    expect(await server.context.accounts.authenticate(email, PASSWORD)).toBeUndefined();
    expect(await introspect(server, client, response.body.access_token)).toMatchObject({ active: true, sub: user!.id, workspace: 'default' });

    // From now on check and get find it.
    expect(await link(server, { intent: 'check', assertion: await idToken({ email }) })).toMatchObject({ status: 200, body: { account_found: 'true' } });
    expect((await link(server, { intent: 'get', assertion: await idToken({ email }), scope: 'openid' })).status).toBe(200);

    // The audit log records the new account; a `check` issues nothing and leaves no token event.
    await server.context.audit.flush();
    const events = await server.context.queries.audit.list({ account_id: user!.id, limit: 100 });
    expect(events.find((e) => e.type === 'UserCreate')).toMatchObject({ client_id: client.client_id, details: { via: 'google_streamlined_linking' } });
    const tokenEvents = await server.context.queries.audit.list({ type: 'OAuthTokenIssue', client_id: client.client_id, limit: 1000 });
    expect(tokenEvents.filter((e) => e.outcome === 'success').every((e) => e.account_id)).toBe(true);
  });

  test('an email already registered: 401 linking_error with login_hint, nothing changed', async () => {
    const user = await createUser(server);
    const response = await link(server, { intent: 'create', assertion: await idToken({ email: user.email.toUpperCase() }), scope: 'openid email' });
    expect(response.status).toBe(401);
    expect(response.body).toMatchObject({ error: 'linking_error', login_hint: user.email.toUpperCase() });
    expect(await userByEmail(user.email)).toMatchObject({ id: user.id, name: 'Test User' });
    expect(await server.context.accounts.authenticate(user.email, PASSWORD)).toMatchObject({ id: user.id });
  });
});

describe('rejected assertions: 400 invalid_grant, nothing created', () => {
  const now = () => Math.floor(Date.now() / 1000);
  test.each([
    ['signed by another key', (email: string) => idToken({ email }, { key: otherKey })],
    ['signed with an unknown kid', (email: string) => idToken({ email }, { key: otherKey, kid: 'unknown' })],
    ['for another audience', (email: string) => idToken({ email, aud: 'someone-else.apps.googleusercontent.com' })],
    ['from another issuer', (email: string) => idToken({ email, iss: 'https://evil.example.com' })],
    ['expired', (email: string) => idToken({ email }, { expiresAt: now() - 3600 })],
    ['with an unverified email', (email: string) => idToken({ email, email_verified: false })],
    ['without an email', () => idToken({})],
    ['not a JWT', async () => 'not-a-jwt'],
    ['unsigned (alg none)', async (email: string) =>
      new jose.UnsecuredJWT({ email, email_verified: true }).setIssuer(GOOGLE_ISSUER).setAudience(GOOGLE_CLIENT_ID).setSubject('1').setIssuedAt().setExpirationTime('1h').encode()],
  ])('%s', async (_name, makeAssertion) => {
    const email = newEmail();
    const assertion = await makeAssertion(email);
    for (const intent of ['check', 'get', 'create']) {
      const response = await link(server, { intent, assertion, scope: 'openid email' });
      expect({ intent, status: response.status, error: response.body.error }).toEqual({ intent, status: 400, error: 'invalid_grant' });
    }
    expect(await userByEmail(email)).toBeUndefined();
  });

  test('both spellings of Google\'s issuer are accepted', async () => {
    const user = await createUser(server);
    const response = await link(server, { intent: 'check', assertion: await idToken({ email: user.email, iss: 'accounts.google.com' }) });
    expect(response).toMatchObject({ status: 200, body: { account_found: 'true' } });
  });
});

describe('requests the token endpoint refuses', () => {
  test('bad intent, missing assertion, a scope the client may not have, wrong secret, a client without the grant', async () => {
    const user = await createUser(server);
    const assertion = await idToken({ email: user.email });
    expect(await link(server, { intent: 'delete', assertion })).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await link(server, { assertion })).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await link(server, { intent: 'get' })).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await link(server, { intent: 'get', assertion, scope: 'openid admin' })).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });
    expect(await link(server, { intent: 'get', assertion, scope: 'openid account' })).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });
    expect(await link(server, { intent: 'check', assertion }, 'body', { ...client, client_secret: 'wrong' })).toMatchObject({ status: 401, body: { error: 'invalid_client' } });

    const other = await registerClient(server); // authorization_code + refresh_token only
    const refused = await link(server, { intent: 'check', assertion }, 'basic', other);
    // oidc-provider's own check (lib/actions/token.js allowedGrantTypeCheck), renamed by src/oidc/grant-type-refusal.ts.
    expect(refused).toMatchObject({ status: 400, body: { error: 'unauthorized_client', error_description: 'requested grant type is not allowed for this client' } });

    const publicClient = await registerClient(server, { grant_types: ['authorization_code', JWT_BEARER], token_endpoint_auth_method: 'none' });
    expect(await link(server, { intent: 'get', assertion }, 'body', publicClient)).toMatchObject({ status: 400, body: { error: 'unauthorized_client' } });
    expect(await server.context.grants.listForAccount(user.id)).toEqual([]);
  });

  test('discovery lists the grant type', async () => {
    const discovery = await api(server).get('/.well-known/openid-configuration');
    expect(discovery.body.grant_types_supported).toContain(JWT_BEARER);
  });
});

describe('Google\'s JWKS unreachable', () => {
  let broken: TestServer;
  beforeAll(async () => {
    broken = await startTestServer(linkingConfig('/down'));
  });
  afterAll(async () => broken?.destroy());

  test('503 temporarily_unavailable, not invalid_grant or a 500', async () => {
    const brokenClient = await registerClient(broken, { grant_types: ['authorization_code', 'refresh_token', JWT_BEARER] });
    const response = await link(broken, { intent: 'check', assertion: await idToken({ email: newEmail() }) }, 'body', brokenClient);
    expect(response).toMatchObject({ status: 503, body: { error: 'temporarily_unavailable' } });
  });
});

describe('GOOGLE_LINKING_CLIENT_ID unset', () => {
  test('the grant answers unsupported_grant_type, is not advertised, and a client listing it still works otherwise', async () => {
    const googleClient = await registerClient(unconfigured, { grant_types: ['authorization_code', 'refresh_token', JWT_BEARER], token_endpoint_auth_method: 'client_secret_post' });
    const user = await createUser(unconfigured);
    for (const style of ['body', 'basic'] as const) {
      const response = await link(unconfigured, { intent: 'check', assertion: await idToken({ email: user.email }), scope: 'openid' }, style, googleClient);
      expect(response).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type' } });
    }
    // Its other grants still run (metadata naming the grant type stays valid): a bad refresh token is invalid_grant.
    const refresh = await postForm(unconfigured, '/token', { grant_type: 'refresh_token', refresh_token: 'nope' }, googleClient);
    expect(refresh).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    // A client without the grant gets oidc-provider's own refusal.
    const plain = await registerClient(unconfigured);
    expect((await link(unconfigured, { intent: 'check', assertion: await idToken({ email: user.email }) }, 'basic', plain)).status).toBe(400);
    expect(await unconfigured.context.queries.users.findByEmail(user.email)).toMatchObject({ id: user.id });

    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
      const discovery = await api(unconfigured).get(path);
      expect(discovery.body.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials']));
      expect(discovery.body.grant_types_supported).not.toContain(JWT_BEARER);
    }
  });
});

describe('GOOGLE_LINKING_JWKS_URI', () => {
  const base = { clientId: GOOGLE_CLIENT_ID, issuer: GOOGLE_ISSUER };
  test('http only on loopback', () => {
    expect(() => assertLinkingConfig({ ...base, jwksUri: 'http://keys.example.com/certs' })).toThrow(ConfigError);
    expect(() => assertLinkingConfig({ ...base, jwksUri: 'http://keys.example.com/certs' })).toThrow(/GOOGLE_LINKING_JWKS_URI/);
    for (const jwksUri of ['https://www.googleapis.com/oauth2/v3/certs', 'http://127.0.0.1:8080/certs', 'http://localhost/certs', 'http://[::1]:9/certs']) {
      expect(() => assertLinkingConfig({ ...base, jwksUri })).not.toThrow();
    }
  });
});
