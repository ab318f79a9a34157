import { sha256 } from '../../src/crypto/secrets.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { adminToken, api } from '../support/api.js';
import { authorize, createUser, postForm, REDIRECT_URI } from '../support/flow.js';

let server: TestServer;
let admin: ReturnType<typeof api>;

beforeAll(async () => {
  server = await startTestServer();
  admin = api(server, await adminToken(server));
});
afterAll(async () => server.destroy());

const metadata = { client_name: 'Self-registered', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] };

async function initialAccessToken(): Promise<string> {
  const response = await admin.post('/admin/initial-access-tokens', { expires_in: 600 });
  expect(response.status).toBe(201);
  expect(response.body.registration_endpoint).toBe(`${server.url}/reg`);
  return response.body.initial_access_token;
}

test('discovery advertises the registration endpoint', async () => {
  const discovery = await api(server).get('/.well-known/openid-configuration');
  expect(discovery.body.registration_endpoint).toBe(`${server.url}/reg`);
});

test('registration without an initial access token is refused', async () => {
  const response = await api(server).post('/reg', metadata);
  expect(response.status).toBe(401);
  expect(response.body.error).toBe('invalid_token');
});

test('RFC 7591 registration with an initial access token, then RFC 7592 read, update and delete', async () => {
  const registered = await api(server, await initialAccessToken()).post('/reg', metadata);
  expect(registered.status).toBe(201);
  const { client_id, client_secret, registration_access_token, registration_client_uri } = registered.body;
  expect(client_secret).toMatch(/^[A-Za-z0-9_-]{43,}$/);
  expect(registered.body.scope).toBe('openid profile email offline_access');

  // Stored hashed; the management read never returns the hash (nor the secret).
  const row = await server.context.database.db('clients').where({ client_id }).first();
  expect(row.secret_hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(JSON.stringify(row)).not.toContain(client_secret);
  const read = await api(server, registration_access_token).get(new URL(registration_client_uri).pathname);
  expect(read.status).toBe(200);
  expect(read.body.client_secret).toBeUndefined();

  // The client works: code + PKCE flow, and client authentication with its secret.
  const { tokens } = await authorize(server, { client_id, client_secret }, await createUser(server), 'openid');
  expect(tokens.access_token).toBeTruthy();

  // RFC 7592 §2.2: an update may repeat the real secret.
  const updated = await api(server, registration_access_token).put(new URL(registration_client_uri).pathname, { ...metadata, client_id, client_secret, client_name: 'Renamed' });
  expect(updated.status).toBe(200);
  expect(updated.body.client_name).toBe('Renamed');
  expect(updated.body.client_secret).toBeUndefined();
  const wrongSecret = await api(server, updated.body.registration_access_token).put(new URL(registration_client_uri).pathname, { ...metadata, client_id, client_secret: 'wrong' });
  expect(wrongSecret.status).toBe(400);
  expect((await postForm(server, '/token/introspection', { token: 'x' }, { client_id, client_secret })).status).toBe(200);

  // Admin decisions survive a self-service update: the workspace stays, changing it is refused.
  await admin.post('/admin/workspaces', { id: 'dcr-tenant', name: 'DCR tenant' });
  expect((await admin.patch(`/admin/clients/${client_id}`, { workspace_id: 'dcr-tenant' })).status).toBe(200);
  const echo = await api(server, updated.body.registration_access_token).put(new URL(registration_client_uri).pathname, { ...metadata, client_id, client_name: 'Again' });
  expect(echo.status).toBe(200);
  expect((await admin.get(`/admin/clients/${client_id}`)).body.workspace_id).toBe('dcr-tenant');
  const move = await api(server, echo.body.registration_access_token).put(new URL(registration_client_uri).pathname, { ...metadata, client_id, workspace_id: 'default' });
  expect(move.status).toBe(400);
  expect(move.body.error).toBe('invalid_client_metadata');

  // RFC 7592 delete ends every grant and token of the client, like the admin API's delete.
  const removed = await api(server, echo.body.registration_access_token).delete(new URL(registration_client_uri).pathname);
  expect(removed.status).toBe(204);
  expect((await admin.get(`/admin/clients/${client_id}`)).status).toBe(404);
  expect(await server.context.database.db('oidc_models').where({ client_id })).toHaveLength(0);
  expect(tokens.access_token).toBeTruthy();
});

test.each([
  ['plain http redirect', { redirect_uris: ['http://app.example.com/cb'] }, 'invalid_redirect_uri'],
  ['the admin scope', { scope: 'openid admin' }, 'invalid_client_metadata'],
  ['first_party', { first_party: true }, 'invalid_client_metadata'],
  ['switching PKCE off', { require_pkce: false }, 'invalid_client_metadata'],
  ['a voice profile', { profile: 'alexa', alexa_vendor_id: 'M2EXAMPLE1234' }, 'invalid_client_metadata'],
  ['the account scope', { scope: 'openid account' }, 'invalid_client_metadata'],
  ['client_credentials', { grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }, 'invalid_client_metadata'],
])('dynamic registration refuses %s', async (_name, extra, code) => {
  const response = await api(server, await initialAccessToken()).post('/reg', { ...metadata, ...extra });
  expect(response.status).toBe(400);
  expect(response.body.error).toBe(code);
});

test('a malformed management URL is a JSON 400, never a 500', async () => {
  const response = await api(server, 'whatever').put('/reg/%E0%A4%A', { client_secret: 'x' });
  expect(response.status).toBe(400);
  expect(response.body.error).toBe('invalid_request');
});

test('initial access token input is validated', async () => {
  expect((await admin.post('/admin/initial-access-tokens', { expires_in: 5 })).status).toBe(400);
  expect((await admin.post('/admin/initial-access-tokens', { policies: ['x'] })).status).toBe(400);
});

test('an initial access token says when it expires, and registers clients until then (not just one)', async () => {
  const before = Date.now();
  const issued = await admin.post('/admin/initial-access-tokens', { expires_in: 600 });
  expect(issued.status).toBe(201);
  const expiresAt = Date.parse(issued.body.expires_at);
  expect(expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 600_000);
  expect(expiresAt).toBeLessThanOrEqual(Date.now() + 600_000);
  // the expiry the store keeps is the one reported (the store's row has millisecond precision, the token seconds)
  const stored = await server.context.database.db('oidc_models').where({ model: 'InitialAccessToken', id: sha256(issued.body.initial_access_token) }).first();
  expect(Math.abs(new Date(stored.expires_at).getTime() - expiresAt)).toBeLessThan(1000);
  // oidc-provider's adapter-backed initial access tokens are not consumed by a registration (OpenAPI says so too).
  const first = await api(server, issued.body.initial_access_token).post('/reg', { ...metadata, client_name: 'First' });
  const second = await api(server, issued.body.initial_access_token).post('/reg', { ...metadata, client_name: 'Second' });
  expect([first.status, second.status]).toEqual([201, 201]);
  expect(first.body.client_id).not.toBe(second.body.client_id);
});
