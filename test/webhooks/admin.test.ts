import { randomBytes } from 'node:crypto';
import { startTestServer, type TestServer } from '../support/server.js';
import { adminToken, api, clientCredentialsToken } from '../support/api.js';
import { webhookSecretAad } from '../../src/webhooks/signing.js';
import { CONNECTION_EVENTS } from '../../src/integrations/events.js';

/** The admin API of outbound webhook subscriptions (CONTRACT.md: POST/GET/DELETE /admin/workspaces/:id/webhooks). */

let server: TestServer;
let admin: ReturnType<typeof api>;
const rand = () => randomBytes(4).toString('hex');
const RECEIVER = 'https://receiver.example.com/hooks/oauth-hub';

async function workspace(): Promise<string> {
  const id = `wh-${rand()}`;
  expect((await admin.post('/admin/workspaces', { id, name: 'Webhooks' })).status).toBe(201);
  return id;
}

beforeAll(async () => {
  server = await startTestServer();
  admin = api(server, await adminToken(server));
});
afterAll(async () => server?.destroy());

describe('POST /admin/workspaces/:id/webhooks', () => {
  test('201 with the secret once; it is stored sealed and never read back', async () => {
    const ws = await workspace();
    const created = await admin.post(`/admin/workspaces/${ws}/webhooks`, { url: RECEIVER, events: ['connection.revoked', 'connection.connected', 'connection.revoked'] });
    expect(created.status).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    expect(created.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      workspace_id: ws,
      url: RECEIVER,
      // duplicates dropped, in the canonical order
      events: ['connection.connected', 'connection.revoked'],
      created_at: expect.any(String),
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]+={0,2}$/),
    });
    const secret: string = created.body.secret;
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32);

    // Sealed at rest, bound to its row.
    const row = await server.context.database.db('webhook_subscriptions').where({ id: created.body.id }).first();
    expect(JSON.stringify(row)).not.toContain(secret.slice('whsec_'.length));
    expect(server.context.keyring.decrypt(row.secret_enc, webhookSecretAad(created.body.id))).toBe(secret);
    expect(() => server.context.keyring.decrypt(row.secret_enc, webhookSecretAad('another-row'))).toThrow();

    // Never returned again, never in the audit log.
    const listed = await admin.get(`/admin/workspaces/${ws}/webhooks`);
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({ items: [{ id: created.body.id, workspace_id: ws, url: RECEIVER, events: ['connection.connected', 'connection.revoked'], created_at: created.body.created_at }], next_cursor: null });
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    await server.context.audit.flush();
    const audit = await server.context.database.db('audit_events').where({ type: 'WebhookCreate', workspace_id: ws });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ outcome: 'success', actor: expect.stringMatching(/^client:/), details: { webhook_id: created.body.id, receiver: 'https://receiver.example.com', events: ['connection.connected', 'connection.revoked'] } });
    expect(JSON.stringify(await server.context.database.db('audit_events').select('*'))).not.toContain(secret);
  });

  test('each subscription gets its own secret', async () => {
    const ws = await workspace();
    const a = await admin.post(`/admin/workspaces/${ws}/webhooks`, { url: RECEIVER, events: [...CONNECTION_EVENTS] });
    const b = await admin.post(`/admin/workspaces/${ws}/webhooks`, { url: RECEIVER, events: [...CONNECTION_EVENTS] });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.secret).not.toBe(b.body.secret);
    expect(a.body.events).toEqual([...CONNECTION_EVENTS]);
  });

  test('http only on loopback hosts', async () => {
    const ws = await workspace();
    for (const url of ['http://127.0.0.1:9999/hook', 'http://localhost/hook', 'http://[::1]:8080/hook']) {
      expect({ url, status: (await admin.post(`/admin/workspaces/${ws}/webhooks`, { url, events: ['connection.connected'] })).status }).toEqual({ url, status: 201 });
    }
  });

  test('bad url or events: 400 invalid_request, nothing stored', async () => {
    const ws = await workspace();
    const bad: unknown[] = [
      { url: 'http://receiver.example.com/hook', events: ['connection.connected'] },
      { url: 'ftp://receiver.example.com/hook', events: ['connection.connected'] },
      { url: 'not a url', events: ['connection.connected'] },
      { url: 'https://user:pass@receiver.example.com/hook', events: ['connection.connected'] },
      { url: 'https://receiver.example.com/hook#frag', events: ['connection.connected'] },
      { url: `https://receiver.example.com/${'a'.repeat(2000)}`, events: ['connection.connected'] },
      { url: RECEIVER, events: [] },
      { url: RECEIVER, events: ['connection.exploded'] },
      { url: RECEIVER, events: 'connection.connected' },
      { url: RECEIVER },
      { events: ['connection.connected'] },
      { url: RECEIVER, events: ['connection.connected'], secret: 'whsec_mine' },
      '{"url":',
    ];
    for (const body of bad) {
      const response = await admin.post(`/admin/workspaces/${ws}/webhooks`, body);
      expect({ body, status: response.status, error: response.body?.error }).toEqual({ body, status: 400, error: 'invalid_request' });
      expect(response.body.error_description).toEqual(expect.any(String));
    }
    expect((await admin.get(`/admin/workspaces/${ws}/webhooks`)).body.items).toEqual([]);
  });

  test('unknown workspace: 404', async () => {
    const response = await admin.post('/admin/workspaces/no-such-workspace/webhooks', { url: RECEIVER, events: ['connection.connected'] });
    expect(response.status).toBe(404);
    expect(response.body.error).toBe('not_found');
  });
});

describe('GET /admin/workspaces/:id/webhooks', () => {
  test('pages by id with a cursor, one workspace only', async () => {
    const ws = await workspace();
    const other = await workspace();
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) ids.push((await admin.post(`/admin/workspaces/${ws}/webhooks`, { url: `${RECEIVER}/${i}`, events: ['connection.refreshed'] })).body.id);
    await admin.post(`/admin/workspaces/${other}/webhooks`, { url: RECEIVER, events: ['connection.refreshed'] });

    const first = await admin.get(`/admin/workspaces/${ws}/webhooks?limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(2);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const second = await admin.get(`/admin/workspaces/${ws}/webhooks?limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body).toMatchObject({ next_cursor: null });
    const seen = [...first.body.items, ...second.body.items].map((item: { id: string }) => item.id);
    expect(seen).toEqual([...ids].sort());
    for (const item of [...first.body.items, ...second.body.items]) expect(item).not.toHaveProperty('secret');

    expect((await admin.get(`/admin/workspaces/${ws}/webhooks?limit=0`)).status).toBe(400);
    expect((await admin.get(`/admin/workspaces/${ws}/webhooks?cursor=not-ours`)).status).toBe(400);
    expect((await admin.get('/admin/workspaces/no-such-workspace/webhooks')).status).toBe(404);
  });
});

describe('DELETE /admin/workspaces/:id/webhooks/:webhookId', () => {
  test('204, then 404; another workspace cannot delete it', async () => {
    const ws = await workspace();
    const other = await workspace();
    const created = await admin.post(`/admin/workspaces/${ws}/webhooks`, { url: RECEIVER, events: ['connection.connected'] });
    // Through another workspace it does not exist.
    expect((await admin.delete(`/admin/workspaces/${other}/webhooks/${created.body.id}`)).status).toBe(404);
    expect((await admin.get(`/admin/workspaces/${other}/webhooks/${created.body.id}/deliveries`)).status).toBe(404);

    const deleted = await admin.delete(`/admin/workspaces/${ws}/webhooks/${created.body.id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBeUndefined();
    expect((await admin.get(`/admin/workspaces/${ws}/webhooks`)).body.items).toEqual([]);
    const again = await admin.delete(`/admin/workspaces/${ws}/webhooks/${created.body.id}`);
    expect(again.status).toBe(404);
    expect(again.body.error).toBe('not_found');
    expect((await admin.delete(`/admin/workspaces/${ws}/webhooks/not-a-uuid`)).status).toBe(404);
    expect((await admin.delete(`/admin/workspaces/no-such-workspace/webhooks/${created.body.id}`)).status).toBe(404);

    await server.context.audit.flush();
    const audit = await server.context.database.db('audit_events').where({ type: 'WebhookDelete', workspace_id: ws });
    expect(audit).toHaveLength(1);
    expect(audit[0].details).toEqual({ webhook_id: created.body.id, receiver: 'https://receiver.example.com' });
  });

  test('a workspace with subscriptions can still be deleted once empty of members: they go with it', async () => {
    const ws = await workspace();
    const created = await admin.post(`/admin/workspaces/${ws}/webhooks`, { url: RECEIVER, events: ['connection.connected'] });
    expect((await admin.delete(`/admin/workspaces/${ws}`)).status).toBe(204);
    expect(await server.context.database.db('webhook_subscriptions').where({ id: created.body.id }).first()).toBeUndefined();
  });
});

describe('GET /admin/workspaces/:id/webhooks/:webhookId/deliveries', () => {
  test('empty log, bad paging, unknown ids', async () => {
    const ws = await workspace();
    const created = await admin.post(`/admin/workspaces/${ws}/webhooks`, { url: RECEIVER, events: ['connection.connected'] });
    const path = `/admin/workspaces/${ws}/webhooks/${created.body.id}/deliveries`;
    expect((await admin.get(path)).body).toEqual({ items: [], next_cursor: null });
    expect((await admin.get(`${path}?limit=1001`)).status).toBe(400);
    expect((await admin.get(`${path}?cursor=not-ours`)).status).toBe(400);
    // A cursor of another list (a bare id) is not a delivery cursor.
    const listCursor = Buffer.from(JSON.stringify({ k: created.body.id })).toString('base64url');
    expect((await admin.get(`${path}?cursor=${listCursor}`)).status).toBe(400);
    expect((await admin.get(`/admin/workspaces/${ws}/webhooks/00000000-0000-4000-8000-000000000000/deliveries`)).status).toBe(404);
  });
});

describe('authentication', () => {
  test('no token: 401; a token without scope admin: 403', async () => {
    const ws = await workspace();
    const paths = [`/admin/workspaces/${ws}/webhooks`, `/admin/workspaces/${ws}/webhooks/00000000-0000-4000-8000-000000000000/deliveries`];
    for (const path of paths) {
      const anonymous = await api(server).get(path);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toContain('Bearer');
    }
    expect((await api(server).post(paths[0]!, { url: RECEIVER, events: ['connection.connected'] })).status).toBe(401);

    const worker = await server.context.clients.register({ client_name: 'Worker', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'integrations:token' });
    const token = await clientCredentialsToken(server, worker, 'integrations:token');
    const forbidden = await api(server, token).post(paths[0]!, { url: RECEIVER, events: ['connection.connected'] });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error).toBe('insufficient_scope');
    expect((await api(server, token).get(paths[0]!)).status).toBe(403);
    expect((await api(server, token).delete(`${paths[0]}/00000000-0000-4000-8000-000000000000`)).status).toBe(403);
    expect((await admin.get(paths[0]!)).body.items).toEqual([]);
  });
});
