import net from 'node:net';
import { PassThrough } from 'node:stream';
import { jest } from '@jest/globals';
import { createLogger } from '../src/logger.js';
import { startTestServer, type TestServer } from './support/server.js';
import { authorize, createUser, introspect, PASSWORD, pkcePair, postForm, REDIRECT_URI, registerClient, relyingParty } from './support/flow.js';
import { registerAdminClient, registerIntrospector } from './support/api.js';
import { Browser } from './support/browser.js';
import * as oidc from 'openid-client';

let server: TestServer;
const lines: string[] = [];
beforeAll(async () => {
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  // The most verbose level, so every line the code can write is seen.
  server = await startTestServer({ logger: createLogger('silly', { stream }), config: { logLevel: 'silly' } });
});
afterAll(async () => {
  await server?.destroy();
});

test('request logs carry a request id and no token, code, secret or password, at every level', async () => {
  const user = await createUser(server);
  const client = await registerClient(server);
  const { tokens } = await authorize(server, client, user);
  const refreshed = await postForm(server, '/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, client);
  await introspect(server, client, refreshed.body.access_token);
  await postForm(server, '/token', { grant_type: 'authorization_code', code: 'bogus-code', redirect_uri: 'https://x', code_verifier: 'v'.repeat(43) }, client);

  const requestLines = lines.map((line) => JSON.parse(line)).filter((entry) => entry.message === 'request');
  expect(requestLines.length).toBeGreaterThan(8);
  expect(requestLines.every((entry) => typeof entry.requestId === 'string' && typeof entry.status === 'number')).toBe(true);
  expect(requestLines.some((entry) => entry.path === '/token' && entry.status === 200)).toBe(true);

  const all = lines.join('\n');
  for (const secret of [tokens.access_token, tokens.refresh_token!, tokens.id_token!, refreshed.body.access_token, refreshed.body.refresh_token, client.client_secret!, PASSWORD, 'bogus-code']) {
    expect(all).not.toContain(secret);
  }
});

test('client_credentials, a wrong secret, a wrong password, an admin-set password, introspection and revocation: no secret logged, each request line under the id the response echoed', async () => {
  const from = lines.length;
  const echoed: string[] = [];
  const call = async (path: string, init: RequestInit & { id?: string } = {}) => {
    const headers = new Headers(init.headers);
    if (init.id) headers.set('x-request-id', init.id);
    if (!headers.has('accept')) headers.set('accept', 'application/json');
    const response = await fetch(`${server.url}${path}`, { ...init, headers });
    const id = response.headers.get('x-request-id')!;
    if (init.id) expect(id).toBe(init.id);
    echoed.push(id);
    return { status: response.status, body: (await response.json().catch(() => undefined)) as Record<string, any> };
  };
  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
  const form = (fields: Record<string, string>) => ({ 'content-type': 'application/x-www-form-urlencoded', ...fields });

  const admin = await registerAdminClient(server);
  const issued = await call('/token', { method: 'POST', id: 'logtest-cc-000001', headers: form({ authorization: basic(admin.client_id, admin.client_secret!) }), body: 'grant_type=client_credentials&scope=admin' });
  expect(issued.status).toBe(200);
  const adminToken = issued.body.access_token as string;
  const wrongSecret = `wrong-${admin.client_secret}`;
  expect((await call('/token', { method: 'POST', headers: form({ authorization: basic(admin.client_id, wrongSecret) }), body: 'grant_type=client_credentials&scope=admin' })).status).toBe(401);
  const introspector = await registerIntrospector(server);
  const introspected = await call('/token/introspection', { method: 'POST', id: 'logtest-introspect-01', headers: form({ authorization: basic(introspector.client_id, introspector.client_secret!) }), body: `token=${adminToken}` });
  expect(introspected.body.active).toBe(true);
  const adminSetPassword = 'Admin-set password 9f8e7d6c';
  const created = await call('/admin/users', { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ email: `logged-${Date.now()}@example.com`, password: adminSetPassword }) });
  expect(created.status).toBe(201);
  // A malformed incoming id is replaced by a fresh one.
  await call('/healthz', { headers: { 'x-request-id': 'not an id!' } });
  expect(echoed.at(-1)).toMatch(/^[0-9a-f-]{36}$/);

  // A failed login through the real pages.
  const user = await createUser(server);
  const client = await registerClient(server);
  const rp = await relyingParty(server, client);
  const { challenge } = await pkcePair();
  const url = oidc.buildAuthorizationUrl(rp, { redirect_uri: REDIRECT_URI, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256', state: oidc.randomState() });
  const browser = new Browser(server.url);
  const page = await browser.navigate(url.href, REDIRECT_URI);
  const wrongPassword = 'not the password 5a4b3c2d';
  const refused = await browser.submit(page, '/login', { email: user.email, password: wrongPassword }, REDIRECT_URI);
  expect(refused.response?.status).toBe(401);

  expect((await call('/token/revocation', { method: 'POST', id: 'logtest-revoke-0001', headers: form({ authorization: basic(admin.client_id, admin.client_secret!) }), body: `token=${adminToken}` })).status).toBe(200);
  await new Promise((resolve) => setTimeout(resolve, 100)); // the provider's request lines are written after its response

  const logged = lines.slice(from);
  const entries = logged.map((line) => JSON.parse(line));
  const requestIds = new Set(entries.filter((entry) => entry.message === 'request').map((entry) => entry.requestId));
  for (const id of echoed) expect(requestIds).toContain(id);
  expect(entries.find((entry) => entry.requestId === 'logtest-cc-000001')).toMatchObject({ message: 'request', method: 'POST', path: '/token', status: 200 });
  const all = logged.join('\n');
  for (const secret of [admin.client_secret!, wrongSecret, introspector.client_secret!, adminToken, adminSetPassword, wrongPassword, PASSWORD]) {
    expect(all).not.toContain(secret);
  }
});

test('a line written deep inside a request (the provider rejecting a code) carries that request’s id', async () => {
  const client = await registerClient(server);
  const from = lines.length;
  const response = await fetch(`${server.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-request-id': 'logtest-deep-0000001' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: 'no-such-code', redirect_uri: REDIRECT_URI, code_verifier: 'v'.repeat(43), client_id: client.client_id, client_secret: client.client_secret! }),
  });
  expect(response.status).toBe(400);
  const entries = lines.slice(from).map((line) => JSON.parse(line));
  expect(entries.find((entry) => entry.message === 'oidc request rejected')).toMatchObject({ requestId: 'logtest-deep-0000001', error: 'invalid_grant' });
  // Lines written outside any request carry none.
  server.context.logger.info('outside a request');
  await new Promise((resolve) => setImmediate(resolve));
  expect(JSON.parse(lines.at(-1)!)).not.toHaveProperty('requestId');
});

/** Writes `raw` on a fresh connection; resolves with the status line of the first answer ('' for none) once the server closes it. */
function rawExchange(url: string, raw: string, endAfterWrite = false): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket = net.connect(Number(port), hostname, () => (endAfterWrite ? socket.end(raw) : socket.write(raw)));
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer.split('\r\n')[0] ?? ''));
  });
}

test('a request whose Content-Length does not match its body is the client\'s fault: answered 400 or closed, logged at info, never as a server error or a stack on stderr', async () => {
  const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    const from = lines.length;
    const form = 'Content-Type: application/x-www-form-urlencoded';
    // Longer than declared: the rest is read as a next request, which the HTTP parser refuses.
    const tooLong = await rawExchange(server.url, `POST /token HTTP/1.1\r\nHost: x\r\n${form}\r\nContent-Length: 5\r\n\r\ngrant_type=client_credentials`);
    expect(tooLong).toBe('HTTP/1.1 400 Bad Request');
    // Shorter than declared, then the client closes its side: nobody is left to answer.
    await rawExchange(server.url, `POST /token HTTP/1.1\r\nHost: x\r\n${form}\r\nContent-Length: 500\r\n\r\ngrant_type=client_credentials`, true);
    await new Promise((resolve) => setTimeout(resolve, 200));

    const entries = lines.slice(from).map((line) => JSON.parse(line));
    const connectionErrors = entries.filter((entry) => entry.message === 'client connection error');
    expect(connectionErrors.map((entry) => entry.level)).toEqual(['info', 'info']);
    expect(connectionErrors.map((entry) => entry.errorCode)).toEqual([expect.stringMatching(/^HPE_/), expect.stringMatching(/^HPE_|^ECONNRESET$/)]);
    expect(entries.filter((entry) => entry.level === 'error')).toEqual([]);
    expect(printed).not.toHaveBeenCalled();
  } finally {
    printed.mockRestore();
  }
});

test('the redaction backstop hides fields named like secrets, at any depth', () => {
  const out: string[] = [];
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => out.push(chunk.toString('utf8')));
  const logger = createLogger('info', { stream });
  logger.info('x', { client_secret: 's3cr3t', nested: { refresh_token: 'rt-value', ok: 'visible' }, list: [{ password: 'pw-value' }] });
  const line = out.join('');
  expect(line).toContain('visible');
  for (const value of ['s3cr3t', 'rt-value', 'pw-value']) expect(line).not.toContain(value);
});
