import { connectionSealer } from '../../src/integrations/sealing.js';
import type { ConnectionRow } from '../../src/queries/connections.js';
import { adminToken, api } from '../support/api.js';
import { services } from '../support/services.js';
import { authorize, createUser, registerClient } from '../support/flow.js';
import { connect, integrationService, integrationUser, startConsumerWorld, type ConsumerWorld } from './setup.js';

let world: ConsumerWorld;
// Two servers start here (ours on PGlite or Postgres, and the upstream): give them more than the default 30 s.
beforeAll(async () => {
  world = await startConsumerWorld({ upstream: { accessTokenTtl: 600, rotateRefreshTokens: true } });
}, 90_000);
afterAll(async () => world?.close());

/** The refresh token we hold for a connection (tests may read our own store to check rotation). */
async function storedRefreshToken(id: string): Promise<string | undefined> {
  const row = (await world.server.context.queries.connections.findById(id)) as ConnectionRow;
  return connectionSealer(world.server.context.keyring).open(row, 'refresh_token', row.refresh_token_enc);
}

const auditTypes = async (connectionId: string) =>
  (await world.server.context.queries.audit.list({ limit: 1000 })).filter((e) => e.details.connection_id === connectionId).map((e) => `${e.type}:${e.outcome}`);

describe('Google through the local upstream: the whole life of a link', () => {
  test('authorize → upstream login → callback → vend → forced expiry → refresh with rotation → disconnect revokes upstream', async () => {
    const { call } = await integrationUser(world.server);

    // 1. authorize: an authorization URL at the provider with state, PKCE, nonce and Google's offline params.
    const connected = await connect(world, call, 'google');
    const params = connected.authorizationUrl.searchParams;
    expect(connected.authorizationUrl.origin).toBe(world.upstream.issuer);
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('access_type')).toBe('offline');
    expect(params.get('prompt')).toBe('consent');
    expect(params.get('redirect_uri')).toBe(`${world.server.url}/integrations/google/callback`);
    expect(params.get('nonce')).toBeTruthy();
    // The upstream sends RFC 9207 `iss`, which the callback checks.
    expect(connected.callback.searchParams.get('iss')).toBe(world.upstream.issuer);

    // 2. callback: the connection is active with the upstream identity, and never shows a token.
    expect(connected.status).toBe(200);
    expect(connected.body).toMatchObject({ provider: 'google', purpose: 'default', status: 'active', identity: { email: 'alice@upstream.test', subject: 'upstream-user-1' } });
    expect(JSON.stringify(connected.body)).not.toMatch(/token"\s*:/);
    const listed = await call.get('/integrations');
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((c: { id: string }) => c.id)).toEqual([connected.body.id]);

    // 3. token vending: the upstream's own access token, active at the upstream.
    const vended = await call.post('/integrations/google/token', {});
    expect(vended.status).toBe(200);
    expect(vended.headers.get('cache-control')).toBe('no-store');
    expect(vended.body).toMatchObject({ token_type: 'Bearer', expires_in: expect.any(Number) });
    expect(vended.body.expires_in).toBeGreaterThan(500);
    expect((await world.upstream.introspect(vended.body.access_token)).active).toBe(true);
    const again = await call.post('/integrations/google/token', {});
    expect(again.body.access_token).toBe(vended.body.access_token);

    // 4. forced expiry: six minutes later the 10-minute token is inside the 5-minute margin → one refresh.
    const refreshBefore = await storedRefreshToken(connected.body.id);
    const refreshes = world.upstream.counts.refresh;
    world.advanceClock(6 * 60);
    const refreshed = await call.post('/integrations/google/token', {});
    expect(refreshed.status).toBe(200);
    expect(world.upstream.counts.refresh).toBe(refreshes + 1);
    expect(refreshed.body.access_token).not.toBe(vended.body.access_token);
    expect((await world.upstream.introspect(refreshed.body.access_token)).active).toBe(true);

    // 5. rotation kept: the stored refresh token is the new one; the old one is dead at the upstream.
    const refreshAfter = await storedRefreshToken(connected.body.id);
    expect(refreshAfter).toBeTruthy();
    expect(refreshAfter).not.toBe(refreshBefore);
    expect((await world.upstream.introspect(refreshBefore!)).active).toBe(false);
    expect((await world.upstream.introspect(refreshAfter!)).active).toBe(true);
    const status = await call.get('/integrations/google/status');
    expect(status.body.health.last_refreshed_at).toBeTruthy();
    expect(status.body.health.error_count_24h).toBe(0);

    // force_refresh rotates again, and the vended token changes.
    const forced = await call.post('/integrations/google/token', { force_refresh: true });
    expect(forced.status).toBe(200);
    expect(world.upstream.counts.refresh).toBe(refreshes + 2);

    // 6. disconnect: revoked at the upstream (its introspection says inactive), tokens deleted, status revoked.
    const revocations = world.upstream.counts.revocation;
    const disconnected = await call.post('/integrations/google/disconnect', {});
    expect(disconnected.status).toBe(200);
    expect(disconnected.body).toMatchObject({ status: 'revoked', upstream_revocation: 'revoked' });
    expect(world.upstream.counts.revocation).toBeGreaterThan(revocations);
    const final = await world.server.context.queries.connections.findById(connected.body.id);
    expect(final).toMatchObject({ status: 'revoked', access_token_enc: null, refresh_token_enc: null });
    expect((await world.upstream.introspect(forced.body.access_token)).active).toBe(false);
    expect((await world.upstream.introspect(refreshAfter!)).active).toBe(false);
    const vendAfter = await call.post('/integrations/google/token', {});
    expect(vendAfter.status).toBe(409);
    expect(vendAfter.body.error).toBe('connection_revoked');

    expect(await auditTypes(connected.body.id)).toEqual(
      expect.arrayContaining(['IntegrationConnect:success', 'IntegrationRefresh:success', 'IntegrationDisconnect:success']),
    );
  });

  test('connecting again after a disconnect makes the same connection active with new tokens', async () => {
    const { call } = await integrationUser(world.server);
    const first = await connect(world, call, 'gmail', { purpose: 'booking' });
    expect(first.body.scopes).toEqual(expect.arrayContaining(['https://mail.google.com/']));
    await call.post('/integrations/gmail/disconnect', { purpose: 'booking' });
    const second = await connect(world, call, 'gmail', { purpose: 'booking' });
    expect(second.body).toMatchObject({ id: first.body.id, status: 'active', revoked_at: null });
    expect((await call.post('/integrations/gmail/token', { purpose: 'booking' })).status).toBe(200);
    // purpose keeps connections apart
    expect((await call.post('/integrations/gmail/token', {})).status).toBe(404);
  });

  test('an upstream invalid_grant marks the connection needs_reauth and says so', async () => {
    const { call } = await integrationUser(world.server);
    const connected = await connect(world, call, 'google', { purpose: 'broken' });
    world.upstream.failRefreshes(true);
    try {
      const response = await call.post('/integrations/google/token', { purpose: 'broken', force_refresh: true });
      expect(response.status).toBe(409);
      expect(response.body.error).toBe('needs_reauth');
      const status = await call.get('/integrations/google/status?purpose=broken');
      expect(status.body).toMatchObject({ status: 'needs_reauth', health: { error_count_24h: 1 } });
      expect(status.body.health.last_error).toMatch(/invalid_grant/);
      const calls = world.upstream.counts.refresh;
      expect((await call.post('/integrations/google/token', { purpose: 'broken' })).status).toBe(409);
      expect(world.upstream.counts.refresh).toBe(calls); // no further upstream calls for a broken link
      expect(await auditTypes(connected.body.id)).toContain('IntegrationRefreshFailure:failure');
    } finally {
      world.upstream.failRefreshes(false);
    }
  });
});

describe('links end with their owner', () => {
  test('deleting a user (admin API) disconnects their linked accounts and revokes them upstream', async () => {
    const { user, call } = await integrationUser(world.server);
    const connected = await connect(world, call, 'google', { purpose: 'owner' });
    const vended = await call.post('/integrations/google/token', { purpose: 'owner' });
    const admin = api(world.server, await adminToken(world.server));
    expect((await admin.delete(`/admin/users/${user.id}`)).status).toBe(204);
    const row = await world.server.context.queries.connections.findById(connected.body.id);
    expect(row).toMatchObject({ status: 'revoked', access_token_enc: null, refresh_token_enc: null });
    expect((await world.upstream.introspect(vended.body.access_token)).active).toBe(false);
  });

  test('a refusal of extra scopes is a 400 and leaves the link active', async () => {
    const { call } = await integrationUser(world.server);
    await connect(world, call, 'google', { purpose: 'extra' });
    const response = await call.post('/integrations/google/token', { purpose: 'extra', scopes: ['https://www.googleapis.com/auth/youtube.readonly'] });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatch(/invalid_scope|invalid_grant/);
    expect((await call.get('/integrations/google/status?purpose=extra')).body.status).toBe('active');
    expect((await call.post('/integrations/google/token', { purpose: 'extra' })).status).toBe(200);
  });

  test('a forged list cursor is a 400, not a 500', async () => {
    const { call } = await integrationUser(world.server);
    const cursor = Buffer.from(JSON.stringify({ k: 'not-a-uuid' })).toString('base64url');
    const response = await call.get(`/integrations?cursor=${cursor}`);
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid_request');
  });
});

describe('Microsoft and Notion quirks come from the registry', () => {
  test('microsoft (Outlook IMAP/SMTP scopes): identity from the ID token', async () => {
    const { call } = await integrationUser(world.server);
    const connected = await connect(world, call, 'microsoft');
    expect(connected.status).toBe(200);
    expect(connected.authorizationUrl.searchParams.get('scope')).toContain('https://outlook.office.com/IMAP.AccessAsUser.All');
    expect(connected.body.identity.email).toBe('alice@upstream.test');
  });

  test('microsoft-calendar: identity from Graph /v1.0/me', async () => {
    const { call } = await integrationUser(world.server);
    const before = world.upstream.counts.graphMe;
    const connected = await connect(world, call, 'microsoft-calendar');
    expect(connected.status).toBe(200);
    expect(world.upstream.counts.graphMe).toBe(before + 1);
    expect(connected.body.identity).toEqual({ subject: 'upstream-user-1', email: 'alice@upstream.test' });
  });

  test('microsoft: one refresh token mints tokens for another resource, cached apart from the default', async () => {
    const { call } = await integrationUser(world.server);
    await connect(world, call, 'microsoft', { purpose: 'multi' });
    const outlook = await call.post('/integrations/microsoft/token', { purpose: 'multi' });
    // (the local upstream grants only scopes of the original consent; Microsoft mints any consented resource)
    const smtp = await call.post('/integrations/microsoft/token', { purpose: 'multi', scopes: ['openid', 'https://outlook.office.com/SMTP.Send'] });
    expect(smtp.status).toBe(200);
    expect(smtp.body.access_token).not.toBe(outlook.body.access_token);
    expect(smtp.body.scope.split(' ').sort()).toEqual(['https://outlook.office.com/SMTP.Send', 'openid']);
    const refreshes = world.upstream.counts.refresh;
    const again = await call.post('/integrations/microsoft/token', { purpose: 'multi', scopes: ['https://outlook.office.com/SMTP.Send', 'openid'] });
    expect(again.status).toBe(200);
    if (services.redisUrl) {
      // served from the ciphertext cache (same scope set in another order is the same resource)
      expect(again.body.access_token).toBe(smtp.body.access_token);
      expect(world.upstream.counts.refresh).toBe(refreshes);
    }
    // the connection's own token is still the default one
    expect((await call.post('/integrations/microsoft/token', { purpose: 'multi' })).body.access_token).toBe(outlook.body.access_token);
  });

  test('notion: no PKCE, Basic auth and a JSON body at the token endpoint', async () => {
    const { call } = await integrationUser(world.server);
    const connected = await connect(world, call, 'notion');
    expect(connected.body).toMatchObject({ status: 'active' });
    expect(connected.status).toBe(200);
    expect(connected.authorizationUrl.searchParams.get('code_challenge')).toBeNull();
    expect(connected.authorizationUrl.searchParams.get('owner')).toBe('user');
    expect(world.upstream.lastTokenRequest).toEqual({ contentType: expect.stringContaining('application/json'), authorization: 'basic' });
  });
});

describe('actors, return_to and providers', () => {
  test('a client_credentials token acts as api_key:<client_id> in its workspace', async () => {
    const service = await integrationService(world.server);
    const connected = await connect(world, service.call, 'google');
    expect(connected.body.actor).toBe(`api_key:${service.client.client_id}`);
    expect((await service.call.post('/integrations/google/token', {})).status).toBe(200);
  });

  test('return_to on this origin → 303 there; another origin is refused before anything is stored', async () => {
    const { call } = await integrationUser(world.server);
    const connected = await connect(world, call, 'google', { purpose: 'web', return_to: '/account' });
    expect(connected.status).toBe(303);
    const location = new URL(connected.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(`${world.server.url}/account`);
    expect(location.searchParams.get('connected')).toBe('google');
    const evil = await call.post('/integrations/google/authorize', { return_to: 'https://evil.example/steal' });
    expect(evil.status).toBe(400);
    expect(evil.body.error).toBe('invalid_request');
  });

  test('providers: listed with configured flags; unknown → 404, unconfigured → 400 provider_not_configured', async () => {
    const { call } = await integrationUser(world.server);
    const providers = await call.get('/integrations/providers');
    expect(providers.status).toBe(200);
    const byName = Object.fromEntries(providers.body.items.map((p: { name: string }) => [p.name, p]));
    expect(byName.google).toMatchObject({ configured: true, redirect_uri: `${world.server.url}/integrations/google/callback` });
    expect(byName['amazon-lwa']).toMatchObject({ configured: false, missing: expect.arrayContaining(['AMAZON_CLIENT_ID']) });
    expect(JSON.stringify(providers.body)).not.toContain(world.upstream.clientSecret);
    const unknown = await call.post('/integrations/nope/authorize', {});
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('not_found');
    const unconfigured = await call.post('/integrations/amazon-lwa/authorize', {});
    expect(unconfigured.status).toBe(400);
    expect(unconfigured.body.error).toBe('provider_not_configured');
    expect((await call.post('/integrations/amazon-lwa/token', {})).body.error).toBe('provider_not_configured');
  });

  test('token vending needs integrations:token; every route needs a token of this server', async () => {
    const { call } = await integrationUser(world.server);
    await connect(world, call, 'google', { purpose: 'scoped' });
    const plainApp = await registerClient(world.server, { scope: 'openid email' });
    const other = await createUser(world.server);
    const { tokens } = await authorize(world.server, plainApp, other, 'openid email');
    const noScope = await api(world.server, tokens.access_token).post('/integrations/google/token', {});
    expect(noScope.status).toBe(403);
    expect(noScope.body.error).toBe('insufficient_scope');
    expect((await api(world.server, tokens.access_token).get('/integrations')).status).toBe(200);
    const anonymous = await api(world.server).get('/integrations');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toContain('Bearer');
  });

  test('bad input is a 400 that changes nothing', async () => {
    const { call } = await integrationUser(world.server);
    for (const body of [{ purpose: 'Bad Purpose' }, { purpose: 'x', extra: 1 }, { scopes: [] }, { scopes: ['a b'] }]) {
      const response = await call.post('/integrations/google/authorize', body);
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('invalid_request');
    }
    expect((await call.post('/integrations/google/token', { force_refresh: 'yes' })).status).toBe(400);
    expect((await call.get('/integrations')).body.items).toEqual([]);
  });
});
