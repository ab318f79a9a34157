import { startTestServer, type TestServer } from '../support/server.js';
import { adminToken, api, clientCredentialsToken } from '../support/api.js';
import { Browser } from '../support/browser.js';
import { createUser, PASSWORD, postForm } from '../support/flow.js';
import { ACCOUNT_CONSOLE_CLIENT_ID } from '../../seeds/index.js';

/**
 * Clients the server creates itself and relies on (the account page's sign-in client, the bootstrap admin client
 * from the environment) cannot be changed, deleted or re-keyed through the admin API: 409 `client_protected`, and
 * nothing changes.
 */
const BOOTSTRAP = { clientId: 'ops-bootstrap', clientSecret: 'bootstrap-secret-0123456789-abcdefghijklmnop' };
const NOWHERE = 'https://nowhere.invalid/';

let server: TestServer;
let admin: ReturnType<typeof api>;

beforeAll(async () => {
  server = await startTestServer({ config: { bootstrapAdmin: BOOTSTRAP } });
  admin = api(server, await adminToken(server));
});
afterAll(async () => server?.destroy());

const row = (clientId: string) => server.context.database.db('clients').where({ client_id: clientId }).first();

function expectProtected(response: { status: number; body: { error?: string; error_description?: string } }, clientId: string) {
  expect(response.status).toBe(409);
  expect(response.body).toEqual({ error: 'client_protected', error_description: expect.stringContaining(`built-in client ${clientId} is managed by the server`) });
}

test.each([ACCOUNT_CONSOLE_CLIENT_ID, BOOTSTRAP.clientId])('built-in client %s: PATCH, DELETE and secret rotation are refused and change nothing', async (clientId) => {
  const before = await row(clientId);
  expect(before).toBeTruthy();
  expectProtected(await admin.patch(`/admin/clients/${clientId}`, { client_name: 'Hijacked', redirect_uris: ['https://evil.example.com/cb'] }), clientId);
  expectProtected(await admin.delete(`/admin/clients/${clientId}`), clientId);
  expectProtected(await admin.post(`/admin/clients/${clientId}/secret`), clientId);
  expect(await row(clientId)).toEqual(before);
  // still readable
  const read = await admin.get(`/admin/clients/${clientId}`);
  expect(read.status).toBe(200);
  expect(read.body.client_id).toBe(clientId);
});

test('after the refused calls, /account still signs in through account-console', async () => {
  await admin.delete(`/admin/clients/${ACCOUNT_CONSOLE_CLIENT_ID}`);
  const user = await createUser(server);
  const browser = new Browser(server.url);
  const login = await browser.navigate('/account', NOWHERE);
  expect(login.url).toContain('/interaction/');
  const page = await browser.submit(login, '/login', { email: user.email, password: PASSWORD }, NOWHERE);
  expect(page.url).toBe(`${server.url}/account`);
  expect(page.html).toContain(user.email);
});

test('the bootstrap admin secret from the environment keeps working', async () => {
  await admin.post(`/admin/clients/${BOOTSTRAP.clientId}/secret`);
  const token = await clientCredentialsToken(server, { client_id: BOOTSTRAP.clientId, client_secret: BOOTSTRAP.clientSecret }, 'admin');
  expect((await api(server, token).get('/admin/workspaces')).status).toBe(200);
});

test('ordinary clients, including other admin clients, stay manageable', async () => {
  const created = await admin.post('/admin/clients', { client_name: 'Ops 2', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'admin' });
  expect(created.status).toBe(201);
  const id = created.body.client_id;
  expect((await admin.patch(`/admin/clients/${id}`, { client_name: 'Ops two' })).status).toBe(200);
  expect((await admin.post(`/admin/clients/${id}/secret`)).status).toBe(200);
  expect((await admin.delete(`/admin/clients/${id}`)).status).toBe(204);
  expect((await postForm(server, '/token', { grant_type: 'client_credentials', scope: 'admin' }, created.body)).status).toBe(401);
});
