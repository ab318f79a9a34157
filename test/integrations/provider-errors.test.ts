import { randomUUID } from 'node:crypto';
import { connectionSealer } from '../../src/integrations/sealing.js';
import { integrationUser, startConsumerWorld, type ConsumerWorld } from './setup.js';

// CONTRACT.md: unknown provider → 404 not_found; known but not configured → 400 provider_not_configured.
// In this world `amazon-lwa` is the known-but-unconfigured provider (built in, no credentials).
const UNCONFIGURED = 'amazon-lwa';

let world: ConsumerWorld;
// Two servers start here (ours on PGlite or Postgres, and the upstream): give them more than the default 30 s.
beforeAll(async () => {
  world = await startConsumerWorld();
}, 90_000);
afterAll(async () => world?.close());

describe('/integrations/:provider/* answers by what the provider is', () => {
  test('an unknown provider is a 404 naming it, on every route', async () => {
    const { call } = await integrationUser(world.server);
    const callback = await fetch(`${world.server.url}/integrations/nope/callback?code=x&state=y`, { headers: { accept: 'application/json' } });
    for (const response of [
      await call.get('/integrations/nope/status'),
      await call.post('/integrations/nope/disconnect', {}),
      await call.post('/integrations/nope/token', {}),
      await call.post('/integrations/nope/authorize', {}),
      { status: callback.status, body: await callback.json() },
    ]) {
      expect(response.status).toBe(404);
      expect(response.body).toEqual({ error: 'not_found', error_description: 'no provider named nope' });
    }
  });

  test('a known provider that is not configured, without a connection: 400 provider_not_configured, as authorize answers', async () => {
    const { call } = await integrationUser(world.server);
    const authorize = await call.post(`/integrations/${UNCONFIGURED}/authorize`, {});
    expect(authorize.status).toBe(400);
    expect(authorize.body.error).toBe('provider_not_configured');
    for (const response of [await call.get(`/integrations/${UNCONFIGURED}/status`), await call.post(`/integrations/${UNCONFIGURED}/disconnect`, {})]) {
      expect(response.status).toBe(400);
      expect(response.body).toEqual(authorize.body);
    }
  });

  test('a configured provider without a connection is still a 404 about the connection', async () => {
    const { call } = await integrationUser(world.server);
    for (const response of [await call.get('/integrations/notion/status'), await call.post('/integrations/notion/disconnect', {})]) {
      expect(response.status).toBe(404);
      expect(response.body).toMatchObject({ error: 'not_found', error_description: expect.stringMatching(/^no notion connection/) });
    }
  });

  test('a connection made before its provider lost its configuration stays readable and disconnectable (no upstream revocation)', async () => {
    const { user, call } = await integrationUser(world.server);
    // As a link of the time it was configured would look: tokens sealed to the row.
    const key = { workspace_id: 'default', actor_type: 'user' as const, actor_id: user.id, provider: UNCONFIGURED, purpose: 'default' };
    const sealer = connectionSealer(world.server.context.keyring);
    const stored = await world.server.context.queries.connections.upsertConnected({
      ...key,
      id: randomUUID(),
      provider_subject: 'lwa-user-1',
      provider_email: 'alice@amazon.test',
      scopes: ['profile'],
      access_token_enc: sealer.seal(key, 'access_token', 'old-access'),
      refresh_token_enc: sealer.seal(key, 'refresh_token', 'old-refresh'),
      token_type: 'bearer',
      expires_at: new Date(Date.now() + 3600_000),
      now: new Date(),
    });

    const status = await call.get(`/integrations/${UNCONFIGURED}/status`);
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ id: stored.id, provider: UNCONFIGURED, status: 'active' });

    const disconnected = await call.post(`/integrations/${UNCONFIGURED}/disconnect`, {});
    expect(disconnected.status).toBe(200);
    expect(disconnected.body).toMatchObject({ id: stored.id, status: 'revoked', upstream_revocation: 'not_supported' });
    const row = await world.server.context.queries.connections.findById(stored.id);
    expect(row).toMatchObject({ status: 'revoked', access_token_enc: null, refresh_token_enc: null });
    expect((await call.get(`/integrations/${UNCONFIGURED}/status`)).body.status).toBe('revoked');
  });
});
