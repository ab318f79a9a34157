import { connect, integrationUser, startConsumerWorld, type ConsumerWorld } from './setup.js';

let world: ConsumerWorld;
// Two servers start here (ours on PGlite or Postgres, and the upstream): give them more than the default 30 s.
beforeAll(async () => {
  world = await startConsumerWorld();
}, 90_000);
afterAll(async () => world?.close());

const countConnections = async () => Number((await world.server.context.database.db('integration_connections').count({ n: '*' }).first())?.n ?? 0);

/** Starts a flow and completes the upstream part: the callback URL our server would be sent to. */
async function pendingCallback(call: Awaited<ReturnType<typeof integrationUser>>['call'], provider = 'google', body: Record<string, unknown> = {}) {
  const started = await call.post(`/integrations/${provider}/authorize`, body);
  expect(started.status).toBe(200);
  return world.upstream.completeLogin(started.body.authorization_url);
}

const getJson = async (url: URL | string) => {
  const response = await fetch(url, { redirect: 'manual', headers: { accept: 'application/json' } });
  return { status: response.status, body: (await response.json()) as { error: string; error_description: string } };
};

describe('state: the callback is authenticated by a single-use, 10-minute state bound to its provider', () => {
  test('missing state → 400, nothing stored', async () => {
    const { call } = await integrationUser(world.server);
    const callback = await pendingCallback(call);
    const before = await countConnections();
    callback.searchParams.delete('state');
    const response = await getJson(callback);
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid_request');
    expect(await countConnections()).toBe(before);
  });

  test('a state this server never issued → 400 invalid_state, nothing stored', async () => {
    const { call } = await integrationUser(world.server);
    const callback = await pendingCallback(call);
    const before = await countConnections();
    callback.searchParams.set('state', 'forged-state-value');
    const response = await getJson(callback);
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid_state');
    expect(await countConnections()).toBe(before);
  });

  test('replayed state → the second callback is refused, the first connection is untouched', async () => {
    const { call } = await integrationUser(world.server);
    const callback = await pendingCallback(call);
    const first = await getJson(callback);
    expect(first.status).toBe(200);
    const before = await countConnections();
    const replay = await getJson(callback);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_state');
    expect(await countConnections()).toBe(before);
    expect((await call.get('/integrations/google/status')).body.status).toBe('active');
  });

  test('a state issued for another provider (foreign) is refused and stays unusable there too', async () => {
    const { call } = await integrationUser(world.server);
    const callback = await pendingCallback(call, 'google');
    const before = await countConnections();
    const foreign = new URL(callback.href.replace('/integrations/google/callback', '/integrations/microsoft/callback'));
    const response = await getJson(foreign);
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid_state');
    expect(await countConnections()).toBe(before);
  });

  test('expired state (older than 10 minutes) → 400 invalid_state, nothing stored', async () => {
    const { call } = await integrationUser(world.server);
    const callback = await pendingCallback(call);
    const before = await countConnections();
    world.advanceClock(11 * 60);
    try {
      const response = await getJson(callback);
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('invalid_state');
      expect(response.body.error_description).toMatch(/expired/);
    } finally {
      world.advanceClock(-11 * 60);
    }
    expect(await countConnections()).toBe(before);
  });

  test('the user denying at the provider → 400 with the provider error, nothing stored', async () => {
    const { call } = await integrationUser(world.server);
    const started = await call.post('/integrations/google/authorize', {});
    const callback = await world.upstream.completeLogin(started.body.authorization_url, { deny: true });
    const before = await countConnections();
    const response = await getJson(callback);
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('access_denied');
    expect(await countConnections()).toBe(before);
  });
});

describe('isolation between workspaces and actors', () => {
  test('an actor of workspace B cannot see or use a connection of workspace A (404, no details)', async () => {
    const alice = await integrationUser(world.server, 'default');
    const connected = await connect(world, alice.call, 'google', { purpose: 'isolated' });
    expect(connected.status).toBe(200);
    const mallory = await integrationUser(world.server, `ws-b-${Date.now().toString(36)}`);

    expect((await mallory.call.get('/integrations')).body.items).toEqual([]);
    for (const response of [
      await mallory.call.get('/integrations/google/status?purpose=isolated'),
      await mallory.call.post('/integrations/google/token', { purpose: 'isolated' }),
      await mallory.call.post('/integrations/google/disconnect', { purpose: 'isolated' }),
      await mallory.call.put('/integrations/mailboxes/booking', {
        auth_method: 'oauth2',
        username: 'x@example.com',
        imap: { host: 'imap.example.com', port: 993, security: 'tls' },
        smtp: { host: 'smtp.example.com', port: 465, security: 'tls' },
        connection_id: connected.body.id,
      }),
    ]) {
      expect(response.status).toBe(404);
      expect(response.body.error).toBe('not_found');
      expect(JSON.stringify(response.body)).not.toContain('alice');
    }
    // Still intact for its owner.
    expect((await alice.call.post('/integrations/google/token', { purpose: 'isolated' })).status).toBe(200);
  });

  test('another user of the same workspace has their own connections', async () => {
    const alice = await integrationUser(world.server);
    const bob = await integrationUser(world.server);
    await connect(world, alice.call, 'google', { purpose: 'mine' });
    expect((await bob.call.post('/integrations/google/token', { purpose: 'mine' })).status).toBe(404);
    expect((await bob.call.get('/integrations')).body.items).toEqual([]);
  });
});
