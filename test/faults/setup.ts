import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { api, clientCredentialsToken } from '../support/api.js';
import { buildApp, startAppProcess, type AppProcess } from '../support/app-process.js';
import { Browser, findForm } from '../support/browser.js';
import { authorize, PASSWORD, REDIRECT_URI } from '../support/flow.js';
import { startPrivatePostgres, startPrivateRedis, startPrivateRedisCluster, type PrivateService } from '../support/private-services.js';
import type { TestServer } from '../support/server.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

/** A real server process over a private Postgres and a private Redis that the test may stop, kill and restart. */
export interface FaultRig {
  postgres: PrivateService;
  redis: PrivateService;
  app: AppProcess;
  /** With `upstream: true`: a local OpenID provider standing in for Google (the consumer side's `google`). */
  upstream?: Upstream;
  destroy(): Promise<void>;
}

export interface FaultRigOptions {
  /** Extra environment for the server. */
  env?: Record<string, string>;
  upstream?: boolean;
  /** Redis as a private three-node Redis Cluster instead of one node. */
  redisCluster?: boolean;
}

export async function startFaultRig(options: FaultRigOptions = {}): Promise<FaultRig> {
  const build = buildApp();
  const started: Array<{ destroy(): Promise<void> } | { close(): Promise<void> }> = [];
  const stopAll = () => Promise.all(started.map((service) => ('destroy' in service ? service.destroy() : service.close())));
  try {
    const postgres = await startPrivatePostgres();
    started.push(postgres);
    const redis = options.redisCluster ? await startPrivateRedisCluster() : await startPrivateRedis();
    started.push(redis);
    const env = { ...options.env };
    let upstream: Upstream | undefined;
    if (options.upstream) {
      upstream = await startUpstream();
      started.push(upstream);
      env.PROVIDERS_FILE = providersFile(upstream);
    }
    const app = await startAppProcess(build, { databaseUrl: postgres.url, redisUrl: redis.url, env });
    started.unshift(app);
    upstream?.setRedirectUris([`${app.url}/integrations/google/callback`]);
    return {
      postgres,
      redis,
      app,
      upstream,
      async destroy() {
        // The server's own log, for a failing run (TEST_LOGS=1, as for the in-process test servers).
        if (process.env.TEST_LOGS === '1') process.stdout.write(app.output());
        await stopAll();
        if (env.PROVIDERS_FILE) rmSync(path.dirname(env.PROVIDERS_FILE), { recursive: true, force: true });
        build.remove();
      },
    };
  } catch (error) {
    await stopAll();
    build.remove();
    throw error;
  }
}

/** A PROVIDERS_FILE pointing the consumer side's `google` at the local upstream. */
function providersFile(upstream: Upstream): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'providers-')), 'providers.yaml');
  writeFileSync(file, `google:\n    issuer: ${upstream.issuer}\n    client_id: ${upstream.clientId}\n    client_secret: ${upstream.clientSecret}\n`);
  return file;
}

/** Links the user's Google (the upstream) through the real consumer flow; `token` carries `integrations:token`. */
export async function connectGoogle(rig: FaultRig, token: string): Promise<void> {
  const started = await api(remote(rig.app.url), token).post('/integrations/google/authorize', {});
  if (started.status !== 200) throw new Error(`authorize: ${started.status} ${JSON.stringify(started.body)}`);
  const callback = await rig.upstream!.completeLogin(started.body.authorization_url);
  const done = await fetch(callback, { redirect: 'manual', headers: { accept: 'application/json' } });
  if (done.status !== 200) throw new Error(`callback: ${done.status} ${await done.text()}`);
}

/** Token vending for the user's Google link: the status and the upstream access token. */
export async function vendGoogle(rig: FaultRig, token: string): Promise<{ status: number; accessToken?: string }> {
  const response = await api(remote(rig.app.url), token).post('/integrations/google/token', {});
  return { status: response.status, accessToken: response.body?.access_token };
}

/**
 * The flow helpers (test/support/flow.ts) only read a server's `url`: this lets them drive a server running in
 * another process, which has no in-process context to reach into.
 */
export const remote = (url: string): TestServer => ({ url }) as TestServer;

export interface Seeded {
  adminToken: string;
  client: { client_id: string; client_secret: string };
  user: { id: string; email: string };
}

/** An admin token (the bootstrap admin client), a confidential code + refresh client and a user, all over HTTP. */
export async function seedOverHttp(app: AppProcess): Promise<Seeded> {
  const adminToken = await clientCredentialsToken(remote(app.url), app.admin, 'admin');
  const admin = api(remote(app.url), adminToken);
  const client = await admin.post('/admin/clients', {
    client_name: 'Fault test app',
    redirect_uris: [REDIRECT_URI],
    grant_types: ['authorization_code', 'refresh_token'],
    scope: 'openid email offline_access account integrations:token',
  });
  if (client.status !== 201) throw new Error(`client: ${client.status} ${JSON.stringify(client.body)}`);
  const email = `fault-${randomBytes(4).toString('hex')}@example.com`;
  const user = await admin.post('/admin/users', { email, password: PASSWORD, name: 'Fault Test' });
  if (user.status !== 201) throw new Error(`user: ${user.status} ${JSON.stringify(user.body)}`);
  return { adminToken, client: client.body, user: { id: user.body.id, email } };
}

/** A login + consent + code exchange through the real pages; the tokens carry `account`, `integrations:token` and `offline_access`. */
export async function linkUser(app: AppProcess, seeded: Seeded) {
  const { tokens } = await authorize(remote(app.url), seeded.client, seeded.user, 'openid email offline_access account integrations:token');
  return tokens;
}

/** A 503 that says `temporarily_unavailable` in JSON, with nothing of the failure inside (no stack, no address). */
export function expectCleanUnavailable(response: { status: number; body: unknown }, label: string): void {
  const text = JSON.stringify(response.body);
  if (response.status !== 503) throw new Error(`${label}: expected 503, got ${response.status} ${text}`);
  expect(response.body).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
  expect(text).not.toMatch(/\bat \S+ \(|ECONNREFUSED|127\.0\.0\.1|knex|ioredis|\.js:\d+/i);
}

/** An authorization request (code + PKCE S256) for a client registered with REDIRECT_URI. */
export const authorizationPath = (clientId: string): string =>
  `/auth?${new URLSearchParams({ client_id: clientId, redirect_uri: REDIRECT_URI, response_type: 'code', scope: 'openid', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' })}`;

/** A 503 page for a browser: says `temporarily_unavailable`, shows nothing of the failure. */
export async function expectUnavailablePage(response: Response): Promise<void> {
  expect(response.status).toBe(503);
  expect(response.headers.get('content-type')).toContain('text/html');
  const html = await response.text();
  expect(html).toContain('temporarily_unavailable');
  expect(html).not.toMatch(/\bat \S+ \(|ECONNREFUSED|\.js:\d+/);
}

/** Submits the login form of `page` (a page the browser already shows) and returns the raw response. */
export async function submitLogin(browser: Browser, page: { url: string; html?: string }, user: { email: string }): Promise<Response> {
  const form = findForm(page.html!, '/login');
  return browser.request(new URL(form.action, page.url).href, {
    method: 'POST',
    body: new URLSearchParams({ ...form.hidden, email: user.email, password: PASSWORD }),
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: browser.origin },
  });
}

/** Polls until `check` passes (a service coming back), within `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
