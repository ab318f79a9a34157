import { startTestServer, type TestServer } from '../support/server.js';
import { adminToken, api, clientCredentialsToken } from '../support/api.js';
import { postForm } from '../support/flow.js';

/**
 * Who may introspect whose token (src/oidc/token-policies.ts): a confidential client the tokens of its own
 * workspace, never another tenant's; a public client only its own.
 */
let server: TestServer;
let admin: ReturnType<typeof api>;

beforeAll(async () => {
  server = await startTestServer();
  admin = api(server, await adminToken(server));
  for (const id of ['tenant-a', 'tenant-b']) expect((await admin.post('/admin/workspaces', { id, name: id })).status).toBe(201);
});
afterAll(async () => server.destroy());

async function serviceClient(workspace: string) {
  const created = await admin.post('/admin/clients', { workspace_id: workspace, grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'openid' });
  expect(created.status).toBe(201);
  return created.body as { client_id: string; client_secret: string };
}

const introspect = async (token: string, caller: { client_id: string; client_secret?: string }) => {
  const response = await postForm(server, '/token/introspection', { token }, caller);
  expect(response.status).toBe(200);
  return response.body as { active: boolean; client_id?: string };
};

test("a confidential client introspects its own workspace's tokens, not another tenant's", async () => {
  const owner = await serviceClient('tenant-a');
  const sameTenant = await serviceClient('tenant-a');
  const otherTenant = await serviceClient('tenant-b');
  const token = await clientCredentialsToken(server, owner, 'openid');

  expect(await introspect(token, owner)).toMatchObject({ active: true, client_id: owner.client_id });
  expect(await introspect(token, sameTenant)).toMatchObject({ active: true, client_id: owner.client_id });
  expect(await introspect(token, otherTenant)).toEqual({ active: false });
});

test("a public client learns nothing about another client's token", async () => {
  const owner = await serviceClient('tenant-a');
  const token = await clientCredentialsToken(server, owner, 'openid');
  const created = await admin.post('/admin/clients', { workspace_id: 'tenant-a', redirect_uris: ['https://spa.example/cb'], token_endpoint_auth_method: 'none' });
  expect(created.status).toBe(201);
  expect(await introspect(token, { client_id: created.body.client_id })).toEqual({ active: false });
});
