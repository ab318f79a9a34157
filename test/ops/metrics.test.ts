import { loadConfig } from '../../src/config.js';
import { WEBHOOK_DELIVERY_QUEUE } from '../../src/webhooks/dispatcher.js';
import { connect, integrationUser, startConsumerWorld, type ConsumerWorld } from '../integrations/setup.js';
import { adminToken, api, registerAdminClient, registerIntrospector } from '../support/api.js';
import { authorize, createUser, introspect, postForm, registerClient } from '../support/flow.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { services } from '../support/services.js';

/**
 * GET /metrics (Prometheus text exposition), /readyz and METRICS_TOKEN, against real servers: real token requests
 * move the counters and the latency histogram by exactly what was done, labels are route templates, each app
 * instance keeps its own registry.
 */

type Samples = Map<string, number>;

/** `name{a="1",b="2"} value` lines → map keyed by name and sorted labels. */
function parse(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not an exposition line: ${line}`);
    const labels = [...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => `${k}=${v}`).sort();
    samples.set(`${match[1]}{${labels.join(',')}}`, Number(match[3]));
  }
  return samples;
}

const key = (name: string, labels: Record<string, string> = {}) =>
  `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join(',')}}`;

async function scrape(server: TestServer, token?: string): Promise<{ text: string; samples: Samples }> {
  const response = await fetch(`${server.url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  return { text, samples: parse(text) };
}

/** The change of each listed sample between two scrapes (absent counts as 0). */
const delta = (before: Samples, after: Samples, sample: string) => (after.get(sample) ?? 0) - (before.get(sample) ?? 0);

const tokenCount = (status = '2xx') => key('http_request_duration_seconds_count', { method: 'POST', route: 'token', status_class: status });

let world: ConsumerWorld;
let server: TestServer;
const METRICS_TOKEN = 'metrics-scrape-token-0123456789';
let guarded: TestServer;

beforeAll(async () => {
  world = await startConsumerWorld();
  server = world.server;
  guarded = await startTestServer({ config: { metrics: { token: METRICS_TOKEN } } });
}, 60_000);
afterAll(async () => {
  await world?.close();
  await guarded?.destroy();
});

describe('GET /metrics', () => {
  test('token counters and the latency histogram move by exactly the requests made', async () => {
    const admin = await registerAdminClient(server);
    const client = await registerClient(server, { scope: 'openid offline_access' });
    const user = await createUser(server);
    const { samples: before } = await scrape(server);

    // client_credentials twice, then a code flow with a refresh token, a refresh, an introspection and revocations.
    const cc1 = await postForm(server, '/token', { grant_type: 'client_credentials', scope: 'admin' }, admin);
    const cc2 = await postForm(server, '/token', { grant_type: 'client_credentials', scope: 'admin' }, admin);
    expect([cc1.status, cc2.status]).toEqual([200, 200]);
    const { tokens } = await authorize(server, client, user, 'openid offline_access');
    expect(tokens.refresh_token).toEqual(expect.any(String));
    const refreshed = await postForm(server, '/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, client);
    expect(refreshed.status).toBe(200);
    const rotated = refreshed.body.refresh_token !== tokens.refresh_token;
    const bad = await postForm(server, '/token', { grant_type: 'refresh_token', refresh_token: 'not-a-refresh-token' }, client);
    expect(bad.status).toBe(400);
    expect((await introspect(server, await registerIntrospector(server), refreshed.body.access_token)).active).toBe(true);
    expect((await postForm(server, '/token/revocation', { token: cc1.body.access_token }, admin)).status).toBe(200);
    expect((await postForm(server, '/token/revocation', { token: refreshed.body.refresh_token, token_type_hint: 'refresh_token' }, client)).status).toBe(200);

    const { samples: after } = await scrape(server);
    const issued = (type: string) => delta(before, after, key('oauth_tokens_issued_total', { type }));
    const revoked = (type: string) => delta(before, after, key('oauth_tokens_revoked_total', { type }));
    expect(issued('client_credentials')).toBe(2);
    expect(issued('access_token')).toBe(2); // code exchange + refresh
    expect(issued('refresh_token')).toBe(rotated ? 2 : 1);
    expect(delta(before, after, key('oauth_tokens_refreshed_total'))).toBe(1);
    expect(revoked('client_credentials')).toBe(1);
    expect(revoked('refresh_token')).toBe(1);
    // Revoking a refresh token revokes its grant (oidc-provider's default revokeGrantPolicy).
    expect(revoked('grant')).toBe(1);

    expect(delta(before, after, tokenCount('2xx'))).toBe(4);
    expect(delta(before, after, tokenCount('4xx'))).toBe(1);
    const introspections = key('http_request_duration_seconds_count', { method: 'POST', route: 'introspection', status_class: '2xx' });
    expect(delta(before, after, introspections)).toBe(1);
    expect(delta(before, after, key('http_request_duration_seconds_count', { method: 'POST', route: 'revocation', status_class: '2xx' }))).toBe(2);
    // The histogram's buckets and sum for the same series.
    expect(delta(before, after, key('http_request_duration_seconds_bucket', { method: 'POST', route: 'token', status_class: '2xx', le: '+Inf' }))).toBe(4);
    expect(delta(before, after, key('http_request_duration_seconds_sum', { method: 'POST', route: 'token', status_class: '2xx' }))).toBeGreaterThan(0);
    expect(after.get(key('http_request_duration_seconds_count', { method: 'GET', route: 'discovery', status_class: '2xx' }))).toBeGreaterThan(0);
  });

  test('route labels are templates or provider route names, never raw paths', async () => {
    const token = await adminToken(server);
    const client = await registerClient(server);
    expect((await api(server, token).get(`/admin/clients/${client.client_id}`)).status).toBe(200);
    expect((await api(server).get(`/admin/clients/${client.client_id}`)).status).toBe(401); // answered by the router's bearer middleware
    expect((await fetch(`${server.url}/no/such-path-7f3a`)).status).toBe(404);
    expect((await fetch(`${server.url}/admin/no-such-admin-path-7f3a`)).status).toBe(404);
    expect((await fetch(`${server.url}/.well-known/oauth-authorization-server`)).status).toBe(200);

    const { text, samples } = await scrape(server);
    expect(samples.get(key('http_request_duration_seconds_count', { method: 'GET', route: '/admin/clients/:id', status_class: '2xx' }))).toBeGreaterThanOrEqual(1);
    expect(samples.get(key('http_request_duration_seconds_count', { method: 'GET', route: '/admin/clients/:id', status_class: '4xx' }))).toBeGreaterThanOrEqual(1);
    expect(samples.get(key('http_request_duration_seconds_count', { method: 'GET', route: 'other', status_class: '4xx' }))).toBeGreaterThanOrEqual(2);
    expect(text).not.toContain(client.client_id);
    expect(text).not.toContain('7f3a');
    const routes = new Set([...text.matchAll(/route="([^"]*)"/g)].map(([, route]) => route));
    for (const route of routes) expect(route).toMatch(/^(other|[a-z_]+|\/[A-Za-z0-9_/:.-]*)$/);
    expect([...routes]).toEqual(expect.arrayContaining(['token', 'authorization', 'discovery', '/interaction/:uid', '/admin/clients/:id', '/metrics']));
  });

  test('integration refreshes by provider and outcome', async () => {
    const user = await integrationUser(server);
    const linked = await connect(world, user.call, 'google', { purpose: 'metrics' });
    expect(linked.status).toBe(200);
    const { samples: before } = await scrape(server);
    const refresh = (body: Record<string, unknown>) => user.call.post('/integrations/google/token', { purpose: 'metrics', force_refresh: true, ...body });

    expect((await refresh({})).status).toBe(200);
    expect((await refresh({})).status).toBe(200);
    // Scopes the user never granted: the provider refuses this refresh; the link itself stays active.
    expect((await refresh({ scopes: ['https://graph.microsoft.com/User.Read'] })).status).toBe(400);
    world.upstream.failRefreshes(true);
    try {
      expect((await refresh({})).body.error).toBe('needs_reauth');
    } finally {
      world.upstream.failRefreshes(false);
    }

    const { samples: after } = await scrape(server);
    const outcome = (name: string) => delta(before, after, key('integration_refresh_total', { provider: 'google', outcome: name }));
    expect([outcome('success'), outcome('failure'), outcome('needs_reauth')]).toEqual([2, 1, 1]);
  });

  test('job queue depth, read from the queue at scrape time', async () => {
    const depth = key('job_queue_depth', { queue: WEBHOOK_DELIVERY_QUEUE });
    const { samples: before } = await scrape(server);
    expect(before.get(depth)).toBe(0);
    // A delivery due in an hour waits in the queue (pg-boss with Postgres, in process on PGlite).
    await server.context.queue.send(WEBHOOK_DELIVERY_QUEUE, { deliveryId: '00000000-0000-4000-8000-000000000000' }, { startAfter: new Date(Date.now() + 3600_000) });
    const { samples: after } = await scrape(server);
    expect(after.get(depth)).toBe(1);
  });

  test('default process metrics, prefixed, and a registry per app instance', async () => {
    const { samples } = await scrape(server);
    expect(samples.get(key('oauth_hub_process_cpu_user_seconds_total'))).toBeGreaterThan(0);
    expect([...samples.keys()].some((name) => name.startsWith('oauth_hub_nodejs_eventloop_lag_seconds'))).toBe(true);
    // The other server in this process counted none of the tokens above.
    const { samples: other } = await scrape(guarded, METRICS_TOKEN);
    expect(other.get(key('oauth_tokens_issued_total', { type: 'client_credentials' }))).toBe(0);
    expect(samples.get(key('oauth_tokens_issued_total', { type: 'client_credentials' }))).toBeGreaterThan(0);
  });
});

describe('METRICS_TOKEN', () => {
  test('when set, a scrape needs it as a bearer token', async () => {
    const none = await fetch(`${guarded.url}/metrics`, { headers: { accept: 'application/json' } });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
    expect(await none.json()).toEqual({ error: 'invalid_token', error_description: expect.any(String) });
    for (const authorization of [`Bearer ${METRICS_TOKEN}x`, `Bearer ${METRICS_TOKEN.slice(0, -1)}`, `Basic ${Buffer.from(`x:${METRICS_TOKEN}`).toString('base64')}`]) {
      const wrong = await fetch(`${guarded.url}/metrics`, { headers: { authorization, accept: 'application/json' } });
      expect(wrong.status).toBe(401);
      expect(JSON.stringify(await wrong.json())).not.toContain(METRICS_TOKEN);
    }
    const { text } = await scrape(guarded, METRICS_TOKEN);
    expect(text).toContain('# TYPE oauth_tokens_issued_total counter');
    // Unset (the other server): open.
    expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
  });

  test('a weak value stops the start, naming the variable and not echoing it', () => {
    expect(() => loadConfig({ NODE_ENV: 'test', METRICS_TOKEN: 'short-secret' })).toThrow(/METRICS_TOKEN: at least 16 characters/);
    try {
      loadConfig({ NODE_ENV: 'test', METRICS_TOKEN: 'short-secret' });
    } catch (error) {
      expect((error as Error).message).not.toContain('short-secret');
    }
    expect(loadConfig({ NODE_ENV: 'test', METRICS_TOKEN: METRICS_TOKEN }).metrics.token).toBe(METRICS_TOKEN);
  });
});

describe('/healthz and /readyz', () => {
  test('ready: every configured backing service and the job queue answer', async () => {
    expect(await (await fetch(`${guarded.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const response = await fetch(`${guarded.url}/readyz`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual({ status: 'ready', checks: { postgres: 'ok', queue: 'ok', ...(services.redisUrl ? { redis: 'ok' } : {}) } });
  });

  // Last: it stops this server's queue.
  test('a stopped job queue: 503 naming the queue check, no detail', async () => {
    await guarded.context.queue.stop();
    const response = await fetch(`${guarded.url}/readyz`);
    expect(response.status).toBe(503);
    const body = await response.json();
    expect(body).toEqual({ status: 'unavailable', checks: { postgres: 'ok', queue: 'unavailable', ...(services.redisUrl ? { redis: 'ok' } : {}) } });
    expect(JSON.stringify(body)).not.toMatch(/stopped|Error|at /);
    // Liveness is about the process only.
    expect((await fetch(`${guarded.url}/healthz`)).status).toBe(200);
  });
});
