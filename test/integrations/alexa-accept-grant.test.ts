import { api } from '../support/api.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { integrationService, integrationUser, startConsumerWorld, type ConsumerWorld } from './setup.js';
import { acceptGrantDirective as directive, lwaGrantCode as codeFromLwa, useAlexaRedirect } from './alexa.js';

let world: ConsumerWorld;
beforeAll(async () => {
  world = await startConsumerWorld({ upstream: { accessTokenTtl: 600, rotateRefreshTokens: true }, withAmazonLwa: true });
  useAlexaRedirect(world);
}, 90_000);
afterAll(async () => world?.close());

const lwaGrantCode = () => codeFromLwa(world);

const acceptGrant = (body: unknown, query = '') => api(world.server).post(`/integrations/amazon-lwa/accept-grant${query}`, body);

const expectAlexaError = (body: any, code: string) => {
  expect(body.error).toBe(code);
  expect(body.error_description).toEqual(expect.any(String));
  expect(body.event.header).toMatchObject({ namespace: 'Alexa.Authorization', name: 'ErrorResponse', payloadVersion: '3' });
  expect(body.event.payload).toEqual({ type: 'ACCEPT_GRANT_FAILED', message: body.error_description });
};

const connectionCount = async () => (await world.server.context.database.db('integration_connections').count({ n: '*' }))[0]!.n;

describe('Alexa AcceptGrant', () => {
  test('the grant code becomes the grantee user\'s amazon-lwa link, vended and refreshed like any other', async () => {
    const { user, token, call } = await integrationUser(world.server);
    const exchangesBefore = world.upstream.counts.token;

    const accepted = await acceptGrant(directive(await lwaGrantCode(), token));
    expect(accepted.status).toBe(200);
    expect(accepted.headers.get('cache-control')).toBe('no-store');
    // What the skill returns to Alexa, verbatim.
    expect(accepted.body.event.header).toMatchObject({ namespace: 'Alexa.Authorization', name: 'AcceptGrant.Response', payloadVersion: '3', messageId: expect.any(String) });
    expect(accepted.body.event.payload).toEqual({});
    expect(accepted.body.connection).toMatchObject({ provider: 'amazon-lwa', purpose: 'default', status: 'active', identity: { subject: 'upstream-user-1', email: 'alice@upstream.test' } });
    expect(JSON.stringify(accepted.body)).not.toMatch(/"(access|refresh)_token"/);
    // The code was exchanged once, without a redirect_uri, with the credentials in the body (LWA's style).
    expect(world.upstream.counts.token).toBe(exchangesBefore + 1);
    expect(world.upstream.lastTokenRequest).toMatchObject({ authorization: 'body' });

    // The user sees the link; the platform vends LWA's token for Alexa's event gateway.
    const status = await call.get('/integrations/amazon-lwa/status');
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ id: accepted.body.connection.id, status: 'active' });
    const vended = await call.post('/integrations/amazon-lwa/token', {});
    expect(vended.status).toBe(200);
    expect((await world.upstream.introspect(vended.body.access_token)).active).toBe(true);

    // Refreshed like the others: forced, through the upstream, with the rotated refresh token kept.
    const refreshes = world.upstream.counts.refresh;
    const refreshed = await call.post('/integrations/amazon-lwa/token', { force_refresh: true });
    expect(refreshed.status).toBe(200);
    expect(world.upstream.counts.refresh).toBe(refreshes + 1);
    expect(refreshed.body.access_token).not.toBe(vended.body.access_token);
    expect((await world.upstream.introspect(refreshed.body.access_token)).active).toBe(true);

    const audit = await world.server.context.queries.audit.list({ limit: 1000 });
    const connect = audit.find((event) => event.type === 'IntegrationConnect' && event.details.connection_id === accepted.body.connection.id);
    expect(connect).toMatchObject({ outcome: 'success', actor: `user:${user.id}`, details: { provider: 'amazon-lwa', via: 'alexa_accept_grant' } });
  });

  test('a relink replaces the tokens of the same link; the bare directive (without the envelope) is accepted too', async () => {
    const { token, call } = await integrationUser(world.server);
    const first = await acceptGrant(directive(await lwaGrantCode(), token));
    expect(first.status).toBe(200);
    const firstToken = (await call.post('/integrations/amazon-lwa/token', {})).body.access_token;

    const second = await acceptGrant(directive(await lwaGrantCode(), token).directive, '?purpose=event-gateway');
    expect(second.status).toBe(200);
    expect(second.body.connection).toMatchObject({ purpose: 'event-gateway', status: 'active' });
    const third = await acceptGrant(directive(await lwaGrantCode(), token));
    expect(third.status).toBe(200);
    expect(third.body.connection.id).toBe(first.body.connection.id);
    const newToken = (await call.post('/integrations/amazon-lwa/token', {})).body.access_token;
    expect(newToken).not.toBe(firstToken);
    expect((await call.get('/integrations?provider=amazon-lwa')).body.items).toHaveLength(2);
  });

  test('a grantee token that is not an active user token of this server: 400, the code is not exchanged, nothing stored', async () => {
    const { token } = await integrationUser(world.server);
    const service = await integrationService(world.server);
    const code = await lwaGrantCode();
    const [exchanges, rows] = [world.upstream.counts.token, await connectionCount()];

    for (const grantee of ['not-a-token-of-ours', `${token}x`, service.token]) {
      const refused = await acceptGrant(directive(code, grantee));
      expect(refused.status).toBe(400);
      expectAlexaError(refused.body, 'invalid_request');
      expect(refused.body.error_description).toMatch(/grantee/);
    }
    expect(world.upstream.counts.token).toBe(exchanges);
    expect(await connectionCount()).toBe(rows);
  });

  test('a code LWA refuses: 400 invalid_grant with the Alexa ErrorResponse, nothing stored, audited as a failure', async () => {
    const { user, token } = await integrationUser(world.server);
    const rows = await connectionCount();
    const refused = await acceptGrant(directive('this-code-was-never-issued', token));
    expect(refused.status).toBe(400);
    expectAlexaError(refused.body, 'invalid_grant');
    expect(await connectionCount()).toBe(rows);
    const audit = await world.server.context.queries.audit.list({ limit: 50 });
    expect(audit.find((event) => event.type === 'IntegrationConnect' && event.actor === `user:${user.id}`)).toMatchObject({ outcome: 'failure', details: { via: 'alexa_accept_grant', error: 'invalid_grant' } });
  });

  test('malformed directives: 400 invalid_request, never a 500, nothing stored', async () => {
    const { token } = await integrationUser(world.server);
    const rows = await connectionCount();
    const good = directive('some-code', token).directive;
    const bad: unknown[] = [
      {},
      { directive: { ...good, header: { ...good.header, namespace: 'Alexa.Discovery' } } },
      { directive: { ...good, header: { ...good.header, name: 'Discover' } } },
      { directive: { ...good, payload: { grantee: good.payload.grantee } } },
      { directive: { ...good, payload: { ...good.payload, grant: { type: 'OAuth2.Implicit', code: 'x' } } } },
      { directive: { ...good, payload: { ...good.payload, grantee: { type: 'BearerToken', token: '' } } } },
      [good],
      'not json at all',
    ];
    for (const body of bad) {
      const refused = await acceptGrant(body);
      expect(refused.status).toBe(400);
      expectAlexaError(refused.body, 'invalid_request');
    }
    const badPurpose = await acceptGrant(directive('some-code', token), '?purpose=Not%20Valid');
    expect(badPurpose.status).toBe(400);
    expect(await connectionCount()).toBe(rows);
  });
});

describe('Alexa AcceptGrant without Login with Amazon credentials', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  }, 60_000);
  afterAll(async () => server?.destroy());

  test('400 provider_not_configured, naming what is missing', async () => {
    const { token } = await integrationUser(server);
    const refused = await api(server).post('/integrations/amazon-lwa/accept-grant', directive('some-code', token));
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('provider_not_configured');
    expect(refused.body.error_description).toMatch(/AMAZON_CLIENT_ID/);
    expect(refused.body.event.payload.type).toBe('ACCEPT_GRANT_FAILED');
  });
});
