import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig, ConfigError } from '../../src/config.js';
import { createRateLimits } from '../../src/http/rate-limiters.js';
import { createLogger } from '../../src/logger.js';
import { findForm } from '../support/browser.js';
import { api } from '../support/api.js';
import { createUser, PASSWORD, registerClient } from '../support/flow.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { basic, clientCredentials, freshIp, login, loginPageFor, lowLimits, machineClient, post, retryAfter } from './support.js';

/**
 * Rate limits (DESIGN.md: "Login and token endpoints are rate limited (429 with Retry-After); repeated login
 * failures slow down or lock"), with low limits from lowLimits(). Counters live in Redis when REDIS_URL is set,
 * in memory otherwise; test/ratelimit/shared-redis.test.ts shows two instances sharing them.
 */
let server: TestServer;
let rp: { client_id: string };
beforeAll(async () => {
  server = await startTestServer({ config: lowLimits() });
  rp = await registerClient(server);
});
afterAll(async () => {
  await server?.destroy();
});

const LOCKED = 'Too many failed sign-in attempts';

async function loginFailures(reason: string) {
  await server.context.audit.flush();
  const rows = await server.context.queries.audit.list({ type: 'LoginFailure', limit: 1000 });
  return rows.filter((row) => row.details.reason === reason);
}

describe('login', () => {
  test('failures in a row lock that login name from that IP, even the right password, until the lockout ends', async () => {
    const user = await createUser(server);
    const ip = freshIp();
    const session = await loginPageFor(server, rp.client_id);
    // Counted by the name as typed, case aside.
    expect((await login(session, user.email.toUpperCase(), 'wrong-1', ip)).response!.status).toBe(401);
    expect((await login(session, user.email, 'wrong-2', ip)).response!.status).toBe(401);
    const third = await login(session, user.email, 'wrong-3', ip);
    expect(third.response!.status).toBe(429);
    expect(third.html).toContain(LOCKED);
    const seconds = retryAfter(third.response!.headers);
    expect(seconds).toBeGreaterThanOrEqual(1);
    expect(seconds).toBeLessThanOrEqual(4);
    expect(third.response!.headers.get('ratelimit-limit')).toBe('3');
    expect(third.response!.headers.get('ratelimit-remaining')).toBe('0');
    // Still the contract's login form: one email input, one password input, one submit.
    expect(findForm(third.html!, '/login').inputs.filter((i) => !i.startsWith('hidden:'))).toEqual(['email:email', 'password:password']);

    const right = await login(session, user.email, PASSWORD, ip);
    expect(right.response!.status).toBe(429);
    expect(right.html).toContain(LOCKED);
    expect(retryAfter(right.response!.headers)).toBeGreaterThanOrEqual(1);
    const locked = await loginFailures('locked');
    expect(locked.some((row) => row.details.login === user.email && row.details.scope === 'account' && row.ip === ip)).toBe(true);

    // The lock is per (name, IP): the same user elsewhere signs in (an attacker cannot lock a user out everywhere).
    const elsewhere = await loginPageFor(server, rp.client_id);
    expect((await login(elsewhere, user.email, PASSWORD, freshIp())).html).toContain('/confirm');

    await sleep(seconds * 1000 + 200);
    const after = await login(session, user.email, PASSWORD, ip);
    expect(after.html).toContain('/confirm');
  });

  test('an unknown login name locks the same way: a lock tells nothing about whether the account exists', async () => {
    const ip = freshIp();
    const session = await loginPageFor(server, rp.client_id);
    const statuses: number[] = [];
    let last;
    for (const attempt of [1, 2, 3]) {
      last = await login(session, 'nobody-here@example.com', `wrong-${attempt}`, ip);
      statuses.push(last.response!.status);
    }
    expect(statuses).toEqual([401, 401, 429]);
    expect(last!.html).toContain(LOCKED);
    expect(retryAfter(last!.response!.headers)).toBeGreaterThanOrEqual(1);
  });

  test('a success resets the count of failures in a row', async () => {
    const user = await createUser(server);
    const ip = freshIp();
    for (let round = 0; round < 2; round += 1) {
      const session = await loginPageFor(server, rp.client_id);
      expect((await login(session, user.email, 'wrong-a', ip)).response!.status).toBe(401);
      expect((await login(session, user.email, 'wrong-b', ip)).response!.status).toBe(401);
      expect((await login(session, user.email, PASSWORD, ip)).html).toContain('/confirm');
    }
  });

  test('failures from one IP over any login names lock the IP, for every account', async () => {
    const [b, c, d, e] = await Promise.all([createUser(server), createUser(server), createUser(server), createUser(server)]);
    const ip = freshIp();
    const session = await loginPageFor(server, rp.client_id);
    const statuses: number[] = [];
    for (const user of [b, b, c, c]) statuses.push((await login(session, user.email, 'wrong', ip)).response!.status);
    expect(statuses).toEqual([401, 401, 401, 401]);
    const fifth = await login(session, d.email, 'wrong', ip);
    expect(fifth.response!.status).toBe(429); // the IP's 5th failure
    const other = await login(session, e.email, PASSWORD, ip);
    expect(other.response!.status).toBe(429);
    expect(other.html).toContain(LOCKED);
    expect(retryAfter(other.response!.headers)).toBeGreaterThan(3000); // the IP window is an hour here
    expect((await loginFailures('locked')).some((row) => row.details.scope === 'ip' && row.ip === ip)).toBe(true);
    // Another IP is not affected.
    const elsewhere = await loginPageFor(server, rp.client_id);
    expect((await login(elsewhere, e.email, PASSWORD, freshIp())).html).toContain('/confirm');
  });
});

describe('token endpoint', () => {
  test('per client: over the limit a 429 with an OAuth-style JSON body; other clients are not affected', async () => {
    const ip = freshIp();
    const [a, b] = [await machineClient(server), await machineClient(server)];
    for (let i = 0; i < 3; i += 1) expect((await clientCredentials(server, a, ip)).status).toBe(200);
    const over = await clientCredentials(server, a, ip);
    expect(over.status).toBe(429);
    expect(over.body).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
    expect(over.headers.get('cache-control')).toBe('no-store');
    const seconds = retryAfter(over.headers);
    expect(seconds).toBeGreaterThanOrEqual(1);
    expect(seconds).toBeLessThanOrEqual(60);
    // Introspection and revocation share the client's budget. A browser caller can read the refusal (CORS).
    const introspection = await post(server, '/token/introspection', { token: 'whatever' }, ip, { authorization: basic(a.client_id, a.client_secret), origin: 'https://spa.example.com' });
    expect(introspection.status).toBe(429);
    expect(introspection.headers.get('access-control-allow-origin')).toBe('https://spa.example.com');
    expect(introspection.headers.get('access-control-expose-headers')).toContain('Retry-After');
    expect(over.headers.get('access-control-allow-origin')).toBeNull(); // no Origin, no CORS headers
    // Another client, from the same IP, is served.
    expect((await clientCredentials(server, b, ip)).status).toBe(200);
  });

  test('a client authenticating in the form body is counted by its client_id, and its body still reaches the provider', async () => {
    const ip = freshIp();
    const client = await machineClient(server, 'openid', true);
    for (let i = 0; i < 3; i += 1) {
      const ok = await clientCredentials(server, client, ip, true);
      expect(ok.status).toBe(200);
      expect(ok.body.access_token).toEqual(expect.any(String));
    }
    const over = await clientCredentials(server, client, ip, true);
    expect(over.status).toBe(429);
    expect(over.body.error).toBe('temporarily_unavailable');
  });

  test('a wrong secret does not spend the client’s budget; failed client authentications lock the IP instead', async () => {
    const victim = await machineClient(server);
    const attacker = freshIp();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await clientCredentials(server, { ...victim, client_secret: 'guess' }, attacker)).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    // The attacker's IP now waits even with the right secret …
    const blocked = await clientCredentials(server, victim, attacker);
    expect(blocked.status).toBe(429);
    expect(retryAfter(blocked.headers)).toBeGreaterThanOrEqual(1);
    // … while the client, elsewhere, still has its whole budget.
    const home = freshIp();
    for (let i = 0; i < 3; i += 1) expect((await clientCredentials(server, victim, home)).status).toBe(200);
  });
});

describe('admin API', () => {
  test('per admin client, whatever the token: over the limit a 429 with Retry-After; another admin client is served', async () => {
    const ip = freshIp();
    const adminA = await machineClient(server, 'admin');
    const adminB = await machineClient(server, 'admin');
    const tokenOf = async (client: { client_id: string; client_secret: string }) =>
      (await post(server, '/token', { grant_type: 'client_credentials', scope: 'admin' }, ip, { authorization: basic(client.client_id, client.client_secret) })).body.access_token as string;
    const first = api(server, await tokenOf(adminA));
    for (let i = 0; i < 4; i += 1) expect((await first.get('/admin/clients')).status).toBe(200);
    const over = await first.get('/admin/clients');
    expect(over.status).toBe(429);
    expect(over.body).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
    expect(retryAfter(over.headers)).toBeGreaterThanOrEqual(1);
    expect(over.headers.get('ratelimit-limit')).toBe('4');
    // A new token of the same client shares the budget.
    expect((await api(server, await tokenOf(adminA)).get('/admin/users')).status).toBe(429);
    expect((await api(server, await tokenOf(adminB)).get('/admin/clients')).status).toBe(200);
  });
});

describe('bad input never makes a 500', () => {
  test('malformed client credentials and bodies at the token endpoint get 4xx JSON', async () => {
    const ip = freshIp();
    const form = { grant_type: 'client_credentials' };
    const cases = [
      () => post(server, '/token', form, ip, { authorization: 'Basic !!!' }),
      () => post(server, '/token', form, ip, { authorization: `Basic ${Buffer.from('no-colon').toString('base64')}` }),
      () => post(server, '/token', form, ip, { authorization: `Basic ${Buffer.from(':secret').toString('base64')}` }),
      () => post(server, '/token', form, ip, { authorization: `Basic ${Buffer.from('%ZZ:secret').toString('base64')}` }),
      () => post(server, '/token', { ...form, client_id: 'x'.repeat(20_000), client_secret: 'y' }, ip),
      () => post(server, '/token', { ...form, client_id: '' }, ip),
      () => post(server, '/token/revocation', { token: 'x', client_id: '\u{1F600}\u00e9' }, ip),
      // U+0000 cannot be stored in Postgres text: "no such client", not a refused query read as an outage (503).
      () => post(server, '/token/revocation', { token: 'x', client_id: 'a\u0000b' }, ip),
      () => post(server, '/token', { ...form, client_id: '\u0000', client_secret: 'y' }, ip),
      () => post(server, '/token/introspection', { token: 'a\u0000b' }, ip, { authorization: `Basic ${Buffer.from('\u0000:x').toString('base64')}` }),
      () => fetch(`${server.url}/token`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': ip }, body: '{"client_id":' }).then(async (r) => ({ status: r.status, body: await r.json() })),
      () => fetch(`${server.url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip }, body: '%%%&&&=client_id=%E0%A4%A' }).then(async (r) => ({ status: r.status, body: await r.json() })),
    ];
    for (const call of cases) {
      const response = await call();
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      expect(response.body).toEqual(expect.objectContaining({ error: expect.any(String) }));
    }
  });

  test('odd login names and forwarded addresses at the login form get 4xx, never a 500', async () => {
    const session = await loginPageFor(server, rp.client_id);
    for (const [email, ip] of [
      ['\u0000', freshIp()],
      ['é@例え.jp', 'not-an-ip'],
      ['a'.repeat(321), freshIp()],
      ['x@example.com', ''],
    ] as const) {
      const answer = await session.browser.submit(session.page, '/login', { email, password: 'nope' }, 'https://rp.example.com/callback', { 'x-forwarded-for': ip });
      expect(answer.response!.status).toBeGreaterThanOrEqual(400);
      expect(answer.response!.status).toBeLessThan(500);
    }
  });
});

describe('configuration', () => {
  test('every limit has an environment variable; 0 turns one off, RATE_LIMIT_ENABLED=false all', () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      RATE_LIMIT_LOGIN_MAX_FAILURES: '5',
      RATE_LIMIT_LOGIN_LOCKOUT_SECONDS: '60',
      RATE_LIMIT_LOGIN_IP_MAX_FAILURES: '0',
      RATE_LIMIT_LOGIN_IP_WINDOW_SECONDS: '600',
      RATE_LIMIT_TOKEN_PER_CLIENT: '5000',
      RATE_LIMIT_TOKEN_WINDOW_SECONDS: '10',
      RATE_LIMIT_TOKEN_IP_MAX_FAILURES: '50',
      RATE_LIMIT_TOKEN_IP_WINDOW_SECONDS: '30',
      RATE_LIMIT_ADMIN_PER_CLIENT: '100',
      RATE_LIMIT_ADMIN_WINDOW_SECONDS: '1',
    });
    expect(config.rateLimit).toEqual({
      enabled: true,
      login: { maxFailures: 5, lockoutSeconds: 60, ipMaxFailures: 0, ipWindowSeconds: 600 },
      token: { perClient: 5000, windowSeconds: 10, ipMaxFailures: 50, ipWindowSeconds: 30 },
      admin: { perClient: 100, windowSeconds: 1 },
    });
    const logger = createLogger('error', { silent: true });
    const limits = createRateLimits(config.rateLimit, undefined, logger);
    expect(limits.loginPerIp).toBeUndefined();
    expect(limits.loginPerAccount).toBeDefined();
    expect(createRateLimits(loadConfig({ NODE_ENV: 'test', RATE_LIMIT_ENABLED: 'false' }).rateLimit, undefined, logger)).toEqual({});
  });

  test('the defaults leave room for a busy voice platform; a bad value names its variable', () => {
    const { rateLimit } = loadConfig({ NODE_ENV: 'test' });
    expect(rateLimit.enabled).toBe(true);
    expect(rateLimit.token.perClient / rateLimit.token.windowSeconds).toBeGreaterThanOrEqual(500);
    expect(() => loadConfig({ NODE_ENV: 'test', RATE_LIMIT_TOKEN_PER_CLIENT: 'lots' })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: 'test', RATE_LIMIT_LOGIN_LOCKOUT_SECONDS: '0' })).toThrow(/RATE_LIMIT_LOGIN_LOCKOUT_SECONDS/);
  });
});
