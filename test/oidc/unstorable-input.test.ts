import { startTestServer, type TestServer } from '../support/server.js';
import { adminToken, api, registerAdminClient } from '../support/api.js';
import { pkcePair, postForm, registerClient, REDIRECT_URI } from '../support/flow.js';

/**
 * Input that Postgres cannot hold (U+0000 in text or jsonb, an unpaired UTF-16 surrogate in jsonb) is bad input:
 * a 400 (or, once the client's redirect_uri is known, an error sent back to it), never a 500 or a 503 that reads
 * as a storage outage, and nothing of it is stored. Runs against PGlite, and against Postgres + Redis when
 * DATABASE_URL and REDIS_URL are set.
 */
let server: TestServer;
let admin: ReturnType<typeof api>;
beforeAll(async () => {
  server = await startTestServer();
  admin = api(server, await adminToken(server));
});
afterAll(async () => server?.destroy());

const NUL_RESOURCE = 'https://api.probe.example/\u0000';
const clientCount = async () => Number(((await server.context.database.db('clients').count({ n: '*' }).first()) as { n: string | number }).n);

describe('resource indicators (RFC 8707) holding U+0000 are unknown targets', () => {
  test('client_credentials at /token', async () => {
    const client = await registerAdminClient(server);
    const response = await postForm(server, '/token', { grant_type: 'client_credentials', scope: 'admin', resource: NUL_RESOURCE }, client);
    expect({ status: response.status, error: response.body.error }).toEqual({ status: 400, error: 'invalid_target' });
  });

  test('pushed authorization request at /request', async () => {
    const client = await registerClient(server, { scope: 'openid' });
    const { challenge } = await pkcePair();
    const response = await postForm(
      server,
      '/request',
      { client_id: client.client_id, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256', resource: NUL_RESOURCE },
      client,
    );
    expect({ status: response.status, error: response.body.error }).toEqual({ status: 400, error: 'invalid_target' });
  });

  test('authorization request at /auth: the error goes back to the client', async () => {
    const client = await registerClient(server, { scope: 'openid' });
    const location = await authorizationRedirect(client.client_id, { resource: NUL_RESOURCE });
    expect(location.origin + location.pathname).toBe(REDIRECT_URI);
    expect(location.searchParams.get('error')).toBe('invalid_target');
  });
});

describe('authorization request parameters holding U+0000', () => {
  test.each(['state', 'login_hint', 'ui_locales', 'acr_values'])('%s=%%00 at /auth is invalid_request, sent back to the client', async (name) => {
    const client = await registerClient(server, { scope: 'openid' });
    const location = await authorizationRedirect(client.client_id, { [name]: '\u0000' });
    expect(location.origin + location.pathname).toBe(REDIRECT_URI);
    expect(location.searchParams.get('error')).toBe('invalid_request');
  });
});

describe('dynamic registration (RFC 7591) metadata Postgres cannot store', () => {
  test.each([
    ['U+0000', 'app\u0000name'],
    ['a lone surrogate', 'app\ud800name'],
  ])('client_name with %s is a 400 invalid_client_metadata and registers nothing', async (_what, clientName) => {
    const token = (await admin.post('/admin/initial-access-tokens', { expires_in: 600 })).body.initial_access_token as string;
    const before = await clientCount();
    // JSON.stringify writes both as \u escapes, as a client would.
    const body = JSON.stringify({ client_name: clientName, redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'], response_types: ['code'] });
    const response = await api(server, token).post('/reg', body);
    expect({ status: response.status, error: response.body?.error }).toEqual({ status: 400, error: 'invalid_client_metadata' });
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await clientCount()).toBe(before);
  });

  test('a well-formed non-ASCII name (a surrogate pair) still registers', async () => {
    const token = (await admin.post('/admin/initial-access-tokens', { expires_in: 600 })).body.initial_access_token as string;
    const response = await api(server, token).post('/reg', { client_name: 'Photos 📷', redirect_uris: [REDIRECT_URI] });
    expect(response.status).toBe(201);
    expect(response.body.client_name).toBe('Photos 📷');
  });
});

describe('RP-initiated logout', () => {
  test('/session/end?state=%00 is a 400 invalid_request in JSON', async () => {
    const response = await fetch(`${server.url}/session/end?state=%00`, { headers: { accept: 'application/json' } });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_request');
  });

  test('the same for a browser is an HTML error page, not a storage outage', async () => {
    const response = await fetch(`${server.url}/session/end?state=%00`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await response.text()).toContain('invalid_request');
  });
});

/** GET /auth with PKCE and the given extra parameters; returns where the provider sends the browser. */
async function authorizationRedirect(clientId: string, extra: Record<string, string>): Promise<URL> {
  const { challenge } = await pkcePair();
  const query = new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope: 'openid',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  });
  const response = await fetch(`${server.url}/auth?${query}`, { redirect: 'manual' });
  expect(response.status).toBe(303);
  return new URL(response.headers.get('location')!, server.url);
}
