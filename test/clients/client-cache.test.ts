import { pollUntil, startTestServer, useInstancePair, type TestServer } from '../support/server.js';
import { adminToken, api } from '../support/api.js';
import { postForm } from '../support/flow.js';
import { describeWith } from '../support/services.js';
import { CLIENT_CACHE_TTL_MS } from '../../src/clients/cache.js';
import { toClientRow } from '../../src/clients/store.js';
import { clientQueries } from '../../src/queries/clients.js';

/**
 * Clients are cached in process for a few seconds (src/clients/cache.ts): a change made through the admin API
 * must still count at once, on the instance that made it and, over Redis, on every other one.
 */
const machine = async (server: TestServer) => {
  const created = await api(server, await adminToken(server)).post('/admin/clients', {
    client_name: 'Cache probe',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: 'openid',
  });
  expect(created.status).toBe(201);
  return created.body as { client_id: string; client_secret: string };
};

const clientCredentials = (server: TestServer, client: { client_id: string; client_secret: string }) =>
  postForm(server, '/token', { grant_type: 'client_credentials' }, client).then((r) => r.status);

describe('client cache on one instance', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  }, 60_000);
  afterAll(async () => {
    await server?.destroy();
  });

  test('a rotated secret and a deleted client count at once, though the client was just cached', async () => {
    const admin = api(server, await adminToken(server));
    const client = await machine(server);
    expect(await clientCredentials(server, client)).toBe(200);

    const rotated = await admin.post(`/admin/clients/${client.client_id}/secret`);
    expect(rotated.status).toBe(200);
    expect(await clientCredentials(server, client)).toBe(401);
    const current = { ...client, client_secret: rotated.body.client_secret as string };
    expect(await clientCredentials(server, current)).toBe(200);

    expect((await admin.delete(`/admin/clients/${client.client_id}`)).status).toBe(204);
    expect(await clientCredentials(server, current)).toBe(401);
  });

  test('an unknown client_id is not remembered: written right after, even past the cache, it works', async () => {
    const client = { client_id: `later-${Date.now()}`, client_secret: 'a-secret-of-enough-length-0123456789abcdef' };
    expect(await clientCredentials(server, client)).toBe(401);
    // Straight into the table (as another process would), so no invalidation is involved.
    const row = toClientRow({ ...client, grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'openid' }, server.context.keyring);
    await clientQueries(server.context.database.db).upsert(row);
    expect(await clientCredentials(server, client)).toBe(200);
  });
});

describeWith(['postgres', 'redis'], 'client cache across instances', () => {
  const pair = useInstancePair();

  test('a secret rotated on A stops working on B well before the cache TTL (Redis pub/sub)', async () => {
    const { a, b } = pair;
    const client = await machine(a);
    expect(await clientCredentials(b, client)).toBe(200); // now cached on B
    const started = Date.now();
    const rotated = await api(a, await adminToken(a)).post(`/admin/clients/${client.client_id}/secret`);
    expect(rotated.status).toBe(200);
    const status = await pollUntil(() => clientCredentials(b, client), (value) => value !== 200, CLIENT_CACHE_TTL_MS);
    expect(status).toBe(401);
    expect(Date.now() - started).toBeLessThan(CLIENT_CACHE_TTL_MS / 2);
    expect(await clientCredentials(b, { ...client, client_secret: rotated.body.client_secret })).toBe(200);
  });
});
