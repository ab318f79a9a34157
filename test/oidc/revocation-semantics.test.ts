import { startTestServer, type TestServer } from '../support/server.js';
import { adminToken, api, clientCredentialsToken, registerIntrospector } from '../support/api.js';
import { authorize, createUser, introspect, postForm, registerClient } from '../support/flow.js';

/**
 * RFC 7009 revocation, end to end (src/oidc/token-policies.ts, src/audit/provider-events.ts):
 * - revoking any token of a user grant (access or refresh) ends the whole grant: every token of it dies, the grant
 *   leaves GET /account/grants, and the audit log has the token's OAuthRevoke plus the grant-revoke cascade;
 * - a client_credentials token (no grant) is revoked alone;
 * - a refused attempt is a failure event: a public client gets the RFC's silent 200, a client of another workspace
 *   the same 200 an unknown token gets (no cross-tenant oracle), and a confidential client of the same workspace
 *   is told (400 invalid_request).
 */
let server: TestServer;
let admin: ReturnType<typeof api>;
let introspector: { client_id: string; client_secret?: string };
type Client = { client_id: string; client_secret?: string };
type AuditRow = { type: string; outcome: string; client_id: string | null; account_id: string | null; workspace_id: string | null; details: Record<string, unknown> };

beforeAll(async () => {
  server = await startTestServer();
  admin = api(server, await adminToken(server));
  introspector = await registerIntrospector(server);
  expect((await admin.post('/admin/workspaces', { id: 'revocation-other', name: 'Other tenant' })).status).toBe(201);
});
afterAll(async () => server.destroy());

async function events(clientId: string): Promise<AuditRow[]> {
  await server.context.audit.flush();
  const response = await admin.get(`/admin/audit?limit=1000&client_id=${encodeURIComponent(clientId)}`);
  expect(response.status).toBe(200);
  return response.body.items;
}

/** A user who authorized a third-party app (access + refresh token, refreshed once) and the account app. */
async function linkedUser() {
  const user = await createUser(server);
  const accountApp = await registerClient(server, { client_name: 'Account app', scope: 'openid account' });
  const { tokens: accountTokens } = await authorize(server, accountApp, user, 'openid account');
  const account = api(server, accountTokens.access_token);
  const app = await registerClient(server, { client_name: 'Smart speaker', scope: 'openid email offline_access' });
  const { tokens } = await authorize(server, app, user, 'openid email offline_access');
  const refreshed = await postForm(server, '/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, app);
  expect(refreshed.status).toBe(200);
  const grants = (await account.get('/account/grants')).body.items as Array<{ grant_id: string; client_id: string }>;
  const grantId = grants.find((g) => g.client_id === app.client_id)!.grant_id;
  return {
    user,
    account,
    app,
    grantId,
    accessTokens: [tokens.access_token, refreshed.body.access_token as string],
    refreshToken: (refreshed.body.refresh_token ?? tokens.refresh_token) as string,
  };
}

const listed = async (account: ReturnType<typeof api>) =>
  ((await account.get('/account/grants')).body.items as Array<{ client_id: string }>).map((g) => g.client_id);

describe('revoking a token of a user grant ends the whole grant', () => {
  test.each(['access_token', 'refresh_token'] as const)('by its %s: every token dies, the grant is unlisted, all of it audited', async (hint) => {
    const { user, account, app, grantId, accessTokens, refreshToken } = await linkedUser();
    expect(await listed(account)).toContain(app.client_id);
    const presented = hint === 'access_token' ? accessTokens[0]! : refreshToken;

    const revoked = await postForm(server, '/token/revocation', { token: presented, token_type_hint: hint }, app);
    expect(revoked.status).toBe(200);

    for (const token of [...accessTokens, refreshToken]) expect(await introspect(server, introspector, token)).toEqual({ active: false });
    const refresh = await postForm(server, '/token', { grant_type: 'refresh_token', refresh_token: refreshToken }, app);
    expect(refresh).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    // No "app with access" left without a working token; the user's other app (the account app) is untouched.
    expect(await listed(account)).not.toContain(app.client_id);
    expect(await server.context.database.db('oidc_models').where({ model: 'Grant', id: grantId })).toHaveLength(0);

    const audit = (await events(app.client_id)).filter((e) => e.details.grant_id === grantId);
    const summary = audit.map((e) => ({ type: e.type, outcome: e.outcome, account_id: e.account_id, workspace_id: e.workspace_id, cascade: e.details.cascade ?? false }));
    const expected = { outcome: 'success', account_id: user.id, workspace_id: 'default' };
    expect(summary).toEqual(
      expect.arrayContaining([
        { type: 'OAuthRevoke', cascade: false, ...expected },
        { type: 'OAuthGrantRevoke', cascade: false, ...expected },
        { type: 'OAuthRevoke', cascade: true, ...expected },
      ]),
    );
    const presentedEvent = audit.find((e) => e.type === 'OAuthRevoke' && !e.details.cascade)!;
    expect(presentedEvent.details.token_type).toBe(hint === 'access_token' ? 'AccessToken' : 'RefreshToken');
    expect(audit.find((e) => e.type === 'OAuthGrantRevoke')!.details).toMatchObject({ via: 'revocation' });
  });

  test('a client_credentials token has no grant: it is revoked alone', async () => {
    const service = await registerIntrospector(server);
    const [first, second] = [await clientCredentialsToken(server, service, 'openid'), await clientCredentialsToken(server, service, 'openid')];
    expect((await postForm(server, '/token/revocation', { token: first }, service)).status).toBe(200);
    expect(await introspect(server, introspector, first)).toEqual({ active: false });
    expect((await introspect(server, introspector, second)).active).toBe(true);
    const audit = await events(service.client_id);
    expect(audit.filter((e) => e.type === 'OAuthRevoke').map((e) => [e.outcome, e.details.token_type, e.details.cascade ?? false])).toEqual([['success', 'ClientCredentials', false]]);
    expect(audit.some((e) => e.type === 'OAuthGrantRevoke')).toBe(false);
  });
});

describe("another client's token is not revoked, and the attempt is a failure event", () => {
  async function expectAlive(link: Awaited<ReturnType<typeof linkedUser>>) {
    for (const token of [link.accessTokens[1]!, link.refreshToken]) expect((await introspect(server, introspector, token)).active).toBe(true);
    expect(await listed(link.account)).toContain(link.app.client_id);
  }
  const failures = async (caller: Client) =>
    (await events(caller.client_id)).filter((e) => e.type === 'OAuthRevoke').map((e) => ({ outcome: e.outcome, account_id: e.account_id, ...e.details }));

  test('a public client: the silent 200 of RFC 7009, nothing revoked, a not_owner failure', async () => {
    const link = await linkedUser();
    const spa = await registerClient(server, { client_name: 'SPA', token_endpoint_auth_method: 'none' });
    for (const [token, hint] of [[link.accessTokens[1]!, 'access_token'], [link.refreshToken, 'refresh_token']] as const) {
      const response = await postForm(server, '/token/revocation', { token, token_type_hint: hint }, { client_id: spa.client_id });
      expect({ status: response.status, body: response.body }).toEqual({ status: 200, body: undefined });
    }
    await expectAlive(link);
    expect(await failures(spa)).toEqual([
      { outcome: 'failure', account_id: null, reason: 'not_owner', token_type: 'RefreshToken' },
      { outcome: 'failure', account_id: null, reason: 'not_owner', token_type: 'AccessToken' },
    ]);
  });

  test('a confidential client of another workspace: the 200 an unknown token gets, nothing revoked, a failure', async () => {
    const link = await linkedUser();
    const created = await admin.post('/admin/clients', {
      workspace_id: 'revocation-other',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'openid',
    });
    expect(created.status).toBe(201);
    const foreign = created.body as Client;
    const unknown = await postForm(server, '/token/revocation', { token: 'no-such-token-anywhere' }, foreign);
    for (const token of [link.accessTokens[1]!, link.refreshToken]) {
      const response = await postForm(server, '/token/revocation', { token }, foreign);
      expect({ status: response.status, body: response.body }).toEqual({ status: unknown.status, body: unknown.body });
    }
    expect(unknown.status).toBe(200);
    await expectAlive(link);
    expect(await failures(foreign)).toEqual([
      { outcome: 'failure', account_id: null, reason: 'other_workspace', token_type: 'RefreshToken' },
      { outcome: 'failure', account_id: null, reason: 'other_workspace', token_type: 'AccessToken' },
    ]);
  });

  test('a confidential client of the same workspace is told: 400 invalid_request, nothing revoked, a failure', async () => {
    const link = await linkedUser();
    const sameTenant = await registerIntrospector(server);
    const response = await postForm(server, '/token/revocation', { token: link.refreshToken }, sameTenant);
    expect(response).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    await expectAlive(link);
    expect(await failures(sameTenant)).toEqual([
      { outcome: 'failure', account_id: null, error: 'invalid_request', error_description: 'client is not authorized to revoke the presented token' },
    ]);
  });
});
