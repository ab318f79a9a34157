import * as oidc from 'openid-client';
import { startTestServer, type TestServer } from '../support/server.js';
import { adminToken, api, registerAdminClient } from '../support/api.js';
import { Browser } from '../support/browser.js';
import { authorize, createUser, PASSWORD, pkcePair, postForm, REDIRECT_URI, relyingParty } from '../support/flow.js';
import { sweepOnce } from '../../src/oidc/sweeper.js';

let server: TestServer;
let admin: ReturnType<typeof api>;
/** Every secret and token this suite handles: none may appear in the audit table. */
const secrets: string[] = [PASSWORD];

beforeAll(async () => {
  server = await startTestServer();
  const adminClient = await registerAdminClient(server);
  secrets.push(adminClient.client_secret!);
  const token = await adminToken(server);
  secrets.push(token);
  admin = api(server, token);
});
afterAll(async () => server.destroy());

async function events(query = ''): Promise<Array<Record<string, any>>> {
  await server.context.audit.flush();
  const response = await admin.get(`/admin/audit?limit=1000${query}`);
  expect(response.status).toBe(200);
  return response.body.items;
}

test('every action leaves its event, with actor, client, account, ip and outcome, and no secret anywhere', async () => {
  // Admin actions.
  const workspace = await admin.post('/admin/workspaces', { id: 'audited', name: 'Audited' });
  await admin.patch('/admin/workspaces/audited', { name: 'Audited 2' });
  const user = await admin.post('/admin/users', { email: 'audit-user@example.com', password: PASSWORD, workspace_id: workspace.body.id });
  await admin.patch(`/admin/users/${user.body.id}`, { name: 'Audited User' });
  const client = await admin.post('/admin/clients', {
    client_name: 'Audited app',
    redirect_uris: [REDIRECT_URI],
    grant_types: ['authorization_code', 'refresh_token'],
    scope: 'openid email offline_access account',
  });
  secrets.push(client.body.client_secret);
  await admin.patch(`/admin/clients/${client.body.client_id}`, { client_name: 'Audited app 2' });
  const rotated = await admin.post(`/admin/clients/${client.body.client_id}/secret`);
  secrets.push(rotated.body.client_secret);
  const appClient = { client_id: client.body.client_id, client_secret: rotated.body.client_secret };
  const resource = await admin.post('/admin/resources', { identifier: 'https://audited.example.com', scopes: ['read'] });
  await admin.delete(`/admin/resources/${resource.body.id}`);
  const iat = await admin.post('/admin/initial-access-tokens', {});
  secrets.push(iat.body.initial_access_token);

  // A failed login, then a good one through the real pages; code exchange; refresh; a failed refresh.
  const rp = await relyingParty(server, appClient);
  const { verifier, challenge } = await pkcePair();
  const url = oidc.buildAuthorizationUrl(rp, { redirect_uri: REDIRECT_URI, scope: 'openid email offline_access account', code_challenge: challenge, code_challenge_method: 'S256' });
  const browser = new Browser(server.url);
  const loginPage = await browser.navigate(url.href, REDIRECT_URI);
  const failed = await browser.submit(loginPage, '/login', { email: 'audit-user@example.com', password: 'wrong-password' }, REDIRECT_URI);
  expect(failed.response?.status).toBe(401);
  let page = await browser.submit(failed, '/login', { email: 'audit-user@example.com', password: PASSWORD }, REDIRECT_URI);
  page = await browser.submit(page, '/confirm', {}, REDIRECT_URI);
  const callback = new URL(page.url);
  secrets.push(callback.searchParams.get('code')!, verifier);
  const tokens = await oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier });
  secrets.push(tokens.access_token, tokens.refresh_token!, tokens.id_token!);
  const refreshed = await oidc.refreshTokenGrant(rp, tokens.refresh_token!);
  secrets.push(refreshed.access_token, refreshed.refresh_token!, refreshed.id_token!);
  const badRefresh = await postForm(server, '/token', { grant_type: 'refresh_token', refresh_token: 'not-a-refresh-token' }, appClient);
  expect(badRefresh.status).toBe(400);

  // The user revokes the app from the account API; the client revokes a token (RFC 7009).
  const other = await createUser(server);
  const { tokens: second } = await authorize(server, appClient, other, 'openid account');
  secrets.push(second.access_token, second.id_token!);
  const account = api(server, second.access_token);
  const grant = (await account.get('/account/grants')).body.items[0];
  await postForm(server, '/token/revocation', { token: refreshed.access_token, token_type_hint: 'access_token' }, appClient);
  await account.delete(`/account/grants/${grant.grant_id}`);

  // Deletions last.
  await admin.delete(`/admin/users/${user.body.id}`);
  await admin.delete(`/admin/clients/${client.body.client_id}`);
  await admin.delete('/admin/workspaces/audited');

  const all = await events();
  const types = new Set(all.map((e) => e.type));
  for (const type of [
    'WorkspaceCreate',
    'WorkspaceUpdate',
    'WorkspaceDelete',
    'UserCreate',
    'UserUpdate',
    'UserDelete',
    'OAuthClientCreate',
    'OAuthClientUpdate',
    'OAuthClientSecretRotate',
    'OAuthClientRevoke',
    'ResourceServerCreate',
    'ResourceServerDelete',
    'OAuthInitialAccessTokenCreate',
    'LoginFailure',
    'LoginSuccess',
    'OAuthAuthorize',
    'OAuthTokenIssue',
    'OAuthTokenRefresh',
    'OAuthRevoke',
    'OAuthGrantRevoke',
  ]) {
    expect({ type, present: types.has(type) }).toEqual({ type, present: true });
  }

  const loginFailure = all.find((e) => e.type === 'LoginFailure')!;
  expect(loginFailure).toMatchObject({ outcome: 'failure', client_id: client.body.client_id, ip: expect.any(String), request_id: expect.any(String) });
  const loginSuccess = all.find((e) => e.type === 'LoginSuccess' && e.account_id === user.body.id)!;
  expect(loginSuccess).toMatchObject({ outcome: 'success', account_id: user.body.id, actor: `user:${user.body.id}`, workspace_id: 'audited' });
  const refreshFailure = all.find((e) => e.type === 'OAuthTokenRefresh' && e.outcome === 'failure')!;
  expect(refreshFailure).toMatchObject({ client_id: client.body.client_id, details: { error: 'invalid_grant' } });
  expect(all.find((e) => e.type === 'OAuthTokenRefresh' && e.outcome === 'success')).toMatchObject({ account_id: user.body.id });
  expect(all.find((e) => e.type === 'OAuthClientCreate')).toMatchObject({ actor: expect.stringMatching(/^client:/), client_id: client.body.client_id });
  const userRevoke = all.find((e) => e.type === 'OAuthGrantRevoke' && e.details.grant_id === grant.grant_id)!;
  expect(userRevoke).toMatchObject({ actor: `user:${other.id}`, account_id: other.id, client_id: client.body.client_id });
  expect(all.some((e) => e.type === 'OAuthRevoke' && e.details.token_type === 'AccessToken')).toBe(true);
  expect(all.some((e) => e.type === 'OAuthRevoke' && e.details.cascade === true && e.details.grant_id === grant.grant_id)).toBe(true);
  for (const event of all) expect(Date.parse(event.time)).not.toBeNaN();

  // No secret or token anywhere in the table, in any column.
  const dump = JSON.stringify(await server.context.database.db('audit_events').select('*'));
  for (const secret of secrets.filter(Boolean)) expect({ leaked: dump.includes(secret), length: secret.length }).toEqual({ leaked: false, length: secret.length });
});

test('filters, cursor pagination and bad input', async () => {
  await admin.post('/admin/workspaces', { id: 'paging', name: 'Paging' });
  const all = await events();
  const byType = await events('&type=WorkspaceCreate');
  expect(byType.length).toBeGreaterThan(0);
  expect(byType.every((e) => e.type === 'WorkspaceCreate')).toBe(true);
  const someClient = all.find((e) => e.client_id)!.client_id;
  expect((await events(`&client_id=${encodeURIComponent(someClient)}`)).every((e) => e.client_id === someClient)).toBe(true);
  const someAccount = all.find((e) => e.account_id)!.account_id;
  expect((await events(`&account_id=${someAccount}`)).every((e) => e.account_id === someAccount)).toBe(true);
  const someActor = all[0]!.actor;
  expect((await events(`&actor=${encodeURIComponent(someActor)}`)).every((e) => e.actor === someActor)).toBe(true);
  expect(await events(`&since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).toEqual([]);

  // Newest first, and the cursor walks every event exactly once.
  const ids = all.map((e) => Number(e.id));
  expect([...ids].sort((a, b) => b - a)).toEqual(ids);
  const walked: string[] = [];
  let cursor: string | null = null;
  do {
    const response: { body: { items: Array<{ id: string }>; next_cursor: string | null } } = await admin.get(`/admin/audit?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
    walked.push(...response.body.items.map((e) => e.id));
    cursor = response.body.next_cursor;
    if (walked.length > 5000) throw new Error('cursor does not end');
  } while (cursor);
  expect(walked).toEqual(all.map((e) => e.id));
  // By request id: the X-Request-Id a caller sent is the one its events carry.
  const traced = await fetch(`${server.url}/admin/workspaces`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await adminToken(server)}`, 'content-type': 'application/json', 'x-request-id': 'trace-audit-0001' },
    body: JSON.stringify({ id: 'traced', name: 'Traced' }),
  });
  expect(traced.status).toBe(201);
  expect((await events('&request_id=trace-audit-0001')).map((e) => [e.type, e.details.id ?? e.workspace_id])).toEqual([['WorkspaceCreate', 'traced']]);
  expect(await events('&request_id=trace-audit-none')).toEqual([]);

  const overflow = Buffer.from(JSON.stringify({ k: '9999999999999999999' })).toString('base64url');
  for (const query of ['?limit=1001', `?request_id=${'x'.repeat(129)}`, '?type=NoSuchType', '?since=yesterday', '?since=0000-01-01T00:00:00Z', '?cursor=abc', `?cursor=${overflow}`]) {
    const response = await admin.get(`/admin/audit${query}`);
    expect({ query, status: response.status, error: response.body.error }).toEqual({ query, status: 400, error: 'invalid_request' });
  }
});

test('retention: the sweeper deletes events older than AUDIT_RETENTION_DAYS (and expired artifacts), counting rows', async () => {
  const { db } = server.context.database;
  await db('oidc_models').insert({ model: 'Session', id: 'expired-probe', payload: '{}', expires_at: new Date(Date.now() - 1000) });
  await db('audit_events').insert({ type: 'UserCreate', outcome: 'success', actor: 'system', created_at: new Date(Date.now() - 400 * 86_400_000) });
  const before = Number((await db('audit_events').count({ n: '*' }).first())!.n);
  const swept = await sweepOnce({ queries: server.context.queries, logger: server.context.logger, clock: Date.now, auditRetentionDays: 365 });
  expect(swept.auditEvents).toBe(1);
  expect(swept.artifacts).toBeGreaterThanOrEqual(1);
  expect(await db('oidc_models').where({ id: 'expired-probe' })).toHaveLength(0);
  expect(Number((await db('audit_events').count({ n: '*' }).first())!.n)).toBe(before - 1);
});
