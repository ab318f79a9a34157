import { startTestServer, type TestServer } from '../support/server.js';
import { adminToken, api, clientCredentialsToken, registerIntrospector } from '../support/api.js';
import { authorize, createUser, introspect, postForm, REDIRECT_URI, registerClient } from '../support/flow.js';

/**
 * RFC 8693 token exchange (issue 8): A's confidential first-party backend trades a user's access token for a
 * token for B's API, against a real server with real stores. Resource servers and clients are set up the way an
 * administrator does it, through /admin.
 */
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const API_B = 'https://api-b.example.com';
const API_C = 'https://api-c.example.com'; // registered, but A may not exchange for it
const API_D = 'https://api-d.example.com'; // allowed for A, but shares no scope with A's user tokens
const API_GONE = 'https://api-gone.example.com'; // allowed for A, never registered

type Client = { client_id: string; client_secret?: string };

let server: TestServer;
let admin: ReturnType<typeof api>;
let introspector: Client;
let backendA: Client;
let user: { id: string; email: string };
/** The user's access token issued to A (scope openid email profile). */
let userToken: string;

async function createClient(metadata: Record<string, unknown>): Promise<Client> {
  const response = await admin.post('/admin/clients', {
    client_name: 'A backend',
    redirect_uris: [REDIRECT_URI],
    grant_types: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'openid profile email offline_access',
    first_party: true,
    ...metadata,
  });
  if (response.status !== 201) throw new Error(`client registration failed: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

const exchange = (client: Client, form: Record<string, string>) =>
  postForm(server, '/token', { grant_type: TOKEN_EXCHANGE, subject_token_type: ACCESS_TOKEN_TYPE, ...form }, client);

beforeAll(async () => {
  server = await startTestServer();
  admin = api(server, await adminToken(server));
  introspector = await registerIntrospector(server);
  for (const [identifier, scopes, ttl] of [
    [API_B, ['email', 'profile', 'orders:read'], 300],
    [API_C, ['email', 'profile'], 3600], // longer than the user's token lives
    [API_D, ['orders:write'], undefined],
  ] as const) {
    const created = await admin.post('/admin/resources', { identifier, scopes, ...(ttl ? { access_token_ttl: ttl } : {}) });
    expect(created.status).toBe(201);
  }
  backendA = await createClient({ token_exchange_audiences: [API_B, API_D, API_GONE] });
  user = await createUser(server);
  userToken = (await authorize(server, backendA, user, 'openid email profile')).tokens.access_token;
});
afterAll(async () => server?.destroy());

describe('A\'s backend exchanges a user token for B\'s API', () => {
  test('succeeds: audience B only, scopes narrowed to what both allow, act names A, the user and workspace kept', async () => {
    const response = await exchange(backendA, { subject_token: userToken, resource: API_B });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    // RFC 8693 §2.2.1; B's access_token_ttl (300 s) is shorter than the default and the subject's remaining life.
    expect(response.body).toEqual({
      access_token: expect.any(String),
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: 300,
      scope: 'email profile',
    });
    const exchanged = response.body.access_token as string;
    expect(exchanged).not.toBe(userToken);
    expect(exchanged.split('.')).toHaveLength(1); // opaque

    // B's API (a confidential introspector) sees who, for whom, on whose behalf.
    const seen = await introspect(server, introspector, exchanged);
    expect(seen).toMatchObject({
      active: true,
      aud: API_B,
      sub: user.id,
      scope: 'email profile',
      client_id: backendA.client_id,
      act: { sub: backendA.client_id },
      workspace: 'default',
      token_type: 'Bearer',
      iss: server.url,
    });
    expect((seen.exp as number) - (seen.iat as number)).toBe(300);
    // The subject token is untouched and has no audience.
    const subject = await introspect(server, introspector, userToken);
    expect(subject).toMatchObject({ active: true, scope: 'openid email profile' });
    expect(subject.aud).toBeUndefined();
    expect(subject.act).toBeUndefined();

    // A token for B is not a token for this server's own APIs.
    // (bearer auth refuses it outright: without the audience check this would be 403 insufficient_scope)
    expect((await api(server, exchanged).get('/account/grants')).status).toBe(401);
  });

  test('an explicit narrower scope, with the target named by audience (or by both, consistently)', async () => {
    const byAudience = await exchange(backendA, { subject_token: userToken, audience: API_B, scope: 'email' });
    expect(byAudience).toMatchObject({ status: 200, body: { scope: 'email', issued_token_type: ACCESS_TOKEN_TYPE } });
    expect(await introspect(server, introspector, byAudience.body.access_token)).toMatchObject({ active: true, aud: API_B, scope: 'email' });

    const both = await exchange(backendA, { subject_token: userToken, resource: API_B, audience: API_B, scope: 'profile email', requested_token_type: ACCESS_TOKEN_TYPE });
    expect(both).toMatchObject({ status: 200, body: { scope: 'profile email' } });
  });

  test('never outlives the subject token, even when the resource server\'s TTL is longer', async () => {
    const wide = await createClient({ token_exchange_audiences: [API_C] });
    const { tokens } = await authorize(server, wide, user, 'openid email');
    const response = await exchange(wide, { subject_token: tokens.access_token, resource: API_C });
    expect(response).toMatchObject({ status: 200, body: { scope: 'email' } });
    const subject = await introspect(server, introspector, tokens.access_token);
    const exchanged = await introspect(server, introspector, response.body.access_token);
    expect(response.body.expires_in).toBeLessThanOrEqual(900);
    expect(exchanged.exp as number).toBeLessThanOrEqual(subject.exp as number);
  });

  test('a subject token bound to the browser session (client without refresh tokens): the exchanged token is bound to it too', async () => {
    const sessionBound = await createClient({ grant_types: ['authorization_code', TOKEN_EXCHANGE], token_exchange_audiences: [API_B] });
    const { tokens } = await authorize(server, sessionBound, user, 'openid email');
    const response = await exchange(sessionBound, { subject_token: tokens.access_token, resource: API_B });
    expect(response).toMatchObject({ status: 200, body: { scope: 'email' } });
    expect(response.body.refresh_token).toBeUndefined();
    expect(await introspect(server, introspector, response.body.access_token)).toMatchObject({ active: true, aud: API_B });
    const { AccessToken } = server.context.provider;
    const [subject, exchanged] = await Promise.all([AccessToken.find(tokens.access_token), AccessToken.find(response.body.access_token)]);
    expect(subject).toMatchObject({ expiresWithSession: true, sessionUid: expect.any(String) });
    expect(exchanged).toMatchObject({ expiresWithSession: true, sessionUid: subject!.sessionUid, grantId: subject!.grantId });
  });

  test('discovery advertises the grant type', async () => {
    const discovery = await api(server).get('/.well-known/openid-configuration');
    expect(discovery.body.grant_types_supported).toContain(TOKEN_EXCHANGE);
  });
});

describe('refusals', () => {
  test('invalid_target: an audience not allowed for the client, unknown, unregistered, missing, ambiguous', async () => {
    const cases: Array<Record<string, string>> = [
      { resource: API_C }, // registered, not in A's token_exchange_audiences
      { audience: API_C },
      { resource: 'https://unknown.example.com' },
      { resource: API_GONE }, // allowed for A, but no such resource server
      {}, // no target
      { resource: API_B, audience: API_C },
    ];
    for (const target of cases) {
      const response = await exchange(backendA, { subject_token: userToken, ...target });
      expect({ target, status: response.status, error: response.body.error }).toEqual({ target, status: 400, error: 'invalid_target' });
    }
    // Two targets at once (RFC 8693 allows repeating resource/audience; this server issues for one).
    const body = new URLSearchParams({ grant_type: TOKEN_EXCHANGE, subject_token: userToken, subject_token_type: ACCESS_TOKEN_TYPE });
    body.append('resource', API_B);
    body.append('resource', API_D);
    const twice = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${backendA.client_id}:${backendA.client_secret}`).toString('base64')}` },
      body,
    });
    expect(twice.status).toBe(400);
    expect(((await twice.json()) as { error: string }).error).toBe('invalid_target');
  });

  test('unauthorized_client: no audiences configured, not first party, public; invalid_client: wrong secret', async () => {
    const noAudiences = await createClient({});
    const notFirstParty = await createClient({ first_party: false, token_exchange_audiences: [API_B] });
    const publicClient = await createClient({ token_endpoint_auth_method: 'none' });
    for (const client of [noAudiences, notFirstParty, publicClient]) {
      const response = await exchange(client, { subject_token: userToken, resource: API_B });
      expect({ client: client.client_id, status: response.status, error: response.body.error }).toEqual({ client: client.client_id, status: 400, error: 'unauthorized_client' });
    }
    const wrongSecret = await exchange({ ...backendA, client_secret: 'wrong-secret' }, { subject_token: userToken, resource: API_B });
    expect(wrongSecret).toMatchObject({ status: 401, body: { error: 'invalid_client' } });

    // A client whose grant_types do not list the grant: oidc-provider's own check, its error renamed (src/oidc/grant-type-refusal.ts).
    const withoutGrant = await createClient({ grant_types: ['authorization_code', 'refresh_token'], token_exchange_audiences: [API_B] });
    expect(await exchange(withoutGrant, { subject_token: userToken, resource: API_B })).toMatchObject({
      status: 400,
      body: { error: 'unauthorized_client', error_description: 'requested grant type is not allowed for this client' },
    });
    // The metadata itself refuses audiences on a public client.
    const refused = await admin.post('/admin/clients', { redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none', grant_types: ['authorization_code', TOKEN_EXCHANGE], token_exchange_audiences: [API_B] });
    expect(refused).toMatchObject({ status: 400, body: { error: 'invalid_client_metadata' } });
  });

  test('invalid_grant: a subject token that is not a valid access token issued to this client', async () => {
    const other = await createClient({ client_name: 'Another app', token_exchange_audiences: [API_B] });
    const { tokens: others } = await authorize(server, other, user, 'openid email profile offline_access');
    const machine = await clientCredentialsToken(server, await registerIntrospector(server), 'openid');
    const revoked = (await authorize(server, backendA, user, 'openid email')).tokens.access_token;
    expect((await postForm(server, '/token/revocation', { token: revoked }, backendA)).status).toBe(200);

    for (const [name, subjectToken] of [
      ['garbage', 'not-a-token'],
      ['another client\'s user token', others.access_token],
      ['a refresh token', others.refresh_token!],
      ['a client_credentials token', machine],
      ['a revoked token', revoked],
    ] as const) {
      const response = await exchange(backendA, { subject_token: subjectToken, resource: API_B });
      expect({ name, status: response.status, error: response.body.error }).toEqual({ name, status: 400, error: 'invalid_grant' });
    }
  });

  test('invalid_request: token types, missing subject, actor tokens', async () => {
    const cases: Array<Record<string, string>> = [
      { subject_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' },
      { subject_token_type: 'urn:ietf:params:oauth:token-type:jwt' },
      { subject_token_type: '' },
      { requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' },
      { actor_token: userToken, actor_token_type: ACCESS_TOKEN_TYPE },
    ];
    for (const params of cases) {
      const response = await exchange(backendA, { subject_token: userToken, resource: API_B, ...params });
      expect({ params, status: response.status, error: response.body.error }).toEqual({ params, status: 400, error: 'invalid_request' });
    }
    expect(await exchange(backendA, { resource: API_B })).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
  });

  test('invalid_scope: wider than the subject token, outside the target, nothing in common', async () => {
    for (const [target, scope] of [
      [API_B, 'email orders:read'], // orders:read is B's, but the user never granted it
      [API_B, 'email offline_access'],
      [API_B, 'openid'], // the subject's, not B's
      [API_D, ''], // no scope: the subject and D share none
    ] as const) {
      const response = await exchange(backendA, { subject_token: userToken, resource: target, ...(scope ? { scope } : {}) });
      expect({ target, scope, status: response.status, error: response.body.error }).toEqual({ target, scope, status: 400, error: 'invalid_scope' });
    }
  });
});

describe('lifecycle and audit', () => {
  test('the exchanged token dies when the user revokes the grant', async () => {
    const someone = await createUser(server);
    const { tokens } = await authorize(server, backendA, someone, 'openid email profile');
    const exchanged = (await exchange(backendA, { subject_token: tokens.access_token, resource: API_B })).body.access_token as string;
    expect(await introspect(server, introspector, exchanged)).toMatchObject({ active: true, sub: someone.id });

    const accountApp = await registerClient(server, { client_name: 'Account app', scope: 'openid account' });
    const account = api(server, (await authorize(server, accountApp, someone, 'openid account')).tokens.access_token);
    const grants = (await account.get('/account/grants')).body.items as Array<{ grant_id: string; client_id: string }>;
    const grant = grants.find((g) => g.client_id === backendA.client_id)!;
    expect(grants.filter((g) => g.client_id === backendA.client_id)).toHaveLength(1); // no extra grant for the exchange
    expect((await account.delete(`/account/grants/${grant.grant_id}`)).status).toBe(204);

    expect(await introspect(server, introspector, exchanged)).toEqual({ active: false });
    expect(await introspect(server, introspector, tokens.access_token)).toEqual({ active: false });
    expect(await exchange(backendA, { subject_token: tokens.access_token, resource: API_B })).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  test('OAuthTokenExchange events: success with the acting client and the user, failure with the error; no token stored', async () => {
    const someone = await createUser(server);
    const { tokens } = await authorize(server, backendA, someone, 'openid email profile');
    const ok = await exchange(backendA, { subject_token: tokens.access_token, resource: API_B, scope: 'email' });
    expect(ok.status).toBe(200);
    const refused = await exchange(backendA, { subject_token: tokens.access_token, resource: API_C });
    expect(refused.body.error).toBe('invalid_target');

    await server.context.audit.flush();
    const events = await server.context.queries.audit.list({ type: 'OAuthTokenExchange', client_id: backendA.client_id, limit: 1000 });
    const success = events.find((e) => e.outcome === 'success' && e.account_id === someone.id);
    expect(success).toMatchObject({
      actor: `client:${backendA.client_id}`,
      workspace_id: 'default',
      details: expect.objectContaining({ grant_type: TOKEN_EXCHANGE, scope: 'email', grant_id: expect.any(String) }),
    });
    const failure = events.find((e) => e.outcome === 'failure' && (e.details as { error?: string }).error === 'invalid_target' && e.account_id === null);
    expect(failure).toMatchObject({ details: expect.objectContaining({ grant_type: TOKEN_EXCHANGE, error: 'invalid_target' }) });
    const invalidGrant = events.find((e) => e.outcome === 'failure' && (e.details as { error?: string }).error === 'invalid_grant');
    expect(invalidGrant).toBeDefined();

    const everything = JSON.stringify(await server.context.database.db('audit_events').select('*'));
    for (const secret of [tokens.access_token, ok.body.access_token, userToken, backendA.client_secret!]) expect(everything).not.toContain(secret);
  });
});
