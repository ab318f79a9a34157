import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Redis } from 'ioredis';

/**
 * A plain Redis adapter for the bare library, in the shape of oidc-provider's example Redis adapter
 * (example/adapters/redis.js): the payload as JSON under one key per artifact, a hash for the consumable ones, a
 * set per grant for revocation. For `npm run bench -- --bare-store redis`: what the library costs with the
 * cheapest shared store, which any deployment of more than one instance needs.
 */
const CONSUMABLE = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

export function redisAdapterClass(redis: Redis): new (model: string) => Adapter {
  return class BenchRedisAdapter implements Adapter {
    constructor(private readonly model: string) {}
    #key = (id: string) => `${this.model}:${id}`;

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      const key = this.#key(id);
      const json = JSON.stringify(payload);
      const multi = redis.multi();
      if (CONSUMABLE.has(this.model)) multi.hset(key, 'payload', json);
      else multi.set(key, json);
      if (expiresIn) multi.expire(key, expiresIn);
      if (payload.grantId) {
        multi.sadd(`grant:${payload.grantId}`, key);
        if (expiresIn) multi.expire(`grant:${payload.grantId}`, expiresIn, 'GT');
      }
      if (payload.uid) multi.set(`uid:${payload.uid}`, id, 'EX', expiresIn);
      if (payload.userCode) multi.set(`userCode:${payload.userCode}`, id, 'EX', expiresIn);
      await multi.exec();
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      const key = this.#key(id);
      if (!CONSUMABLE.has(this.model)) {
        const json = await redis.get(key);
        return json ? (JSON.parse(json) as AdapterPayload) : undefined;
      }
      const { payload, consumed } = await redis.hgetall(key);
      if (!payload) return undefined;
      return { ...(JSON.parse(payload) as AdapterPayload), ...(consumed ? { consumed: Number(consumed) } : {}) };
    }

    async findByUid(uid: string) {
      const id = await redis.get(`uid:${uid}`);
      return id ? this.find(id) : undefined;
    }

    async findByUserCode(userCode: string) {
      const id = await redis.get(`userCode:${userCode}`);
      return id ? this.find(id) : undefined;
    }

    async consume(id: string): Promise<void> {
      await redis.hset(this.#key(id), 'consumed', Math.floor(Date.now() / 1000));
    }

    async destroy(id: string): Promise<void> {
      await redis.del(this.#key(id));
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      const keys = await redis.smembers(`grant:${grantId}`);
      await redis.del(...keys, `grant:${grantId}`);
    }
  };
}
