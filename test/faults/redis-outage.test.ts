import { Redis } from 'ioredis';
import { api, clientCredentialsToken } from '../support/api.js';
import { Browser } from '../support/browser.js';
import { introspect, loginAndConsent, postForm, REDIRECT_URI } from '../support/flow.js';
import { describeWith } from '../support/services.js';
import {
  authorizationPath,
  connectGoogle,
  eventually,
  expectCleanUnavailable,
  linkUser,
  remote,
  seedOverHttp,
  startFaultRig,
  submitLogin,
  vendGoogle,
  type FaultRig,
  type Seeded,
} from './setup.js';

/**
 * Redis holds only short-lived state (DESIGN.md): flushed or restarted under a running server (the real `main.js`),
 * no grant, refresh token, client or connection is lost, an interaction in progress ends with a clear page, and
 * the server carries on without a restart.
 */
describeWith(['initdb', 'redis-server'], 'Redis flushed and restarted', () => {
  let rig: FaultRig;
  let seeded: Seeded;

  beforeAll(async () => {
    rig = await startFaultRig({ upstream: true });
    seeded = await seedOverHttp(rig.app);
  }, 120_000); // a build, a private Postgres and Redis, the server process
  afterAll(async () => {
    await rig?.destroy();
  });

  test('FLUSHALL: refresh tokens, access tokens, grants, clients and linked accounts survive; a login in progress starts over cleanly', async () => {
    const server = remote(rig.app.url);
    const { client } = seeded;
    const tokens = await linkUser(rig.app, seeded);
    await connectGoogle(rig, tokens.access_token);
    const vended = await vendGoogle(rig, tokens.access_token); // now cached in Redis
    expect(vended.status).toBe(200);
    const browser = new Browser(rig.app.url);
    const loginPage = await browser.navigate(authorizationPath(client.client_id), REDIRECT_URI);
    expect(loginPage.html).toContain('type="password"');

    const redis = new Redis(rig.redis.url);
    try {
      await redis.flushall();
    } finally {
      redis.disconnect();
    }

    // Durable: the grant, its refresh token and the access token's Postgres copy.
    expect(await introspect(server, client, tokens.access_token)).toMatchObject({ active: true, sub: seeded.user.id });
    const refreshed = await postForm(server, '/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, client);
    expect(refreshed.status).toBe(200);
    const grants = await api(server, refreshed.body.access_token).get('/account/grants');
    expect(grants.body.items).toEqual([expect.objectContaining({ client_id: client.client_id })]);
    // The linked Google account: its row serves the same token.
    expect(await vendGoogle(rig, refreshed.body.access_token)).toEqual(vended);
    // client_credentials tokens have their Postgres copy too; the client itself is durable.
    expect((await api(server, seeded.adminToken).get(`/admin/clients/${client.client_id}`)).status).toBe(200);
    const adminToken = await clientCredentialsToken(server, rig.app.admin, 'admin');
    expect((await api(server, adminToken).get('/admin/users')).status).toBe(200);

    // The login page on screen lost its interaction: submitting it says so with a page, not a 500.
    const submitted = await submitLogin(browser, loginPage, seeded.user);
    expect(submitted.status).toBe(400);
    expect(submitted.headers.get('content-type')).toContain('text/html');
    expect(await submitted.text()).toMatch(/start (again|over)|expired/i);
    // Starting over from the app works.
    const callback = await loginAndConsent(new Browser(rig.app.url), `${rig.app.url}${authorizationPath(client.client_id)}`, seeded.user);
    expect(callback.searchParams.get('code')).toBeTruthy();
  }, 60_000);

  test('Redis down: /readyz says so, issued tokens keep working, new logins return temporarily_unavailable; back by itself after', () =>
    redisDownAndBack(rig, seeded), 60_000);
});

/**
 * The same outage with Redis as a Cluster (REDIS_URL a list of nodes): every node stops at once, then all come back
 * on their ports with their cluster config. ioredis' Cluster client must not hold requests while no node answers,
 * and must find the cluster again by itself.
 */
describeWith(['initdb', 'redis-server'], 'Redis Cluster down and back', () => {
  let rig: FaultRig;
  let seeded: Seeded;

  beforeAll(async () => {
    rig = await startFaultRig({ redisCluster: true, upstream: true });
    seeded = await seedOverHttp(rig.app);
  }, 120_000);
  afterAll(async () => {
    await rig?.destroy();
  });

  test('every node down: /readyz says so, issued tokens keep working, new logins return temporarily_unavailable; back by itself after', async () => {
    // The Google link is made while the cluster is up (it needs an interaction in Redis), then vended during the outage.
    const tokens = await linkUser(rig.app, seeded);
    await connectGoogle(rig, tokens.access_token);
    await redisDownAndBack(rig, seeded);
  }, 90_000);
});

/**
 * Answered before the 2 s Redis command timeout (src/db/redis.ts) could have run out: nothing waits on Redis. With the
 * nodes stopped every Redis command fails at once (no offline queue), so these answers take milliseconds.
 */
const QUICK_MS = 1900;

async function timed<T>(label: string, call: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await call();
  const ms = Math.round(performance.now() - started);
  expect({ label, ms, quick: ms < QUICK_MS }).toEqual({ label, ms, quick: true });
  return result;
}

/** Stops Redis (every node of it), checks what keeps working and what refuses cleanly, starts it again. */
async function redisDownAndBack(rig: FaultRig, seeded: Seeded): Promise<void> {
  const server = remote(rig.app.url);
  const { client } = seeded;
  const tokens = await linkUser(rig.app, seeded);
  await rig.redis.stop();

  const ready = await timed('readyz', () => fetch(`${rig.app.url}/readyz`));
  expect(ready.status).toBe(503);
  expect(await ready.json()).toMatchObject({ status: 'unavailable', checks: { postgres: 'ok', redis: 'unavailable' } });
  // Refresh tokens and the access tokens' copies live in Postgres: linked apps keep working.
  expect(await timed('introspection', () => introspect(server, client, tokens.access_token))).toMatchObject({ active: true });
  const refreshed = await timed('refresh', () => postForm(server, '/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, client));
  expect(refreshed.status).toBe(200);
  expect(await introspect(server, client, refreshed.body.access_token)).toMatchObject({ active: true, sub: seeded.user.id });
  expect((await api(server, refreshed.body.access_token).get('/account/grants')).status).toBe(200);
  expect((await timed('admin API', () => api(server, seeded.adminToken).get('/admin/users'))).status).toBe(200);
  // Token vending for the linked account (connected before) goes on from its row.
  expect((await timed('token vending', () => vendGoogle(rig, refreshed.body.access_token))).status).toBe(200);
  // An interaction needs Redis: a login starting now goes back to the app with RFC 6749's temporarily_unavailable.
  const page = await timed('authorization', () => new Browser(rig.app.url).navigate(authorizationPath(client.client_id), REDIRECT_URI));
  expect(Object.fromEntries(new URL(page.url).searchParams)).toMatchObject({ error: 'temporarily_unavailable', iss: rig.app.url });
  // Revocation must reach Redis too (else a stale copy would come back with it): refused, changes nothing.
  expectCleanUnavailable(await timed('revocation', () => postForm(server, '/token/revocation', { token: refreshed.body.access_token }, client)), 'revocation');
  expect(rig.app.running()).toBe(true);

  await rig.redis.start();
  await eventually(async () => expect((await fetch(`${rig.app.url}/readyz`)).status).toBe(200));
  expect(await introspect(server, client, refreshed.body.access_token)).toMatchObject({ active: true });
  const again = await postForm(server, '/token', { grant_type: 'refresh_token', refresh_token: refreshed.body.refresh_token }, client);
  expect(again.status).toBe(200);
  expect((await linkUser(rig.app, seeded)).refresh_token).toBeTruthy();
  // Revocation works again, in both stores.
  expect((await postForm(server, '/token/revocation', { token: again.body.access_token }, client)).status).toBe(200);
  expect(await introspect(server, client, again.body.access_token)).toEqual({ active: false });
  expect(rig.app.running()).toBe(true);
}
