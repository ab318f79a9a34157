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

/**
 * /reg applies the admin API's limits (src/admin/clients.ts, the PATCH schema): a client registered with metadata
 * the admin PATCH refuses could not be sent back (GET → PATCH) by an admin. Refused with 400 invalid_client_metadata
 * naming the field, on registration and on an RFC 7592 update, and nothing is stored.
 */
describe('dynamic registration keeps to the admin API limits', () => {
  const clientRows = async () => (await server.context.database.db('clients').count<{ count: string | number }[]>('* as count'))[0]!.count;
  const tooBig: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a 5,000-character client_name', { client_name: 'x'.repeat(5000) }, /^client_name: .*200/],
    ['30 contacts', { contacts: Array.from({ length: 30 }, (_, i) => `c${i}@example.com`) }, /^contacts: .*20/],
    ['a logo_uri over 2,000 characters', { logo_uri: `https://rp.example.com/${'l'.repeat(2100)}.png` }, /^logo_uri: .*2000/],
    ['51 redirect URIs', { redirect_uris: Array.from({ length: 51 }, (_, i) => `https://rp.example.com/cb${i}`) }, /^redirect_uris: .*50/],
  ];

  test.each(tooBig)('registration refuses %s and stores nothing', async (_name, extra, description) => {
    const before = await clientRows();
    const response = await api(server, await initialAccessToken()).post('/reg', { ...metadata, ...extra });
    expect({ status: response.status, body: response.body }).toEqual({ status: 400, body: { error: 'invalid_client_metadata', error_description: expect.stringMatching(description) } });
    expect(await clientRows()).toEqual(before);
  });

  test.each(tooBig)('an RFC 7592 update refuses %s and changes nothing', async (_name, extra, description) => {
    const registered = await api(server, await initialAccessToken()).post('/reg', metadata);
    expect(registered.status).toBe(201);
    const { client_id, registration_access_token, registration_client_uri } = registered.body;
    const before = await admin.get(`/admin/clients/${client_id}`);
    const response = await api(server, registration_access_token).put(new URL(registration_client_uri).pathname, { ...metadata, client_id, ...extra });
    expect({ status: response.status, body: response.body }).toEqual({ status: 400, body: { error: 'invalid_client_metadata', error_description: expect.stringMatching(description) } });
    expect((await admin.get(`/admin/clients/${client_id}`)).body).toEqual(before.body);
  });

  test('a client registered at the limits survives the admin GET → PATCH round trip', async () => {
    const atLimits = {
      ...metadata,
      client_name: 'n'.repeat(200),
      contacts: Array.from({ length: 20 }, (_, i) => `c${i}@example.com`),
      logo_uri: `https://rp.example.com/${'l'.repeat(2000 - 'https://rp.example.com/.png'.length)}.png`,
    };
    const registered = await api(server, await initialAccessToken()).post('/reg', atLimits);
    expect(registered.status).toBe(201);
    const read = await admin.get(`/admin/clients/${registered.body.client_id}`);
    expect(read.body.client_name).toBe(atLimits.client_name);
    const patched = await admin.patch(`/admin/clients/${registered.body.client_id}`, read.body);
    expect({ status: patched.status, body: patched.body }).toEqual({ status: 200, body: read.body });
  });
});

/** The admin API's description of a bad redirect URI (src/clients/redirect-uris.ts), not the provider's authorization-time text. */
test.each([
  ['https://*.example.com/cb', 'https://*.example.com/cb: wildcards are not allowed, register each redirect URI exactly'],
  ['http://evil.example.com/cb', 'http://evil.example.com/cb: http is allowed only for loopback hosts (localhost, 127.0.0.1, [::1]); use https'],
  ['https://rp.example.com/cb#x', 'https://rp.example.com/cb#x: must not contain a fragment'],
])('registration refuses the redirect URI %s with the admin API description', async (uri, description) => {
  const expected = { status: 400, body: { error: 'invalid_redirect_uri', error_description: description } };
  const registered = await api(server, await initialAccessToken()).post('/reg', { ...metadata, redirect_uris: [uri] });
  expect({ status: registered.status, body: registered.body }).toEqual(expected);
  // The admin API gives the same answer (for a fragment, the provider's own check speaks first there: same code).
  const viaAdmin = await admin.post('/admin/clients', { ...metadata, redirect_uris: [uri] });
  expect({ status: viaAdmin.status, error: viaAdmin.body.error }).toEqual({ status: 400, error: 'invalid_redirect_uri' });
  if (!uri.includes('#')) expect(viaAdmin.body.error_description).toBe(description);
  // post_logout_redirect_uris are redirect URIs too, in both places.
  const logout = await api(server, await initialAccessToken()).post('/reg', { ...metadata, post_logout_redirect_uris: [uri] });
  expect({ status: logout.status, body: logout.body }).toEqual(expected);
});
