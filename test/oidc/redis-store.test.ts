import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { redisArtifactStore } from '../../src/oidc/adapter/redis-store.js';
import { describeWith, services } from '../support/services.js';

describeWith('redis', 'Redis artifact store', () => {
  let redis: Redis;
  const prefix = `test:${randomBytes(4).toString('hex')}:`;
  beforeAll(() => {
    redis = new Redis(services.redisUrl!, { keyPrefix: prefix });
  });
  afterAll(async () => {
    const raw = new Redis(services.redisUrl!);
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length) await raw.del(...keys);
    raw.disconnect();
    redis.disconnect();
  });

  test('the grant index lives as long as its longest member and revocation removes only that model', async () => {
    const store = redisArtifactStore(redis, Date.now);
    await store.upsert('AccessToken', 'a1', { x: 1 }, 100, { grantId: 'g1' });
    expect(await redis.ttl('oidc:grant:g1')).toBeGreaterThan(90);
    await store.upsert('AccessToken', 'a2', { x: 1 }, 500, { grantId: 'g1' });
    expect(await redis.ttl('oidc:grant:g1')).toBeGreaterThan(490);
    await store.upsert('AuthorizationCode', 'c1', { x: 1 }, 60, { grantId: 'g1' });
    expect(await redis.ttl('oidc:grant:g1')).toBeGreaterThan(490); // never shortened
    expect(await redis.ttl('oidc:AuthorizationCode:c1')).toBeGreaterThan(50);

    await store.revokeByGrantId('AccessToken', 'g1');
    expect(await store.find('AccessToken', 'a1')).toBeUndefined();
    expect(await store.find('AccessToken', 'a2')).toBeUndefined();
    expect(await store.find('AuthorizationCode', 'c1')).toEqual({ payload: { x: 1 } });
    expect(await redis.smembers('oidc:grant:g1')).toEqual(['oidc:AuthorizationCode:c1']);
  });

  test('consume is atomic: of 20 concurrent consumers exactly one wins; the grace window lets recent ones through', async () => {
    const store = redisArtifactStore(redis, Date.now);
    await store.upsert('AuthorizationCode', 'c2', { x: 1 }, 60, {});
    const results = await Promise.all(Array.from({ length: 20 }, () => store.consume('AuthorizationCode', 'c2')));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await store.find('AuthorizationCode', 'c2'))?.consumedAt).toEqual(expect.any(Number));
    expect(await store.consume('AuthorizationCode', 'c2', Date.now() - 10_000)).toBe(true);
    expect(await store.consume('AuthorizationCode', 'c2', Date.now() + 10_000)).toBe(false);
    expect(await store.consume('AuthorizationCode', 'missing')).toBe(false);
  });
});
