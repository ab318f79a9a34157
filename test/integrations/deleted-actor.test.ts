import { randomBytes } from 'node:crypto';
import { adminToken, api, clientCredentialsToken } from '../support/api.js';
import { integrationUser, startConsumerWorld, type ConsumerWorld } from './setup.js';

let world: ConsumerWorld;
let admin: ReturnType<typeof api>;
// Two servers start here (ours on PGlite or Postgres, and the upstream): give them more than the default 30 s.
beforeAll(async () => {
  world = await startConsumerWorld();
  admin = api(world.server, await adminToken(world.server));
}, 90_000);
afterAll(async () => world?.close());

const db = () => world.server.context.database.db;
const connectionsOf = (actorType: string, actorId: string) => db()('integration_connections').where({ actor_type: actorType, actor_id: actorId }).select('*');
const pendingStatesOf = async (actorType: string, actorId: string) =>
  Number((await db()('oauth_states').where({ actor_type: actorType, actor_id: actorId }).count({ n: '*' }).first())?.n ?? 0);

/** authorize → upstream login and consent: the callback URL the provider would send the browser to. */
async function pendingCallback(call: ReturnType<typeof api>, purpose: string) {
  const started = await call.post('/integrations/google/authorize', { purpose });
  expect(started.status).toBe(200);
  return world.upstream.completeLogin(started.body.authorization_url);
}

const getJson = async (url: URL) => {
  const response = await fetch(url, { redirect: 'manual', headers: { accept: 'application/json' } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

/** A client_credentials client created through the admin API with the given id, and a token of it. */
async function adminClient(clientId: string) {
  const created = await admin.post('/admin/clients', {
    client_id: clientId,
    client_name: 'Platform service',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'integrations:token',
  });
  expect(created.status).toBe(201);
  const token = await clientCredentialsToken(world.server, created.body, 'integrations:token');
  return api(world.server, token);
}

describe('a link still in progress when its actor is deleted stores nothing', () => {
  test('user deleted mid-flow (admin API): the pending state is dropped, the callback is a 4xx, no connection or token is stored', async () => {
    const { user, call } = await integrationUser(world.server);
    const callback = await pendingCallback(call, 'x2');
    expect(await pendingStatesOf('user', user.id)).toBe(1);

    expect((await admin.delete(`/admin/users/${user.id}`)).status).toBe(204);
    expect(await pendingStatesOf('user', user.id)).toBe(0);

    const response = await getJson(callback);
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid_state');
    expect(await connectionsOf('user', user.id)).toEqual([]);
  });

  test('client deleted mid-flow and re-created with the same client_id: the callback is a 4xx and the new client sees no connection', async () => {
    const clientId = `svc-${randomBytes(4).toString('hex')}`;
    const callback = await pendingCallback(await adminClient(clientId), 'x2');
    expect(await pendingStatesOf('api_key', clientId)).toBe(1);

    expect((await admin.delete(`/admin/clients/${clientId}`)).status).toBe(204);
    expect(await pendingStatesOf('api_key', clientId)).toBe(0);
    const reborn = await adminClient(clientId);

    const response = await getJson(callback);
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid_state');
    expect(await connectionsOf('api_key', clientId)).toEqual([]);
    expect((await reborn.get('/integrations')).body.items).toEqual([]);
    expect((await reborn.get('/integrations/google/status?purpose=x2')).status).toBe(404);
    expect((await reborn.post('/integrations/google/token', { purpose: 'x2' })).status).toBe(404);
  });

  test('an actor gone while its state survived (deleted behind the cascade\'s back): the callback refuses it, once', async () => {
    const { user, call } = await integrationUser(world.server);
    const callback = await pendingCallback(call, 'race');
    // Straight from the store, as a delete racing the callback would look: the state is still there.
    await world.server.context.queries.users.delete(user.id);
    expect(await pendingStatesOf('user', user.id)).toBe(1);

    const response = await getJson(callback);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: 'invalid_state', error_description: expect.stringMatching(/no longer exists/) });
    expect(await connectionsOf('user', user.id)).toEqual([]);
    // The state was consumed: the same callback again is an unknown state.
    expect(await pendingStatesOf('user', user.id)).toBe(0);
    const replay = await getJson(callback);
    expect(replay.status).toBe(400);
    expect(replay.body.error_description).toMatch(/unknown state/);
  });

  test('a client whose id now lives in another workspace is not the actor that started the flow', async () => {
    const clientId = `svc-${randomBytes(4).toString('hex')}`;
    const callback = await pendingCallback(await adminClient(clientId), 'moved');
    await world.server.context.queries.workspaces.ensure('elsewhere', 'elsewhere');
    await db()('clients').where({ client_id: clientId }).update({ workspace_id: 'elsewhere' });

    const response = await getJson(callback);
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid_state');
    expect(await connectionsOf('api_key', clientId)).toEqual([]);
  });
});
