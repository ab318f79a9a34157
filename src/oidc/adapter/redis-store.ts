import type { ChainableCommander, Redis, Cluster } from 'ioredis';
import type { ArtifactStore, Clock } from './artifact-store.js';

// One Redis hash per artifact: field `p` = payload JSON, field `c` = consumed-at (ms).
// Consume is one Lua script on one key, so it is atomic and Redis Cluster safe.
const CONSUME_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local consumed = redis.call('HGET', KEYS[1], 'c')
if not consumed then
  redis.call('HSET', KEYS[1], 'c', ARGV[1])
  return 1
end
if ARGV[2] ~= '' and tonumber(consumed) >= tonumber(ARGV[2]) then return 1 end
return 0
`;

/** EXEC answers each command's error in its result list instead of rejecting: surface the first one. */
async function execOrThrow(transaction: ChainableCommander): Promise<void> {
  const results = await transaction.exec();
  if (!results) throw new Error('redis transaction aborted');
  const failed = results.find(([error]) => error);
  if (failed) throw failed[0];
}

const artifactKey = (model: string, key: string) => `oidc:${model}:${key}`;
const grantKey = (grantId: string) => `oidc:grant:${grantId}`;

/**
 * Short-lived artifacts in Redis. Key names carry no secret (callers pass hashed keys). A grant index set
 * lets revokeByGrantId find every artifact of a grant; keys of one grant live in different slots, so they
 * are deleted one by one (no cross-slot MULTI).
 */
export function redisArtifactStore(redis: Redis | Cluster, clock: Clock): ArtifactStore {
  return {
    async upsert(model, key, payload, expiresIn, indexes) {
      const k = artifactKey(model, key);
      if (indexes.grantId) {
        // The grant index first: if Redis fails in between, an index entry without its artifact is harmless,
        // while an artifact missing from the index would escape revokeByGrantId.
        // One MULTI on the index key: add the member, and let the set live as long as its longest member
        // (NX sets a first expiry, GT only ever extends it; Redis >= 7).
        const g = grantKey(indexes.grantId);
        const index = redis.multi().sadd(g, k);
        if (expiresIn) index.call('EXPIRE', g, expiresIn, 'NX').call('EXPIRE', g, expiresIn, 'GT');
        await execOrThrow(index);
      }
      const artifact = redis.multi().hset(k, 'p', JSON.stringify(payload));
      if (expiresIn) artifact.expire(k, expiresIn);
      await execOrThrow(artifact);
    },
    async find(model, key) {
      const [payload, consumed] = await redis.hmget(artifactKey(model, key), 'p', 'c');
      if (!payload) return undefined;
      return { payload: JSON.parse(payload), ...(consumed ? { consumedAt: Number(consumed) } : {}) };
    },
    async findBy() {
      // Models looked up by uid or user code (Session, DeviceCode) are routed to Postgres.
      throw new Error('findBy is not supported by the Redis artifact store');
    },
    async consume(model, key, graceSinceMs) {
      const result = await redis.eval(CONSUME_SCRIPT, 1, artifactKey(model, key), String(clock()), graceSinceMs === undefined ? '' : String(graceSinceMs));
      return result === 1;
    },
    async destroy(model, key) {
      await redis.del(artifactKey(model, key));
    },
    async revokeByGrantId(model, grantId) {
      const g = grantKey(grantId);
      const prefix = artifactKey(model, '');
      const members = (await redis.smembers(g)).filter((member) => member.startsWith(prefix));
      if (members.length === 0) return;
      await Promise.all(members.map((member) => redis.del(member)));
      await redis.srem(g, ...members);
    },
  };
}
