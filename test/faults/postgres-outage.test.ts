import { USER_CACHE_TTL_MS } from '../../src/accounts/cache.js';
import { api } from '../support/api.js';
import { Browser } from '../support/browser.js';
import { introspect, postForm, REDIRECT_URI } from '../support/flow.js';
import { describeWith } from '../support/services.js';
import {
  authorizationPath,
  eventually,
  expectCleanUnavailable,
  expectUnavailablePage,
  linkUser,
  remote,
  seedOverHttp,
  startFaultRig,
  submitLogin,
  type FaultRig,
  type Seeded,
} from './setup.js';

/**
 * Postgres stops under a running server (the real `main.js` process): every path answers a clean 503 (JSON for
 * APIs, a page for browsers), the process stays up, and once Postgres is back everything works again without a
 * restart of the app.
 */
describeWith(['initdb', 'redis-server'], 'Postgres outage', () => {
  let rig: FaultRig;
  let seeded: Seeded;
  let tokens: Awaited<ReturnType<typeof linkUser>>;
  let otherClient: { client_id: string };

  beforeAll(async () => {
    // A configured consumer provider, for its callback (nothing is sent to Google: the state is unknown).
    rig = await startFaultRig({ env: { GOOGLE_CLIENT_ID: 'fault-test', GOOGLE_CLIENT_SECRET: 'fault-test' } });
    seeded = await seedOverHttp(rig.app);
    tokens = await linkUser(rig.app, seeded);
    const created = await api(remote(rig.app.url), seeded.adminToken).post('/admin/clients', { client_name: 'Other app', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'] });
    otherClient = created.body;
  }, 120_000); // a build, a private Postgres and Redis, the server process
  afterAll(async () => {
    await rig?.destroy();
  });

  test('Postgres stopped: /readyz, token, admin, account, integrations and login answer 503, access tokens still introspect; back by itself after', async () => {
    const server = remote(rig.app.url);
    const { client } = seeded;
    // A login page already on screen when Postgres goes (its interaction lives in Redis).
    const browser = new Browser(rig.app.url);
    const loginPage = await browser.navigate(authorizationPath(client.client_id), REDIRECT_URI);
    expect(loginPage.html).toContain('type="password"');
    await rig.postgres.stop();

    const ready = await fetch(`${rig.app.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'unavailable', checks: { postgres: 'unavailable', redis: 'ok' } });
    expect((await fetch(`${rig.app.url}/healthz`)).status).toBe(200); // the process itself is fine

    const refresh = await postForm(server, '/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, client);
    expectCleanUnavailable(refresh, 'refresh');
    expectCleanUnavailable(await postForm(server, '/token', { grant_type: 'client_credentials', scope: 'admin' }, rig.app.admin), 'client_credentials');
    // Introspecting an access token needs only its Redis copy, its grant's and the client (cached in process):
    // resource servers keep working. A refresh token lives in Postgres alone: a clean 503.
    const introspected = await postForm(server, '/token/introspection', { token: tokens.access_token }, client);
    expect(introspected).toMatchObject({ status: 200, body: { active: true, sub: seeded.user.id } });
    expectCleanUnavailable(await postForm(server, '/token/introspection', { token: tokens.refresh_token!, token_type_hint: 'refresh_token' }, client), 'refresh token introspection');
    // The admin token is valid (Redis still has it): the admin route's own query is what fails.
    expectCleanUnavailable(await api(server, seeded.adminToken).get('/admin/clients'), 'admin API');
    expectCleanUnavailable(await api(server, tokens.access_token).get('/account/grants'), 'account API');
    expectCleanUnavailable(await api(server, tokens.access_token).get('/integrations'), 'integrations API');
    // userinfo loads the account: for a few seconds after the sign-in from the in-process account cache
    // (src/accounts/cache.ts), then from Postgres: once that entry has expired, a clean 503.
    await new Promise((resolve) => setTimeout(resolve, USER_CACHE_TTL_MS));
    expectCleanUnavailable(await api(server, tokens.access_token).get('/me'), 'userinfo');

    // The consumer callback is authenticated by its state alone: its first step is a query.
    expectCleanUnavailable(await api(server).get('/integrations/google/callback?state=abc&code=def'), 'integrations callback');

    // Browsers get a page saying so, not a stack: starting a login (a client not looked up lately: one still in
    // the in-process client cache gets its redirect_uri back with error=temporarily_unavailable instead, as
    // RFC 6749 §4.1.2.1 has it), and submitting the login form already shown.
    await expectUnavailablePage(await new Browser(rig.app.url).request(authorizationPath(otherClient.client_id)));
    await expectUnavailablePage(await submitLogin(browser, loginPage, seeded.user));

    expect(rig.app.running()).toBe(true);
    await rig.postgres.start();

    // Back without restarting the app: the pool reconnects on its own.
    await eventually(async () => expect((await fetch(`${rig.app.url}/readyz`)).status).toBe(200));
    // The refresh refused during the outage changed nothing: the same refresh token works now.
    const refreshed = await eventually(async () => {
      const response = await postForm(server, '/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, client);
      expect(response.status).toBe(200);
      return response.body;
    });
    expect(await introspect(server, client, refreshed.access_token)).toMatchObject({ active: true, sub: seeded.user.id });
    expect((await api(server, seeded.adminToken).get('/admin/clients')).status).toBe(200);
    const grants = await api(server, refreshed.access_token).get('/account/grants');
    expect(grants.status).toBe(200);
    expect(grants.body.items).toEqual([expect.objectContaining({ client_id: client.client_id })]);
    // A new login end to end.
    expect((await linkUser(rig.app, seeded)).refresh_token).toBeTruthy();
    expect(rig.app.running()).toBe(true);
  }, 60_000);
});
