import { randomBytes } from 'node:crypto';
import { startTestServer, type TestServer } from '../support/server.js';
import { adminToken, api } from '../support/api.js';
import { PASSWORD, REDIRECT_URI } from '../support/flow.js';

/**
 * PATCH accepts the body its GET returned (GET → modify → PATCH, as Terraform-style tools and admins with jq do):
 * read-only fields sent back with their current value are dropped (timestamps whatever their value), another value
 * is a 400 naming the field; and the update event names only the fields whose value really changed
 * (src/http/read-only-fields.ts). A PATCH that changes nothing answers 200, writes nothing (`updated_at` stays) and
 * still leaves its event, with `changed: []`.
 */
let server: TestServer;
let admin: ReturnType<typeof api>;

beforeAll(async () => {
  server = await startTestServer();
  admin = api(server, await adminToken(server));
});
afterAll(async () => server?.destroy());

const rand = () => randomBytes(4).toString('hex');
const row = (table: string, where: Record<string, string>) => server.context.database.db(table).where(where).first();

/** `details.changed` of the update events matching `where`, oldest first. */
async function changedLists(type: 'UserUpdate' | 'WorkspaceUpdate' | 'OAuthClientUpdate', where: Record<string, string>, query = ''): Promise<string[][]> {
  await server.context.audit.flush();
  const response = await admin.get(`/admin/audit?limit=1000&type=${type}${query}`);
  expect(response.status).toBe(200);
  const items = (response.body.items as Array<Record<string, any>>).filter((event) => Object.entries(where).every(([key, value]) => event[key] === value));
  return items.reverse().map((event) => event.details.changed);
}

/** A GET body sent back as it was: 200 with the same view, the row untouched (`updated_at` too), one event naming no field. */
async function expectUnchangedRoundTrip(path: string, table: string, id: string, read: Record<string, unknown>, events: () => Promise<string[][]>): Promise<void> {
  const stored = await row(table, { id });
  const response = await admin.patch(path, read);
  expect(response.status).toBe(200);
  expect(response.body).toEqual(read);
  expect((await admin.get(path)).body).toEqual(read);
  expect(await row(table, { id })).toEqual(stored);
  expect(await events()).toEqual([[]]);
}

describe('users: GET → modify → PATCH', () => {
  const createUser = async () => {
    const created = await admin.post('/admin/users', { email: `rt-${rand()}@example.com`, password: PASSWORD, name: 'Round Trip', roles: ['viewer', 'editor'] });
    expect(created.status).toBe(201);
    const read = await admin.get(`/admin/users/${created.body.id}`);
    return { id: created.body.id as string, read: read.body as Record<string, unknown> };
  };
  const events = (id: string) => changedLists('UserUpdate', { account_id: id }, `&account_id=${id}`);

  test('the GET body sent back unchanged: 200, nothing changes (updated_at included), the event names no field', async () => {
    const { id, read } = await createUser();
    await expectUnchangedRoundTrip(`/admin/users/${id}`, 'users', id, read, () => events(id));
  });

  test('the GET body with one writable field changed: 200, that field changes, the event names only it', async () => {
    const { id, read } = await createUser();
    const renamed = await admin.patch(`/admin/users/${id}`, { ...read, name: 'Renamed' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toEqual({ ...read, name: 'Renamed', updated_at: expect.any(String) });
    expect((await admin.get(`/admin/users/${id}`)).body).toEqual(renamed.body);

    // Stale or made-up timestamps are ignored; a role list with a repeat is the same set once deduplicated.
    const verified = await admin.patch(`/admin/users/${id}`, { ...renamed.body, created_at: '2000-01-01T00:00:00.000Z', updated_at: read.updated_at, roles: ['viewer', 'editor', 'viewer'], email_verified: true });
    expect(verified.status).toBe(200);
    expect(verified.body).toEqual({ ...renamed.body, email_verified: true, updated_at: expect.any(String) });

    // Without the echo too: a field sent with the value it has is not named.
    expect((await admin.patch(`/admin/users/${id}`, { name: 'Renamed', roles: ['editor'] })).status).toBe(200);

    // A password is never shown, so one sent always counts as changed; only its name goes in the event.
    const password = `new-password-${rand()}`;
    const withPassword = await admin.patch(`/admin/users/${id}`, { ...(await admin.get(`/admin/users/${id}`)).body, password });
    expect(withPassword.status).toBe(200);
    expect(withPassword.body).not.toHaveProperty('password');

    expect(await events(id)).toEqual([['name'], ['email_verified'], ['roles'], ['password']]);
    expect(JSON.stringify(await server.context.database.db('audit_events').select('*'))).not.toContain(password);
  });

  test('a read-only field with another value: 400 invalid_request naming it and why, nothing changes', async () => {
    const { id, read } = await createUser();
    const other = (await admin.post('/admin/workspaces', { id: `rt-other-${rand()}`, name: 'Other' })).body.id as string;
    const stored = await row('users', { id });
    for (const [field, value, reason] of [
      ['id', '00000000-0000-4000-8000-000000000000', /id: is set by the server/],
      ['email', `other-${rand()}@example.com`, /email: is fixed at creation/],
      ['email', String(read.email).toUpperCase(), /email: is fixed at creation/],
      ['workspace_id', other, /workspace_id: is fixed at creation/],
    ] as const) {
      const response = await admin.patch(`/admin/users/${id}`, { ...read, name: 'Changed', [field]: value });
      expect({ field, status: response.status, error: response.body.error }).toEqual({ field, status: 400, error: 'invalid_request' });
      expect(response.body.error_description).toMatch(reason);
    }
    expect((await admin.get(`/admin/users/${id}`)).body).toEqual(read);
    expect(await row('users', { id })).toEqual(stored);
    expect(await events(id)).toEqual([]);
  });
});

describe('workspaces: GET → modify → PATCH', () => {
  const createWorkspace = async () => {
    const id = `rt-${rand()}`;
    expect((await admin.post('/admin/workspaces', { id, name: 'Round Trip' })).status).toBe(201);
    return { id, read: (await admin.get(`/admin/workspaces/${id}`)).body as Record<string, unknown> };
  };
  const events = (id: string) => changedLists('WorkspaceUpdate', { workspace_id: id });

  test('the GET body sent back unchanged: 200, nothing changes (updated_at included), the event names no field', async () => {
    const { id, read } = await createWorkspace();
    await expectUnchangedRoundTrip(`/admin/workspaces/${id}`, 'workspaces', id, read, () => events(id));
  });

  test('the GET body with the name changed: 200, the name changes, the event names only it', async () => {
    const { id, read } = await createWorkspace();
    const renamed = await admin.patch(`/admin/workspaces/${id}`, { ...read, name: 'Renamed' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toEqual({ ...read, name: 'Renamed', updated_at: expect.any(String) });
    expect((await admin.get(`/admin/workspaces/${id}`)).body).toEqual(renamed.body);
    // The first read again: its stale timestamps are ignored.
    const again = await admin.patch(`/admin/workspaces/${id}`, { ...read, name: 'Renamed again', created_at: '2000-01-01T00:00:00.000Z' });
    expect({ status: again.status, name: again.body.name, created_at: again.body.created_at }).toEqual({ status: 200, name: 'Renamed again', created_at: read.created_at });
    // The same name with spaces around it is the same name once trimmed: nothing changes.
    const same = await admin.patch(`/admin/workspaces/${id}`, { ...again.body, name: ' Renamed again ' });
    expect(same.body).toEqual(again.body);
    expect(await events(id)).toEqual([['name'], ['name'], []]);
  });

  test('another id: 400 invalid_request naming it and why, nothing changes', async () => {
    const { id, read } = await createWorkspace();
    const stored = await row('workspaces', { id });
    const response = await admin.patch(`/admin/workspaces/${id}`, { ...read, id: `${id}-2`, name: 'Changed' });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: 'invalid_request', error_description: expect.stringMatching(/id: is fixed at creation/) });
    expect((await admin.get(`/admin/workspaces/${id}`)).body).toEqual(read);
    expect((await admin.get(`/admin/workspaces/${id}-2`)).status).toBe(404);
    expect(await row('workspaces', { id })).toEqual(stored);
    expect(await events(id)).toEqual([]);
    // Unknown keys are still refused.
    expect((await admin.patch(`/admin/workspaces/${id}`, { ...read, owner: 'x' })).status).toBe(400);
  });
});

describe('clients: the update event names only what changed', () => {
  const createClient = async () => {
    const created = await admin.post('/admin/clients', { client_name: 'Round trip', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', 'refresh_token'], scope: 'openid email' });
    expect(created.status).toBe(201);
    const id = created.body.client_id as string;
    return { id, read: (await admin.get(`/admin/clients/${id}`)).body as Record<string, unknown> };
  };
  const events = (id: string) => changedLists('OAuthClientUpdate', { client_id: id }, `&client_id=${encodeURIComponent(id)}`);

  test('the whole GET body with one field changed: the event names only that field', async () => {
    const { id, read } = await createClient();
    const patched = await admin.patch(`/admin/clients/${id}`, { ...read, client_name: 'Renamed' });
    expect(patched.status).toBe(200);
    expect(patched.body).toEqual({ ...read, client_name: 'Renamed', updated_at: expect.any(String) });
    // An array field with the same items in another order is another value.
    const reordered = await admin.patch(`/admin/clients/${id}`, { ...patched.body, grant_types: ['refresh_token', 'authorization_code'] });
    expect(reordered.status).toBe(200);
    expect(await events(id)).toEqual([['client_name'], ['grant_types']]);
  });

  test('the GET body sent back unchanged: 200, nothing changes (updated_at included), the event names no field', async () => {
    const { id, read } = await createClient();
    const stored = await row('clients', { client_id: id });
    const response = await admin.patch(`/admin/clients/${id}`, read);
    expect(response.status).toBe(200);
    expect(response.body).toEqual(read);
    // Removing a key the client has not got changes nothing either.
    expect((await admin.patch(`/admin/clients/${id}`, { logo_uri: null, client_name: 'Round trip' })).status).toBe(200);
    expect((await admin.get(`/admin/clients/${id}`)).body).toEqual(read);
    expect(await row('clients', { client_id: id })).toEqual(stored);
    expect(await events(id)).toEqual([[], []]);
  });
});
