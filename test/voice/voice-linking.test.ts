import { jest } from '@jest/globals';
import { startTestServer, type TestServer } from '../support/server.js';
import { adminToken, api, registerIntrospector } from '../support/api.js';
import { createUser, introspect } from '../support/flow.js';
import { linkAccount, platformTokenRequest, refresh, type VoiceClient } from './platforms.js';

let server: TestServer;
let admin: ReturnType<typeof api>;
let introspector: { client_id: string; client_secret?: string };
const clients: Record<'alexa' | 'google', VoiceClient> = {} as never;

beforeAll(async () => {
  server = await startTestServer();
  admin = api(server, await adminToken(server));
  introspector = await registerIntrospector(server);
  const alexa = await admin.post('/admin/clients', { profile: 'alexa', alexa_vendor_id: 'M2EXAMPLE1234' });
  const google = await admin.post('/admin/clients', { profile: 'google', google_project_id: 'smart-home-4711' });
  expect([alexa.status, google.status]).toEqual([201, 201]);
  clients.alexa = alexa.body;
  clients.google = google.body;
});
afterAll(async () => server.destroy());

describe('client profiles', () => {
  test('alexa and google profiles fill in the platform redirect URIs and token rules', async () => {
    expect(clients.alexa.redirect_uris).toEqual([
      'https://pitangui.amazon.com/api/skill/link/M2EXAMPLE1234',
      'https://layla.amazon.com/api/skill/link/M2EXAMPLE1234',
      'https://alexa.amazon.co.jp/api/skill/link/M2EXAMPLE1234',
    ]);
    expect(clients.google.redirect_uris).toEqual([
      'https://oauth-redirect.googleusercontent.com/r/smart-home-4711',
      'https://oauth-redirect-sandbox.googleusercontent.com/r/smart-home-4711',
    ]);
    expect(clients.alexa).toMatchObject({ grant_types: ['authorization_code', 'refresh_token'], require_pkce: false, token_endpoint_auth_method: 'client_secret_basic' });
    expect(clients.google).toMatchObject({
      grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:jwt-bearer'],
      require_pkce: false,
      token_endpoint_auth_method: 'client_secret_post',
    });
  });

  test('a profile without its platform id, or with a bad one, is a 400 that creates nothing', async () => {
    for (const body of [{ profile: 'alexa' }, { profile: 'google', google_project_id: 'Bad Id' }, { profile: 'siri' }, { profile: 'alexa', alexa_vendor_id: 'lower' }]) {
      const response = await admin.post('/admin/clients', body);
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('invalid_client_metadata');
    }
    expect((await admin.patch(`/admin/clients/${clients.alexa.client_id}`, { profile: 'google' })).status).toBe(400);
  });

  test('a voice client is only the platform\'s linking client: other grant types, response types or no secret are a 400 that changes nothing', async () => {
    const before = (await admin.get('/admin/clients?limit=100')).body.items.length;
    const contradictions = [
      { profile: 'alexa', alexa_vendor_id: 'M2CONTRA01', grant_types: ['client_credentials'], scope: 'admin' },
      { profile: 'alexa', alexa_vendor_id: 'M2CONTRA02', grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:jwt-bearer'] },
      { profile: 'google', google_project_id: 'contra-4711', response_types: ['code', 'code id_token'] },
      { profile: 'google', google_project_id: 'contra-4712', token_endpoint_auth_method: 'none' },
    ];
    for (const body of contradictions) {
      const response = await admin.post('/admin/clients', body);
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('invalid_client_metadata');
      expect(response.body.error_description).toMatch(/^(an Alexa|a Google) client /);
    }
    expect((await admin.get('/admin/clients?limit=100')).body.items).toHaveLength(before);

    const patched = await admin.patch(`/admin/clients/${clients.alexa.client_id}`, { grant_types: ['authorization_code', 'refresh_token', 'client_credentials'] });
    expect(patched.status).toBe(400);
    expect(patched.body.error_description).toBe('an Alexa client uses only the grant types authorization_code, refresh_token, not client_credentials');
    expect((await admin.get(`/admin/clients/${clients.alexa.client_id}`)).body.grant_types).toEqual(['authorization_code', 'refresh_token']);
  });
});

describe.each(['alexa', 'google'] as const)('%s account linking', (platform) => {
  test('link without prompt=consent gets a refresh token; many refreshes each return new tokens', async () => {
    const client = clients[platform];
    const linked = await linkAccount(server, platform, client, await createUser(server));
    expect(linked.status).toBe(200);
    expect(linked.body).toMatchObject({ token_type: 'Bearer', expires_in: 900, access_token: expect.any(String), refresh_token: expect.any(String) });
    // Opaque access tokens (introspectable, revocable), not JWTs.
    expect(linked.body.access_token.split('.')).toHaveLength(1);

    let current = linked.body;
    const seen = new Set([current.access_token, current.refresh_token]);
    for (let i = 0; i < 5; i += 1) {
      const next = await refresh(server, platform, client, current.refresh_token);
      expect(next.status).toBe(200);
      expect(next.body.expires_in).toBe(900);
      expect(seen.has(next.body.access_token) || seen.has(next.body.refresh_token)).toBe(false);
      seen.add(next.body.access_token).add(next.body.refresh_token);
      current = next.body;
    }
    expect((await introspect(server, introspector, current.access_token)).active).toBe(true);
  });

  test('duplicate refreshes in parallel and within the grace window all answer, and the link survives', async () => {
    const client = clients[platform];
    const linked = await linkAccount(server, platform, client, await createUser(server));
    const answers = await Promise.all(Array.from({ length: 5 }, () => refresh(server, platform, client, linked.body.refresh_token)));
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body.access_token).toEqual(expect.any(String));
    }
    // A retry of the same (already rotated) token a moment later, as a platform does after a timeout.
    const retry = await refresh(server, platform, client, linked.body.refresh_token);
    expect(retry.status).toBe(200);
    // The link is intact: the newest token refreshes again.
    const after = await refresh(server, platform, client, retry.body.refresh_token);
    expect(after.status).toBe(200);
    expect((await introspect(server, introspector, after.body.access_token)).active).toBe(true);
  });

  test('unknown, revoked and garbage refresh tokens are HTTP 400 invalid_grant', async () => {
    const client = clients[platform];
    const unknown = await refresh(server, platform, client, 'not-a-refresh-token');
    expect(unknown).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });

    const linked = await linkAccount(server, platform, client, await createUser(server));
    // Google unlinks through RFC 7009 with body credentials; Alexa users unlink from our side (account API).
    const revoked = await platformTokenRequest(server, platform, client, { token: linked.body.refresh_token, token_type_hint: 'refresh_token' }, '/token/revocation');
    expect(revoked.status).toBe(200);
    expect(await refresh(server, platform, client, linked.body.refresh_token)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(await introspect(server, introspector, linked.body.access_token)).toEqual({ active: false });
  });
});

test('unlinking from our side (DELETE /account/grants/:id) kills the voice link at once', async () => {
  const user = await createUser(server);
  const linked = await linkAccount(server, 'alexa', clients.alexa, user);
  const accountApp = await server.context.clients.register({ client_name: 'Account', redirect_uris: ['https://rp.example.com/callback'], grant_types: ['authorization_code'], scope: 'openid account' });
  const { authorize } = await import('../support/flow.js');
  const { tokens } = await authorize(server, accountApp, user, 'openid account');
  const account = api(server, tokens.access_token);
  const grant = (await account.get('/account/grants')).body.items.find((g: { client_id: string }) => g.client_id === clients.alexa.client_id);
  expect((await account.delete(`/account/grants/${grant.grant_id}`)).status).toBe(204);
  expect(await refresh(server, 'alexa', clients.alexa, linked.body.refresh_token)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  expect(await introspect(server, introspector, linked.body.access_token)).toEqual({ active: false });
  await server.context.audit.flush();
  const events = (await admin.get(`/admin/audit?type=OAuthGrantRevoke&client_id=${clients.alexa.client_id}`)).body.items;
  expect(events.some((e: { details: { grant_id?: string } }) => e.details.grant_id === grant.grant_id)).toBe(true);
});

describe('lifetimes', () => {
  afterEach(() => jest.useRealTimers());

  test('a voice link still refreshes long after an ordinary refresh token has expired', async () => {
    const ordinary = await admin.post('/admin/clients', { client_name: 'Ordinary', redirect_uris: ['https://rp.example.com/callback'], grant_types: ['authorization_code', 'refresh_token'], token_endpoint_auth_method: 'client_secret_post', require_pkce: false });
    const ordinaryClient = { ...ordinary.body } as VoiceClient;
    const user = await createUser(server);
    const voice = await linkAccount(server, 'google', clients.google, user);
    const plain = await linkAccount(server, 'google', ordinaryClient, user);
    expect([voice.status, plain.status]).toEqual([200, 200]);

    // Move only Date (the adapter's clock and oidc-provider's expiry checks) 60 days ahead: past the 7-day
    // REFRESH_TOKEN_TTL and oidc-provider's 14-day defaults. Timers stay real (pg and ioredis need them).
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'queueMicrotask', 'hrtime', 'performance'] });
    jest.setSystemTime(Date.now() + 60 * 86_400_000);

    const voiceRefresh = await refresh(server, 'google', clients.google, voice.body.refresh_token);
    expect(voiceRefresh.status).toBe(200);
    const plainRefresh = await refresh(server, 'google', ordinaryClient, plain.body.refresh_token);
    expect(plainRefresh).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });
});
