import { pollUntil, startTestServer, useInstancePair, type TestServer } from '../support/server.js';
import { adminToken, api } from '../support/api.js';
import { authorize, createUser, registerClient } from '../support/flow.js';
import { describeWith } from '../support/services.js';
import { USER_CACHE_TTL_MS } from '../../src/accounts/cache.js';

/**
 * The account findAccount loads is cached in process for a few seconds (src/accounts/cache.ts): a change made
 * through the admin API must still count at once, on the instance that made it and, over Redis, on every other one.
 */
const userinfo = async (server: TestServer, accessToken: string) => {
  const response = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
  return { status: response.status, body: (await response.json().catch(() => undefined)) as { name?: string } | undefined };
};

async function signedInUser(server: TestServer) {
  const user = await createUser(server);
  const client = await registerClient(server);
  const { tokens } = await authorize(server, client, user, 'openid profile');
  return { user, accessToken: tokens.access_token };
}

describe('user cache on one instance', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  }, 60_000);
  afterAll(async () => {
    await server?.destroy();
  });

  test('a renamed user shows the new name at once, though the account was just cached', async () => {
    const { user, accessToken } = await signedInUser(server);
    expect((await userinfo(server, accessToken)).body?.name).not.toBe('Renamed once');
    const admin = api(server, await adminToken(server));
    expect((await admin.patch(`/admin/users/${user.id}`, { name: 'Renamed once' })).status).toBe(200);
    expect((await userinfo(server, accessToken)).body?.name).toBe('Renamed once');
  });
});

describeWith(['postgres', 'redis'], 'user cache across instances', () => {
  const pair = useInstancePair();

  test('a user renamed on A shows the new name on B well before the cache TTL (Redis pub/sub)', async () => {
    const { a, b } = pair;
    const { user, accessToken } = await signedInUser(a);
    expect((await userinfo(b, accessToken)).status).toBe(200); // now cached on B
    const started = Date.now();
    expect((await api(a, await adminToken(a)).patch(`/admin/users/${user.id}`, { name: 'Renamed on A' })).status).toBe(200);
    const name = await pollUntil(async () => (await userinfo(b, accessToken)).body?.name, (value) => value === 'Renamed on A', USER_CACHE_TTL_MS);
    expect(name).toBe('Renamed on A');
    expect(Date.now() - started).toBeLessThan(USER_CACHE_TTL_MS / 2);
  });
});
