import { startTestServer, type TestServer } from '../support/server.js';
import { adminToken, api, clientCredentialsToken, registerIntrospector } from '../support/api.js';
import { authorize, introspect, PASSWORD, registerClient } from '../support/flow.js';

let server: TestServer;
let admin: ReturnType<typeof api>;
let introspector: { client_id: string; client_secret?: string };

beforeAll(async () => {
  server = await startTestServer();
  admin = api(server, await adminToken(server));
  introspector = await registerIntrospector(server);
});
afterAll(async () => server.destroy());

const count = async (table: string) => Number((await server.context.database.db(table).count({ n: '*' }).first())!.n);
const email = () => `u-${Math.random().toString(36).slice(2)}@example.com`;

describe('workspaces', () => {
  test('create, read, rename, list; duplicates and bad input change nothing', async () => {
    const created = await admin.post('/admin/workspaces', { id: 'acme', name: 'Acme' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'acme', name: 'Acme' });
    const generated = await admin.post('/admin/workspaces', { name: 'No id given' });
    expect(generated.body.id).toMatch(/^ws-[0-9a-f]{12}$/);

    const before = await count('workspaces');
    expect((await admin.post('/admin/workspaces', { id: 'acme', name: 'Again' })).status).toBe(409);
    expect((await admin.post('/admin/workspaces', { id: 'Bad Id!', name: 'x' })).status).toBe(400);
    expect((await admin.post('/admin/workspaces', { id: 'fine', name: '' })).status).toBe(400);
    expect((await admin.post('/admin/workspaces', { id: 'fine2', name: 'x', extra: 1 })).status).toBe(400);
    expect(await count('workspaces')).toBe(before);

    expect((await admin.patch('/admin/workspaces/acme', { name: 'Acme Inc' })).body.name).toBe('Acme Inc');
    expect((await admin.get('/admin/workspaces/acme')).body.name).toBe('Acme Inc');
    expect((await admin.get('/admin/workspaces/none')).status).toBe(404);
    expect((await admin.patch('/admin/workspaces/none', { name: 'x' })).status).toBe(404);
    const list = await admin.get('/admin/workspaces');
    expect(list.body.items.map((w: { id: string }) => w.id)).toEqual(expect.arrayContaining(['default', 'acme']));
    expect(list.body.next_cursor).toBeNull();
  });

  test('default cannot be deleted; a workspace with members cannot be deleted; an empty one can', async () => {
    expect((await admin.delete('/admin/workspaces/default')).status).toBe(409);
    await admin.post('/admin/workspaces', { id: 'busy', name: 'Busy' });
    const user = await admin.post('/admin/users', { email: email(), password: PASSWORD, workspace_id: 'busy' });
    const refused = await admin.delete('/admin/workspaces/busy');
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('workspace_not_empty');
    await admin.delete(`/admin/users/${user.body.id}`);
    expect((await admin.delete('/admin/workspaces/busy')).status).toBe(204);
    expect((await admin.get('/admin/workspaces/busy')).status).toBe(404);
    expect((await admin.delete('/admin/workspaces/busy')).status).toBe(404);
  });
});

describe('users', () => {
  test('create returns the id; reads never show a password hash', async () => {
    const address = email();
    const created = await admin.post('/admin/users', { email: address, password: PASSWORD, name: 'Ann' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: expect.any(String), email: address, name: 'Ann', workspace_id: 'default', roles: [] });
    const read = await admin.get(`/admin/users/${created.body.id}`);
    expect(read.body).toMatchObject({ id: created.body.id, email: address });
    expect(JSON.stringify(read.body)).not.toMatch(/password|scrypt/);
    expect(JSON.stringify((await admin.get('/admin/users')).body)).not.toMatch(/password_hash|scrypt/);
  });

  test('a taken email (any case) is a 409; bad input is a 400; nothing is created', async () => {
    const address = email();
    await admin.post('/admin/users', { email: address, password: PASSWORD });
    const before = await count('users');
    const taken = await admin.post('/admin/users', { email: address.toUpperCase(), password: PASSWORD });
    expect(taken.status).toBe(409);
    expect(taken.body.error).toBe('email_taken');
    for (const body of [
      { email: 'not-an-email', password: PASSWORD },
      { email: email(), password: 'short' },
      { email: email(), password: PASSWORD, workspace_id: 'missing' },
      { email: email() },
      { email: email(), password: PASSWORD, is_admin: true },
    ]) {
      const response = await admin.post('/admin/users', body);
      expect(response.status).toBe(400);
      expect(response.body.error_description).toEqual(expect.any(String));
    }
    expect(await count('users')).toBe(before);
  });

  test('update name, roles and password: the new password signs in', async () => {
    const address = email();
    const created = await admin.post('/admin/users', { email: address, password: 'old-password-1' });
    const updated = await admin.patch(`/admin/users/${created.body.id}`, { name: 'Renamed', roles: ['admin', 'editor'], password: PASSWORD });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ name: 'Renamed', roles: ['admin', 'editor'] });
    const client = await registerClient(server);
    const { tokens } = await authorize(server, client, { email: address });
    expect(tokens.access_token).toBeTruthy();

    expect((await admin.patch(`/admin/users/${created.body.id}`, {})).status).toBe(400);
    expect((await admin.patch(`/admin/users/${created.body.id}`, { roles: ['has space'] })).status).toBe(400);
    expect((await admin.patch(`/admin/users/${created.body.id}`, { email: 'x@example.com' })).status).toBe(400);
    expect((await admin.get(`/admin/users/${created.body.id}`)).body.roles).toEqual(['admin', 'editor']);
    expect((await admin.patch('/admin/users/00000000-0000-0000-0000-000000000000', { name: 'x' })).status).toBe(404);
    expect((await admin.get('/admin/users/not-a-uuid')).status).toBe(404);
  });

  test('deleting a user revokes their grants and tokens', async () => {
    const address = email();
    const created = await admin.post('/admin/users', { email: address, password: PASSWORD });
    const client = await registerClient(server, { scope: 'openid offline_access' });
    const { tokens } = await authorize(server, client, { email: address }, 'openid offline_access');
    expect((await introspect(server, introspector, tokens.access_token)).active).toBe(true);
    expect((await admin.delete(`/admin/users/${created.body.id}`)).status).toBe(204);
    expect(await introspect(server, introspector, tokens.access_token)).toEqual({ active: false });
    expect(await introspect(server, introspector, tokens.refresh_token!)).toEqual({ active: false });
    expect((await admin.get(`/admin/users/${created.body.id}`)).status).toBe(404);
    expect((await admin.delete(`/admin/users/${created.body.id}`)).status).toBe(404);
  });

  test('list filters by workspace and pages', async () => {
    await admin.post('/admin/workspaces', { id: 'listing', name: 'Listing' });
    for (let i = 0; i < 3; i += 1) await admin.post('/admin/users', { email: email(), password: PASSWORD, workspace_id: 'listing' });
    const first = await admin.get('/admin/users?workspace_id=listing&limit=2');
    expect(first.body.items).toHaveLength(2);
    const second = await admin.get(`/admin/users?workspace_id=listing&limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body.items).toHaveLength(1);
    expect(second.body.next_cursor).toBeNull();
    expect([...first.body.items, ...second.body.items].every((u: { workspace_id: string }) => u.workspace_id === 'listing')).toBe(true);
    const foreignCursor = Buffer.from(JSON.stringify({ k: 'not-a-uuid' })).toString('base64url');
    expect((await admin.get(`/admin/users?cursor=${foreignCursor}`)).status).toBe(400);
  });
});

describe('user roles', () => {
  test('duplicate roles are stored once, on create and on update', async () => {
    const created = await admin.post('/admin/users', { email: email(), password: PASSWORD, roles: ['admin', 'admin', 'editor', 'admin'] });
    expect(created.status).toBe(201);
    expect(created.body.roles).toEqual(['admin', 'editor']);
    const updated = await admin.patch(`/admin/users/${created.body.id}`, { roles: ['viewer', 'viewer'] });
    expect(updated.status).toBe(200);
    expect(updated.body.roles).toEqual(['viewer']);
    const row = await server.context.database.db('users').where({ id: created.body.id }).first();
    expect(row.roles).toEqual(['viewer']);
  });
});

describe('the workspace claim', () => {
  test('user tokens carry the user workspace; client_credentials tokens the client workspace', async () => {
    await admin.post('/admin/workspaces', { id: 'tenant-a', name: 'Tenant A' });
    await admin.post('/admin/workspaces', { id: 'tenant-b', name: 'Tenant B' });
    const address = email();
    await admin.post('/admin/users', { email: address, password: PASSWORD, workspace_id: 'tenant-a' });
    const client = await registerClient(server);
    const { tokens } = await authorize(server, client, { email: address });
    expect(await introspect(server, introspector, tokens.access_token)).toMatchObject({ active: true, workspace: 'tenant-a' });

    const machine = await admin.post('/admin/clients', { client_name: 'svc', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'openid', workspace_id: 'tenant-b' });
    const token = await clientCredentialsToken(server, machine.body, 'openid');
    // Introspected by its own client: a client of another workspace sees it inactive (src/oidc/token-policies.ts).
    expect(await introspect(server, machine.body, token)).toMatchObject({ active: true, workspace: 'tenant-b' });
    expect(await introspect(server, introspector, token)).toEqual({ active: false });
  });
});

describe('resource servers', () => {
  test('create, list, delete; duplicates and bad identifiers are refused', async () => {
    const created = await admin.post('/admin/resources', { identifier: 'https://api.example.com', scopes: ['read', 'write'], access_token_ttl: 600 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ identifier: 'https://api.example.com', scopes: ['read', 'write'], access_token_ttl: 600, workspace_id: 'default' });
    expect((await admin.post('/admin/resources', { identifier: 'https://api.example.com' })).status).toBe(409);
    for (const body of [{ identifier: 'not a uri' }, { identifier: 'https://api.example.com/#frag' }, { identifier: 'https://x.example.com', scopes: ['has space'] }]) {
      expect((await admin.post('/admin/resources', body)).status).toBe(400);
    }
    const list = await admin.get('/admin/resources');
    expect(list.body.items.map((r: { id: string }) => r.id)).toContain(created.body.id);
    expect((await admin.delete(`/admin/resources/${created.body.id}`)).status).toBe(204);
    expect((await admin.delete(`/admin/resources/${created.body.id}`)).status).toBe(404);
    expect((await admin.delete('/admin/resources/nope')).status).toBe(404);
  });
});

describe('resource server identifiers and scopes', () => {
  const resourceCount = () => count('resource_servers');

  test.each([
    ['the issuer itself', () => server.url],
    ['the issuer with a trailing slash', () => `${server.url}/`],
    ['a javascript: URI', () => 'javascript:alert(1)'],
    ['a data: URI', () => 'data:text/plain,api'],
    ['a relative reference', () => '/api'],
    ['credentials in the URL', () => 'https://user:pw@api.example.com'],
  ])('%s is refused with a 400 and nothing is created', async (_name, identifier) => {
    const before = await resourceCount();
    const response = await admin.post('/admin/resources', { identifier: identifier(), scopes: ['read'] });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: 'invalid_request', error_description: expect.stringContaining('identifier') });
    expect(await resourceCount()).toBe(before);
  });

  test.each(['openid', 'offline_access', 'account', 'integrations:token', 'admin'])('the reserved scope %s is refused', async (scope) => {
    const before = await resourceCount();
    const response = await admin.post('/admin/resources', { identifier: `https://reserved-${scope.replace(':', '-')}.example.com`, scopes: ['read', scope] });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: 'invalid_request', error_description: expect.stringContaining(scope) });
    expect(await resourceCount()).toBe(before);
  });

  test('https, http and urn identifiers (RFC 8707) are accepted; profile and email stay usable for token exchange', async () => {
    for (const identifier of ['https://orders.example.com/api', 'http://127.0.0.1:9000/api', 'http://orders.internal/api', 'urn:example:api']) {
      const response = await admin.post('/admin/resources', { identifier, scopes: ['read', 'profile', 'email'] });
      expect(response.status).toBe(201);
    }
  });
});
