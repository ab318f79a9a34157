import * as oidc from 'openid-client';
import { Redis } from 'ioredis';
import { services } from '../support/services.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { adminToken, api, registerIntrospector } from '../support/api.js';
import { authorize, createUser, introspect, postForm, registerClient } from '../support/flow.js';

let server: TestServer;
let introspector: { client_id: string; client_secret?: string };

beforeAll(async () => {
  server = await startTestServer();
  introspector = await registerIntrospector(server);
});
afterAll(async () => server.destroy());

/** A user signed in to two apps: the "account" app (scope account) and a third-party app with a refresh token. */
async function userWithTwoApps() {
  const user = await createUser(server);
  const accountApp = await registerClient(server, { client_name: 'Account app', scope: 'openid account' });
  const { tokens: accountTokens } = await authorize(server, accountApp, user, 'openid account');
  const thirdParty = await registerClient(server, { client_name: 'Photo printer', scope: 'openid email offline_access' });
  const { tokens, rp } = await authorize(server, thirdParty, user, 'openid email offline_access');
  return { user, account: api(server, accountTokens.access_token), thirdParty, tokens, rp };
}

describe('GET /account/grants', () => {
  test('lists the apps this user authorized, with scopes and last use', async () => {
    const { account, thirdParty } = await userWithTwoApps();
    const response = await account.get('/account/grants');
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.body.next_cursor).toBeNull();
    const app = response.body.items.find((g: { client_id: string }) => g.client_id === thirdParty.client_id);
    expect(app).toMatchObject({ client_name: 'Photo printer', grant_id: expect.any(String), created_at: expect.any(String) });
    expect(app.scopes).toEqual(expect.arrayContaining(['openid', 'email']));
    // The code exchange counts as use (bookkeeping is asynchronous and coarse: at most once a minute).
    await server.context.grants.flushTouched();
    const again = await account.get('/account/grants');
    const used = again.body.items.find((g: { client_id: string }) => g.client_id === thirdParty.client_id);
    expect(Date.parse(used.last_used_at)).toBeGreaterThanOrEqual(Date.parse(app.created_at));
    expect(response.body.items).toHaveLength(2);
  });

  test('needs a user token with scope account', async () => {
    const user = await createUser(server);
    const plain = await registerClient(server, { scope: 'openid email' });
    const { tokens } = await authorize(server, plain, user, 'openid email');
    const noScope = await api(server, tokens.access_token).get('/account/grants');
    expect(noScope.status).toBe(403);
    expect(noScope.body.error).toBe('insufficient_scope');
    expect((await api(server).get('/account/grants')).status).toBe(401);
    const admin = await api(server, await adminToken(server)).get('/account/grants');
    expect(admin.status).toBe(403);
  });
});

describe('GET /account/grants paging (CONTRACT.md: every list pages with limit and cursor)', () => {
  const cursorOf = (key: unknown) => Buffer.from(JSON.stringify({ k: key })).toString('base64url');
  const invalid = (description: string) => ({ error: 'invalid_request', error_description: expect.stringContaining(description) });

  test('limit=1 pages through both grants with the cursor it issues', async () => {
    const { account } = await userWithTwoApps();
    const all = await account.get('/account/grants');
    expect(all.body.items).toHaveLength(2);
    expect(all.body.next_cursor).toBeNull();

    const first = await account.get('/account/grants?limit=1');
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(first.body.items).toHaveLength(1);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const second = await account.get(`/account/grants?limit=1&cursor=${first.body.next_cursor}`);
    expect(second.status).toBe(200);
    expect(second.body.items).toHaveLength(1);
    expect(second.body.next_cursor).toBeNull();

    const paged = [...first.body.items, ...second.body.items] as Array<{ grant_id: string }>;
    // Both grants, once each, in a stable order (by grant_id), with the same views as the unpaged list.
    expect(paged.map((g) => g.grant_id)).toEqual((all.body.items as Array<{ grant_id: string }>).map((g) => g.grant_id).sort());
    expect([...paged].sort((a, b) => (a.grant_id < b.grant_id ? -1 : 1))).toEqual(
      [...(all.body.items as Array<{ grant_id: string }>)].sort((a, b) => (a.grant_id < b.grant_id ? -1 : 1)),
    );
    // limit=2 is one full page; the same cursor again gives the same page.
    expect((await account.get('/account/grants?limit=2')).body).toMatchObject({ next_cursor: null });
    expect((await account.get(`/account/grants?limit=1&cursor=${first.body.next_cursor}`)).body).toEqual(second.body);
  });

  test('a bad limit is a 400 invalid_request', async () => {
    const { account } = await userWithTwoApps();
    for (const limit of ['0', '-1', '1001', 'abc', '1.5', '']) {
      const response = await account.get(`/account/grants?limit=${limit}`);
      expect({ limit, status: response.status, body: response.body }).toEqual({ limit, status: 400, body: invalid('limit') });
    }
    expect((await account.get('/account/grants?limit=1000')).status).toBe(200);
  });

  test('a cursor this server did not issue is a 400 invalid_request', async () => {
    const { account } = await userWithTwoApps();
    const forged = [
      'zzz',
      '%00',
      Buffer.from('not json').toString('base64url'),
      cursorOf('has space'),
      cursorOf('x'.repeat(129)),
      cursorOf(`2024-01-01T00:00:00.000Z|${'0'.repeat(8)}`), // a delivery log's cursor
      cursorOf('\u0000'),
      cursorOf('abc\u0000'),
      cursorOf(7),
      cursorOf(null),
      'a'.repeat(513),
    ];
    for (const cursor of forged) {
      const response = await account.get(`/account/grants?cursor=${encodeURIComponent(cursor)}`);
      expect({ cursor, status: response.status, body: response.body }).toEqual({ cursor, status: 400, body: invalid('cursor') });
    }
  });
});

async function grantInRedis(grantId: string): Promise<boolean> {
  const redis = new Redis(services.redisUrl!);
  try {
    return (await redis.exists(`${server.context.config.redis.keyPrefix}oidc:Grant:${grantId}`)) === 1;
  } finally {
    redis.disconnect();
  }
}

describe('DELETE /account/grants/:id', () => {
  test('kills every token of that app at once, and only that app', async () => {
    const { account, thirdParty, tokens, rp } = await userWithTwoApps();
    const grants = (await account.get('/account/grants')).body.items as Array<{ grant_id: string; client_id: string }>;
    const target = grants.find((g) => g.client_id === thirdParty.client_id)!;
    // With Redis, the grant is read from its Redis copy (src/oidc/adapter/adapter.ts, CACHED_DURABLE).
    const redisCopy = () => grantInRedis(target.grant_id);
    if (services.redisUrl) expect(await redisCopy()).toBe(true);

    expect((await account.delete(`/account/grants/${target.grant_id}`)).status).toBe(204);
    if (services.redisUrl) expect(await redisCopy()).toBe(false);
    expect(await introspect(server, introspector, tokens.access_token)).toEqual({ active: false });
    expect(await introspect(server, introspector, tokens.refresh_token!)).toEqual({ active: false });
    await expect(oidc.refreshTokenGrant(rp, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    const userinfo = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(userinfo.status).toBe(401);

    const remaining = (await account.get('/account/grants')).body.items as Array<{ client_id: string }>;
    expect(remaining.map((g) => g.client_id)).not.toContain(thirdParty.client_id);
    expect(remaining).toHaveLength(1);
    const rows = await server.context.database.db('oidc_models').where({ grant_id: target.grant_id });
    expect(rows).toHaveLength(0);
    // The grant is gone from the user's browser sessions too.
    const sessions = await server.context.database.db('oidc_models').where({ model: 'Session' });
    expect(JSON.stringify(sessions.map((s: { payload: unknown }) => s.payload))).not.toContain(target.grant_id);

    expect((await account.delete(`/account/grants/${target.grant_id}`)).status).toBe(404);
  });

  test("another user's grant is a 404 and stays alive", async () => {
    const victim = await userWithTwoApps();
    const attacker = await userWithTwoApps();
    const victimGrant = ((await victim.account.get('/account/grants')).body.items as Array<{ grant_id: string; client_id: string }>).find(
      (g) => g.client_id === victim.thirdParty.client_id,
    )!;
    const response = await attacker.account.delete(`/account/grants/${victimGrant.grant_id}`);
    expect(response.status).toBe(404);
    expect((await introspect(server, introspector, victim.tokens.access_token)).active).toBe(true);
  });

  test('RFC 7009 revocation of the refresh token unlinks too', async () => {
    const { account, thirdParty, tokens } = await userWithTwoApps();
    const response = await postForm(server, '/token/revocation', { token: tokens.refresh_token!, token_type_hint: 'refresh_token' }, thirdParty);
    expect(response.status).toBe(200);
    expect(await introspect(server, introspector, tokens.access_token)).toEqual({ active: false });
    const remaining = (await account.get('/account/grants')).body.items as Array<{ client_id: string }>;
    expect(remaining.map((g) => g.client_id)).not.toContain(thirdParty.client_id);
  });
});
