import { gzipSync } from 'node:zlib';
import { startTestServer, type TestServer } from '../support/server.js';
import { adminToken, api } from '../support/api.js';

/**
 * Input no store can hold, or no parser should walk, is a 400 (or 415) with an OAuth-style body before any
 * query runs, on every store: U+0000 and lone surrogates in JSON bodies, paths, queries and cursors; nesting
 * beyond 32 levels; a broken gzip body; a body that is not JSON. Each of these was a 500 (test/http, the probe).
 */
let server: TestServer;
let admin: ReturnType<typeof api>;
let token: string;

beforeAll(async () => {
  server = await startTestServer();
  token = await adminToken(server);
  admin = api(server, token);
});
afterAll(async () => server.destroy());

const clientBody = (name: string) => `{"client_name":"${name}","redirect_uris":["https://app.example/cb"],"grant_types":["authorization_code"],"response_types":["code"]}`;

async function clientCount(): Promise<number> {
  const response = await admin.get('/admin/clients?limit=1000');
  expect(response.status).toBe(200);
  return response.body.items.length;
}

function expectOAuthError(response: { status: number; body: any }, status: number, pattern: RegExp) {
  expect({ status: response.status, error: typeof response.body?.error }).toEqual({ status, error: 'string' });
  expect(response.body.error_description).toMatch(pattern);
}

test('U+0000 and lone surrogates in JSON bodies are 400s that store nothing', async () => {
  const before = await clientCount();
  const bodies: Array<[string, string, string, RegExp]> = [
    ['POST', '/admin/clients', clientBody('a\\u0000b'), /client_name: contains U\+0000/],
    ['POST', '/admin/clients', clientBody('a\\ud800b'), /client_name: contains a lone UTF-16 surrogate/],
    ['POST', '/admin/users', '{"email":"nul@example.com","password":"long-enough-password","name":"a\\u0000"}', /name: contains U\+0000/],
    ['POST', '/admin/workspaces', '{"id":"nul-ws","name":"\\udc00"}', /name: contains a lone/],
    ['POST', '/admin/resources', '{"identifier":"https://api.example/\\u0000","scopes":["read"]}', /identifier: contains U\+0000/],
    ['POST', '/admin/clients', '{"client_name":"x","\\u0000":1}', /a key contains U\+0000/],
  ];
  for (const [method, path, body, pattern] of bodies) {
    const response = await admin.post(path, body);
    expect(method).toBe('POST');
    expectOAuthError(response, 400, pattern);
  }
  expect(await clientCount()).toBe(before);
  expect((await admin.get('/admin/users?limit=1000')).body.items.map((u: { email: string }) => u.email)).not.toContain('nul@example.com');
});

test('U+0000 in a path, a query or a forged cursor is a 400', async () => {
  for (const path of ['/admin/clients/%00', '/admin/workspaces/a%00b', '/admin/audit?actor=%00', '/admin/audit?request_id=abc%00def', '/integrations/google%00/status']) {
    expectOAuthError(await admin.get(path), 400, /U\+0000/);
  }
  const forged = Buffer.from('{"k":"\\u0000"}').toString('base64url');
  for (const list of ['/admin/clients', '/admin/workspaces', '/admin/resources']) {
    expectOAuthError(await admin.get(`${list}?cursor=${forged}`), 400, /cursor/);
  }
});

test('nesting deeper than 32 levels is a 400, not a stack overflow', async () => {
  const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
  expectOAuthError(await admin.post('/admin/clients', `{"client_name":"deep","redirect_uris":${deep}}`), 400, /nested deeper than 32 levels/);
  const fine = await admin.post('/admin/workspaces', { id: 'shallow-ws', name: 'Shallow' });
  expect(fine.status).toBe(201);
});

test('a broken gzip body is a 400; a good one is read', async () => {
  const broken = await admin.post('/admin/workspaces', '{"id":"gz"}', { 'content-encoding': 'gzip' });
  expectOAuthError(broken, 400, /could not be read/);
  const response = await fetch(`${server.url}/admin/workspaces`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
    body: gzipSync(JSON.stringify({ id: 'gzipped-ws', name: 'Gzipped' })),
  });
  expect(response.status).toBe(201);
});

test('JSON with a +json suffix (RFC 6839) or a charset is read as JSON: the fields reach the handler', async () => {
  const created = await admin.post('/admin/clients', clientBody('Suffix app'));
  expect(created.status).toBe(201);
  const patch = (type: string, body: unknown) =>
    fetch(`${server.url}/admin/clients/${created.body.client_id}`, { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body: JSON.stringify(body) });
  for (const [type, name] of [
    ['application/merge-patch+json', 'Merge patched'],
    ['application/vnd.example+json; charset=utf-8', 'Vendor typed'],
    ['application/json; charset=utf-8', 'With charset'],
  ]) {
    const response = await patch(type!, { client_name: name });
    expect({ type, status: response.status, name: ((await response.json()) as { client_name?: string }).client_name }).toEqual({ type, status: 200, name });
  }
  // Parsed, so validated: an unknown field in a +json body is the same 400 as in application/json.
  const unknown = await patch('application/merge-patch+json', { client_name: 'x', nope: 1 });
  expect(unknown.status).toBe(400);
  expect(((await unknown.json()) as { error_description: string }).error_description).toContain('nope');
  expect((await admin.get(`/admin/clients/${created.body.client_id}`)).body.client_name).toBe('With charset');
});

test('a body that is not JSON is a 415 and changes nothing; an empty POST is still fine', async () => {
  const before = await clientCount();
  for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'application/xml', 'text/json', 'application/jsonx']) {
    const response = await fetch(`${server.url}/admin/clients`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body: 'client_name=x' });
    expect(response.status).toBe(415);
    expect(await response.json()).toEqual({ error: 'invalid_request', error_description: expect.stringMatching(/must be JSON/) });
  }
  const noType = await fetch(`${server.url}/admin/initial-access-tokens`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: 'a=b' });
  expect(noType.status).toBe(415);
  expect(await clientCount()).toBe(before);
  const empty = await fetch(`${server.url}/admin/initial-access-tokens`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-length': '0' } });
  expect(empty.status).toBe(201);
});
