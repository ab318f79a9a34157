import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { sha256 } from '../../src/crypto/secrets.js';
import { redisReplayGuard } from '../../src/integrations/risc/index.js';
import { tokenCache } from '../../src/integrations/token-cache.js';
import { createUser, postForm, registerClient, authorize, introspect } from '../support/flow.js';
import { describeWith, services } from '../support/services.js';
import { crossingFlow, startPair, type Pair } from './two-instances.js';

/**
 * REDIS_URL as a comma list of nodes: ioredis Cluster (src/db/redis.ts). Two instances run the whole flow over a
 * three-node cluster (`.ci/redis-cluster.sh`); every multi-key command and script must keep to one slot
 * (a `{hash tag}`), or the cluster answers CROSSSLOT.
 */
describeWith(['postgres', 'redis-cluster'], 'Redis Cluster', () => {
  let pair: Pair;
  let raw: Cluster;
  const nodes = () => services.redisClusterUrl!.split(',').map((u) => ({ host: new URL(u).hostname, port: Number(new URL(u).port) }));

  beforeAll(async () => {
    pair = await startPair({ redis: { url: services.redisClusterUrl } });
    raw = new Cluster(nodes(), { lazyConnect: true });
    await raw.connect();
  }, 60_000);
  afterAll(async () => {
    await pair?.destroy();
    // The test servers clean the single-node REDIS_URL; this run's keys in the cluster are removed here.
    const prefix = pair?.a.context.config.redis.keyPrefix;
    if (raw && prefix) {
      for (const node of raw.nodes('master')) {
        const keys = await node.keys(`${prefix}*`);
        for (const key of keys) await node.del(key);
      }
    }
    raw?.disconnect();
  });

  const keysPerNode = async () => {
    const prefix = pair.a.context.config.redis.keyPrefix;
    return Promise.all(raw.nodes('master').map(async (node) => (await node.keys(`${prefix}*`)).length));
  };

  test('the app talks to the cluster', () => {
    expect(pair.a.context.redis).toBeInstanceOf(Cluster);
    expect(pair.b.context.redis).toBeInstanceOf(Cluster);
  });

  test('the full flow across two instances over the cluster', async () => {
    await crossingFlow(pair);
  });

  test('a grant revoked on one instance: all its tokens die, wherever their keys live in the cluster', async () => {
    const { a, b, front } = pair;
    const user = await createUser(a);
    const client = await registerClient(a, { scope: 'openid offline_access account' });
    const first = await authorize(front, client, user, 'openid offline_access account');
    // More access tokens of the same grant (each key in its own slot, one index set per grant).
    const more = [];
    let refreshToken = first.tokens.refresh_token!;
    for (let i = 0; i < 5; i += 1) {
      const next = await postForm(front, '/token', { grant_type: 'refresh_token', refresh_token: refreshToken }, client);
      more.push(next.body.access_token as string);
      refreshToken = next.body.refresh_token;
    }
    // Each access token has its Redis copy (not only the Postgres one a failing Redis write would fall back to),
    // and the keys are spread over the nodes (one node holding them all would not prove much).
    const prefix = a.context.config.redis.keyPrefix;
    for (const token of [first.tokens.access_token, ...more]) expect(await raw.exists(`${prefix}oidc:AccessToken:${sha256(token)}`)).toBe(1);
    const counts = await keysPerNode();
    expect(counts).toHaveLength(3);
    expect(counts.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);

    const grants = (await fetch(`${b.url}/account/grants`, { headers: { authorization: `Bearer ${more[0]}` } }).then((r) => r.json())) as { items: Array<{ grant_id: string }> };
    const grantId = grants.items[0]!.grant_id;
    expect((await fetch(`${b.url}/account/grants/${grantId}`, { method: 'DELETE', headers: { authorization: `Bearer ${more[0]}` } })).status).toBe(204);
    for (const token of [first.tokens.access_token, ...more]) expect(await introspect(a, client, token)).toEqual({ active: false });
    expect((await postForm(a, '/token', { grant_type: 'refresh_token', refresh_token: refreshToken }, client)).body.error).toBe('invalid_grant');
  });

  test('integrations token cache: per-connection keys share a slot (MULTI and purge work)', async () => {
    const { context } = pair.a;
    const cache = tokenCache(context.redis, context.keyring, Date.now);
    const row = { workspace_id: 'default', actor_type: 'user', actor_id: 'u1', provider: 'google', purpose: 'default' };
    const id = randomUUID();
    const token = (name: string) => ({ access_token: name, token_type: 'Bearer', scope: ['a'], expires_at: Date.now() + 60_000 });
    await cache.set(id, row, 'default', token('t-default'));
    await cache.set(id, row, 'graph', token('t-graph'));
    // Read back from the other instance's client.
    const other = tokenCache(pair.b.context.redis, pair.b.context.keyring, Date.now);
    expect((await other.get(id, row, 'graph'))?.access_token).toBe('t-graph');
    await other.purge(id);
    expect(await cache.get(id, row, 'default')).toBeUndefined();
    expect(await cache.get(id, row, 'graph')).toBeUndefined();
  });

  test('RISC replay guard: one SET acted on once across instances', async () => {
    const jti = randomUUID();
    const onA = redisReplayGuard(pair.a.context.redis!);
    const onB = redisReplayGuard(pair.b.context.redis!);
    expect(await onA.seen(jti, 60)).toBe(false);
    expect(await onB.seen(jti, 60)).toBe(true);
    await onB.forget(jti);
    expect(await onA.seen(jti, 60)).toBe(false);
  });
});
