import { Redis } from 'ioredis';
import { createRateLimits } from '../../src/http/rate-limiters.js';
import { createLogger } from '../../src/logger.js';
import { createUser, PASSWORD, registerClient } from '../support/flow.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { describeWith, services } from '../support/services.js';
import { clientCredentials, freshIp, login, loginPageFor, lowLimits, machineClient, retryAfter } from './support.js';

/**
 * With Redis the counters are shared: two instances over the same Postgres schema and Redis key prefix (a scaled-
 * out deployment) see one lockout and one per-client budget.
 */
describeWith('redis', 'rate limits shared through Redis', () => {
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    // A long lockout: these tests never wait for its end.
    a = await startTestServer({ config: lowLimits(300) });
    const shared = { schema: a.context.config.database.schema };
    b = await startTestServer({ config: { ...lowLimits(300), database: shared, redis: { keyPrefix: a.context.config.redis.keyPrefix } } });
  });
  afterAll(async () => {
    await b?.destroy();
    await a?.destroy();
  });

  test('a login locked on instance A is locked on instance B', async () => {
    const user = await createUser(a);
    const rp = await registerClient(a);
    const ip = freshIp();
    const onA = await loginPageFor(a, rp.client_id);
    const statuses: number[] = [];
    for (const attempt of [1, 2, 3]) statuses.push((await login(onA, user.email, `wrong-${attempt}`, ip)).response!.status);
    expect(statuses).toEqual([401, 401, 429]);
    const onB = await loginPageFor(b, rp.client_id);
    const right = await login(onB, user.email, PASSWORD, ip);
    expect(right.response!.status).toBe(429);
    expect(retryAfter(right.response!.headers)).toBeGreaterThanOrEqual(1);
  });

  test('a client’s token budget is one budget across instances (each instance learns the block from its own count)', async () => {
    const client = await machineClient(a);
    const ip = freshIp();
    const statuses: number[] = [];
    for (const server of [a, b, a, b, a, b]) statuses.push((await clientCredentials(server, client, ip)).status);
    // Limit 3: the third count (on A) goes past it. B, which has not counted past it yet, serves one more and
    // learns it from that count; per-instance budgets would have served all six.
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
  });

  test('counters are Redis keys under the deployment’s prefix, with an expiry, and no login name in them', async () => {
    const redis = new Redis(services.redisUrl!);
    try {
      const keys = await redis.keys(`${a.context.config.redis.keyPrefix}rl:*`);
      expect(keys.some((key) => key.includes(':rl:login-account:'))).toBe(true);
      expect(keys.some((key) => key.includes(':rl:token-client:'))).toBe(true);
      expect(keys.every((key) => !key.includes('@'))).toBe(true);
      for (const key of keys) expect(await redis.pttl(key)).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
  });

  test('an unreachable Redis degrades to in-process counters instead of failing requests', async () => {
    // A real client that never connects: every command fails at once, as during an outage.
    const down = new Redis(services.redisUrl!, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    try {
      const limits = createRateLimits({ ...a.context.config.rateLimit, admin: { perClient: 2, windowSeconds: 60 } }, down, createLogger('error', { silent: true }));
      const results = [];
      for (let i = 0; i < 3; i += 1) results.push(await limits.adminPerClient!.hit('client-x'));
      expect(results.slice(0, 2)).toEqual([undefined, undefined]);
      expect(results[2]).toEqual({ retryAfterSeconds: expect.any(Number), limit: 2 });
      expect(await limits.loginPerAccount!.peek('anything')).toBeUndefined();
    } finally {
      down.disconnect();
    }
  });
});
