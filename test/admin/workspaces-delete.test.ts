import { randomUUID } from 'node:crypto';
import { startTestServer, type TestServer } from '../support/server.js';
import { adminToken, api, clientCredentialsToken } from '../support/api.js';

/**
 * DELETE /admin/workspaces/:id refuses (409 workspace_not_empty, naming what is left) while members (users, clients,
 * resource servers) or live integration connections, which the database would otherwise remove by ON DELETE
 * CASCADE, still belong to the workspace, and deletes nothing then. The workspace's own settings (webhook
 * subscriptions, mailbox settings) go with it, counted in its WorkspaceDelete event.
 */
let server: TestServer;
let admin: ReturnType<typeof api>;

beforeAll(async () => {
  server = await startTestServer();
  admin = api(server, await adminToken(server));
});
afterAll(async () => server?.destroy());

const db = () => server.context.database.db;
const countIn = async (table: string, workspaceId: string) => Number((await db()(table).where({ workspace_id: workspaceId }).count({ n: '*' }).first())!.n);

async function createWorkspace(id: string) {
  expect((await admin.post('/admin/workspaces', { id, name: id })).status).toBe(201);
}

describe('a workspace is deleted only when empty', () => {
  test('webhook subscriptions do not block the delete: they go with the workspace, counted in the audit event', async () => {
    await createWorkspace('hooked');
    const hook = await admin.post('/admin/workspaces/hooked/webhooks', { url: 'https://hooks.example.com/in', events: ['connection.revoked'] });
    expect(hook.status).toBe(201);

    expect((await admin.delete('/admin/workspaces/hooked')).status).toBe(204);
    expect((await admin.get('/admin/workspaces/hooked')).status).toBe(404);
    expect(await countIn('webhook_subscriptions', 'hooked')).toBe(0);
    const events = await admin.get('/admin/audit?type=WorkspaceDelete&limit=1000');
    const deleted = events.body.items.find((event: { workspace_id: string }) => event.workspace_id === 'hooked');
    expect(deleted?.details).toEqual({ webhooks_removed: 1, mailbox_settings_removed: 0 });
  });

  test('a mailbox setting (no API removes one) does not block the delete: it goes with the workspace, counted in the audit event', async () => {
    await createWorkspace('mailroom');
    const client = await admin.post('/admin/clients', {
      client_name: 'Mail robot',
      grant_types: ['client_credentials'],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'openid',
      workspace_id: 'mailroom',
    });
    expect(client.status).toBe(201);
    const robot = api(server, await clientCredentialsToken(server, client.body, 'openid'));
    const mailbox = await robot.put('/integrations/mailboxes/booking', {
      auth_method: 'password',
      username: 'ops@example.com',
      password: 'mailbox-password',
      imap: { host: 'imap.example.com', port: 993, security: 'tls' },
      smtp: { host: 'smtp.example.com', port: 465, security: 'tls' },
    });
    expect(mailbox.status).toBe(201);

    const withClient = await admin.delete('/admin/workspaces/mailroom');
    expect(withClient.status).toBe(409);
    expect(withClient.body.error_description).toBe('workspace mailroom still has 1 client; remove them first');
    expect(await countIn('integration_mailboxes', 'mailroom')).toBe(1);

    expect((await admin.delete(`/admin/clients/${client.body.client_id}`)).status).toBe(204);
    expect((await admin.delete('/admin/workspaces/mailroom')).status).toBe(204);
    expect(await countIn('integration_mailboxes', 'mailroom')).toBe(0);
    const events = await admin.get('/admin/audit?type=WorkspaceDelete&limit=1000');
    const deleted = events.body.items.find((event: { workspace_id: string }) => event.workspace_id === 'mailroom');
    expect(deleted?.details).toEqual({ webhooks_removed: 0, mailbox_settings_removed: 1 });
  });

  test('a live integration connection blocks the delete; a revoked one (no tokens left) does not', async () => {
    await createWorkspace('linked');
    const id = randomUUID();
    await db()('integration_connections').insert({
      id,
      workspace_id: 'linked',
      actor_type: 'user',
      actor_id: 'someone',
      provider: 'google',
      purpose: 'default',
      status: 'active',
      connected_at: new Date(),
    });
    const refused = await admin.delete('/admin/workspaces/linked');
    expect(refused.status).toBe(409);
    expect(refused.body.error_description).toBe('workspace linked still has 1 integration connection; remove them first');
    expect(await countIn('integration_connections', 'linked')).toBe(1);

    await db()('integration_connections').where({ id }).update({ status: 'revoked', revoked_at: new Date() });
    expect((await admin.delete('/admin/workspaces/linked')).status).toBe(204);
  });

  test('several kinds left are all named, and nothing is deleted', async () => {
    await createWorkspace('crowded');
    expect((await admin.post('/admin/resources', { identifier: 'https://crowded.example.com', scopes: ['x:read'], workspace_id: 'crowded' })).status).toBe(201);
    expect((await admin.post('/admin/users', { email: `crowded-${randomUUID()}@example.com`, password: 'a-long-password', workspace_id: 'crowded' })).status).toBe(201);
    expect((await admin.post('/admin/workspaces/crowded/webhooks', { url: 'https://hooks.example.com/a', events: ['connection.revoked'] })).status).toBe(201);
    const refused = await admin.delete('/admin/workspaces/crowded');
    expect(refused).toMatchObject({ status: 409, body: { error: 'workspace_not_empty', error_description: 'workspace crowded still has 1 user and 1 resource server; remove them first' } });
    expect(await countIn('webhook_subscriptions', 'crowded')).toBe(1);
    expect(await countIn('resource_servers', 'crowded')).toBe(1);
  });
});
