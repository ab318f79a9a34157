import { randomBytes, randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/logger.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { adminToken, api, clientCredentialsToken } from '../support/api.js';
import { webhookSecretAad } from '../../src/webhooks/signing.js';
import { CONNECTION_EVENTS } from '../../src/integrations/events.js';

/** The admin API of outbound webhook subscriptions (CONTRACT.md: POST/GET/DELETE /admin/workspaces/:id/webhooks). */

let server: TestServer;
let admin: ReturnType<typeof api>;
const rand = () => randomBytes(4).toString('hex');
const RECEIVER = 'https://receiver.example.com/hooks/oauth-hub';
/** The server's log lines (warn and above), to show a forged cursor writes no error line. */
const logLines: string[] = [];
const logger = (() => {
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  return createLogger('warn', { stream });
})();
/** A cursor as this server encodes one, around any key (src/http/pagination.ts). */
const cursorOf = (key: unknown) => Buffer.from(JSON.stringify({ k: key })).toString('base64url');

async function workspace(): Promise<string> {
  const id = `wh-${rand()}`;
  expect((await admin.post('/admin/workspaces', { id, name: 'Webhooks' })).status).toBe(201);
  return id;
}

beforeAll(async () => {
  server = await startTestServer({ logger });
  admin = api(server, await adminToken(server));
});
afterAll(async () => server?.destroy());

/** Every cursor is refused with the OAuth-style 400, and no error line (nor the cursor) reaches the log. */
async function expectForgedCursorsRefused(path: string, cursors: string[]) {
  const linesBefore = logLines.length;
  for (const cursor of cursors) {
    const response = await admin.get(`${path}?cursor=${encodeURIComponent(cursor)}`);
    expect({ cursor, status: response.status, type: response.headers.get('content-type'), body: response.body }).toEqual({
      cursor,
      status: 400,
      type: expect.stringMatching(/^application\/json/),
      body: { error: 'invalid_request', error_description: 'cursor is not one this server issued' },
    });
  }
  const written = logLines.slice(linesBefore);
  expect(written.filter((line) => JSON.parse(line).level === 'error')).toEqual([]);
  for (const cursor of cursors.filter((c) => c.length > 8)) expect(written.join('\n')).not.toContain(cursor);
}

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

  test('a forged cursor is a 400 invalid_request, never a query error (nor an error log line)', async () => {
    const ws = await workspace();
    await admin.post(`/admin/workspaces/${ws}/webhooks`, { url: RECEIVER, events: ['connection.refreshed'] });
    const forged = [
      cursorOf('x'), // not a UUID: Postgres would refuse it as `uuid`
      cursorOf('not-a-uuid-'.repeat(30)),
      cursorOf("00000000-0000-4000-8000-000000000000' OR 1=1 --"),
      cursorOf('00000000-0000-4000-8000-00000000000g'),
      cursorOf(`2024-01-01T00:00:00.000Z|${randomUUID()}`), // a delivery log's cursor
      cursorOf('\u0000'),
      cursorOf(`${randomUUID()}\u0000`),
      cursorOf(42),
      cursorOf(null),
      Buffer.from('not json at all').toString('base64url'),
      '%00',
      '!!!',
      'zzz',
    ];
    await expectForgedCursorsRefused(`/admin/workspaces/${ws}/webhooks`, forged);
    // A well-formed key past every id is an empty page, not an error.
    expect((await admin.get(`/admin/workspaces/${ws}/webhooks?cursor=${cursorOf('ffffffff-ffff-4fff-bfff-ffffffffffff')}`)).body).toEqual({ items: [], next_cursor: null });
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

  test('a forged cursor is a 400 invalid_request: out-of-range or non-canonical times, bad ids (nor an error log line)', async () => {
    const ws = await workspace();
    const created = await admin.post(`/admin/workspaces/${ws}/webhooks`, { url: RECEIVER, events: ['connection.connected'] });
    const id = randomUUID();
    const forged = [
      // Outside Postgres' timestamp range (JS accepts them): "timestamp out of range" before the fix.
      cursorOf(`-271821-04-20T00:00:00.000Z|${id}`),
      cursorOf(`+275760-09-13T00:00:00.000Z|${id}`),
      cursorOf(`-004714-11-23T00:00:00.000Z|${id}`),
      // Not what the log writes: before 1970, other forms JS would still parse, a date that rolls over.
      cursorOf(`1969-12-31T23:59:59.999Z|${id}`),
      cursorOf(`0000-01-01T00:00:00.000Z|${id}`),
      cursorOf(`2024-01-01|${id}`),
      cursorOf(`2024-01-01T00:00:00Z|${id}`),
      cursorOf(`2024-01-01T00:00:00.000+02:00|${id}`),
      cursorOf(`2024-02-30T00:00:00.000Z|${id}`),
      cursorOf(`Mon, 01 Jan 2024 00:00:00 GMT|${id}`),
      cursorOf(`1700000000000|${id}`),
      // Bad ids, extra parts, NUL.
      cursorOf('2024-01-01T00:00:00.000Z|x'),
      cursorOf('2024-01-01T00:00:00.000Z|'),
      cursorOf(`2024-01-01T00:00:00.000Z|${id}|${id}`),
      cursorOf(`2024-01-01T00:00:00.000Z|${id}\u0000`),
      cursorOf('\u0000'),
      cursorOf(['2024-01-01T00:00:00.000Z', id]),
      'zzz',
      '%00',
    ];
    await expectForgedCursorsRefused(`/admin/workspaces/${ws}/webhooks/${created.body.id}/deliveries`, forged);
    // The edges of what the log can hold are well-formed cursors: an empty page, not an error.
    for (const edge of [`9999-12-31T23:59:59.999Z|${id}`, `1970-01-01T00:00:00.000Z|${id}`]) {
      const response = await admin.get(`/admin/workspaces/${ws}/webhooks/${created.body.id}/deliveries?cursor=${cursorOf(edge)}`);
      expect({ edge, status: response.status, body: response.body }).toEqual({ edge, status: 200, body: { items: [], next_cursor: null } });
    }
  });

  test('pages through real deliveries, newest first, with the cursors it issues', async () => {
    const ws = await workspace();
    const created = await admin.post(`/admin/workspaces/${ws}/webhooks`, { url: RECEIVER, events: ['connection.connected'] });
    const base = Date.UTC(2025, 0, 1, 12, 0, 0, 123);
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const delivery = await server.context.queries.webhooks.insertDelivery({ id: randomUUID(), subscription_id: created.body.id, event: 'connection.connected', payload: { i }, created_at: new Date(base + i * 1000) });
      ids.push(delivery.id);
    }
    const path = `/admin/workspaces/${ws}/webhooks/${created.body.id}/deliveries`;
    const first = await admin.get(`${path}?limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const second = await admin.get(`${path}?limit=2&cursor=${first.body.next_cursor}`);
    expect(second.status).toBe(200);
    expect(second.body.next_cursor).toBeNull();
    expect([...first.body.items, ...second.body.items].map((item: { id: string }) => item.id)).toEqual([...ids].reverse());
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
