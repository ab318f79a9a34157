import * as oidc from 'openid-client';
import { startTestServer, type TestServer } from '../support/server.js';
import { adminToken, api, registerIntrospector } from '../support/api.js';
import { Browser } from '../support/browser.js';
import { createUser, introspect, loginAndConsent, pkcePair, postForm, REDIRECT_URI, relyingParty } from '../support/flow.js';

/**
 * Tenant isolation of resource servers (RFC 8707): a client gets tokens only for resource servers of its own
 * workspace. Another workspace's resource server is refused exactly like an unknown one (same `invalid_target`
 * and description), on every path: client_credentials, the authorization request, refresh, token exchange.
 */
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const OWN = 'https://tenant-a.example.com'; // workspace default
const FOREIGN = 'https://tenant-b.example.com'; // workspace ws2
const UNKNOWN = 'https://nobody.example.com';

type Client = { client_id: string; client_secret?: string };

let server: TestServer;
let admin: ReturnType<typeof api>;
let introspector: Client;
let app1: Client; // workspace default: client_credentials
let backend: Client; // workspace default: authorization code, refresh, token exchange
let user: { id: string; email: string };

async function createClient(metadata: Record<string, unknown>): Promise<Client> {
  const response = await admin.post('/admin/clients', { token_endpoint_auth_method: 'client_secret_basic', ...metadata });
  if (response.status !== 201) throw new Error(`client registration failed: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

const clientCredentials = (client: Client, resource: string, scope = 'billing:write') =>
  postForm(server, '/token', { grant_type: 'client_credentials', resource, scope }, client);

/** The unknown-resource refusal, for comparing a foreign identifier's answer with it. */
const unknownAnswer = (identifier: string) => ({ error: 'invalid_target', error_description: `unknown resource server ${identifier}` });

/** An authorization request through the real pages; the callback URL (code or error) and the PKCE verifier. */
async function authorizationRequest(client: Client, resource: string, scope: string) {
  const rp = await relyingParty(server, client);
  const { verifier, challenge } = await pkcePair();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(rp, { redirect_uri: REDIRECT_URI, scope, resource, code_challenge: challenge, code_challenge_method: 'S256', state });
  const callback = await loginAndConsent(new Browser(server.url), url.href, user);
  return { rp, callback, verifier, state };
}

beforeAll(async () => {
  server = await startTestServer();
  admin = api(server, await adminToken(server));
  introspector = await registerIntrospector(server);
  expect((await admin.post('/admin/workspaces', { id: 'ws2', name: 'Tenant B' })).status).toBe(201);
  expect((await admin.post('/admin/resources', { identifier: OWN, scopes: ['billing:write', 'email'] })).status).toBe(201);
  expect((await admin.post('/admin/resources', { identifier: FOREIGN, scopes: ['billing:write', 'email'], workspace_id: 'ws2' })).status).toBe(201);
  app1 = await createClient({ client_name: 'APP1', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'openid' });
  backend = await createClient({
    client_name: 'Backend',
    grant_types: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE],
    response_types: ['code'],
    redirect_uris: [REDIRECT_URI],
    scope: 'openid profile email offline_access',
    first_party: true,
    // An administrator's mistake (or a stale entry): listing another tenant's API must still not reach it.
    token_exchange_audiences: [OWN, FOREIGN],
  });
  user = await createUser(server);
});
afterAll(async () => server?.destroy());

describe('client_credentials', () => {
  test('a resource server of another workspace is refused like an unknown one', async () => {
    const unknown = await clientCredentials(app1, UNKNOWN);
    expect(unknown).toMatchObject({ status: 400, body: unknownAnswer(UNKNOWN) });
    const foreign = await clientCredentials(app1, FOREIGN);
    expect(foreign.status).toBe(400);
    expect(foreign.body).toEqual(unknownAnswer(FOREIGN));
    expect(foreign.body.access_token).toBeUndefined();
  });

  test('a resource server of the client\'s own workspace still gets its token', async () => {
    const own = await clientCredentials(app1, OWN);
    expect(own).toMatchObject({ status: 200, body: { scope: 'billing:write', token_type: 'Bearer' } });
    expect(await introspect(server, introspector, own.body.access_token)).toMatchObject({ active: true, aud: OWN, scope: 'billing:write', workspace: 'default' });
  });

  test('a client of the other workspace gets tokens for its own resource server and not for default\'s', async () => {
    const tenantB = await createClient({ client_name: 'B app', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'openid', workspace_id: 'ws2' });
    expect(await clientCredentials(tenantB, FOREIGN)).toMatchObject({ status: 200, body: { scope: 'billing:write' } });
    expect(await clientCredentials(tenantB, OWN)).toMatchObject({ status: 400, body: unknownAnswer(OWN) });
  });
});

describe('authorization code and refresh', () => {
  test('an authorization request naming another workspace\'s resource server is refused (invalid_target), no code', async () => {
    const { callback } = await authorizationRequest(backend, FOREIGN, 'openid billing:write');
    expect(callback.searchParams.get('error')).toBe('invalid_target');
    expect(callback.searchParams.get('error_description')).toBe(`unknown resource server ${FOREIGN}`);
    expect(callback.searchParams.get('code')).toBeNull();
  });

  test('the own workspace\'s resource server works; refresh is refused once the client is in another workspace', async () => {
    const { rp, callback, verifier, state } = await authorizationRequest(backend, OWN, 'openid offline_access billing:write');
    expect(callback.searchParams.get('error')).toBeNull();
    const tokens = await oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state }, { resource: OWN });
    expect(await introspect(server, introspector, tokens.access_token)).toMatchObject({ active: true, aud: OWN, scope: 'billing:write' });
    const refreshed = await postForm(server, '/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, resource: OWN }, backend);
    expect(refreshed).toMatchObject({ status: 200, body: { scope: 'billing:write' } });

    // The client moves to ws2: the granted resource (of default) is now another workspace's.
    expect((await admin.patch(`/admin/clients/${backend.client_id}`, { workspace_id: 'ws2' })).status).toBe(200);
    try {
      const moved = await postForm(server, '/token', { grant_type: 'refresh_token', refresh_token: refreshed.body.refresh_token, resource: OWN }, backend);
      expect(moved).toMatchObject({ status: 400, body: unknownAnswer(OWN) });
    } finally {
      expect((await admin.patch(`/admin/clients/${backend.client_id}`, { workspace_id: 'default' })).status).toBe(200);
    }
  });
});

describe('token exchange (RFC 8693)', () => {
  test('a target of another workspace is refused like an unregistered one, even when listed in token_exchange_audiences', async () => {
    const rp = await relyingParty(server, backend);
    const { verifier, challenge } = await pkcePair();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(rp, { redirect_uri: REDIRECT_URI, scope: 'openid email', code_challenge: challenge, code_challenge_method: 'S256', state });
    const callback = await loginAndConsent(new Browser(server.url), url.href, user);
    const { access_token: subject } = await oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
    const exchange = (form: Record<string, string>) => postForm(server, '/token', { grant_type: TOKEN_EXCHANGE, subject_token_type: ACCESS_TOKEN_TYPE, subject_token: subject, ...form }, backend);

    const unregistered = { error: 'invalid_target', error_description: 'the requested target is not a registered resource server' };
    expect(await exchange({ resource: FOREIGN })).toMatchObject({ status: 400, body: unregistered });
    expect(await exchange({ audience: FOREIGN })).toMatchObject({ status: 400, body: unregistered });
    // The same client, for its own workspace's API: still works.
    expect(await exchange({ resource: OWN })).toMatchObject({ status: 200, body: { scope: 'email' } });
  });
});
