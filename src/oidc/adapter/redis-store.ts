import type { Redis, Cluster } from 'ioredis';
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

// Writing an artifact (payload and expiry) and adding it to its grant's index are one script each, not a MULTI:
// one command instead of four, which a token request pays in Node CPU (docs/performance.md). Each touches one key.
// The index set lives as long as its longest member: NX sets a first expiry, GT only ever extends it (Redis >= 7).
const SAVE_SCRIPT = `
redis.call('HSET', KEYS[1], 'p', ARGV[1])
if ARGV[2] ~= '' then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1
`;
const INDEX_SCRIPT = `
redis.call('SADD', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then
  redis.call('EXPIRE', KEYS[1], ARGV[2], 'NX')
  redis.call('EXPIRE', KEYS[1], ARGV[2], 'GT')
end
return 1
`;

/** The scripts as ioredis commands (EVALSHA, with EVAL when Redis has not seen them yet). */
interface ArtifactCommands {
  oidcSaveArtifact(key: string, payload: string, expiresIn: string): Promise<number>;
  oidcIndexArtifact(indexKey: string, member: string, expiresIn: string): Promise<number>;
}

function withArtifactCommands(redis: Redis | Cluster): ArtifactCommands {
  redis.defineCommand('oidcSaveArtifact', { numberOfKeys: 1, lua: SAVE_SCRIPT });
  redis.defineCommand('oidcIndexArtifact', { numberOfKeys: 1, lua: INDEX_SCRIPT });
  return redis as unknown as ArtifactCommands;
}

const artifactKey = (model: string, key: string) => `oidc:${model}:${key}`;
const grantKey = (grantId: string) => `oidc:grant:${grantId}`;

/**
 * Short-lived artifacts in Redis. Key names carry no secret (callers pass hashed keys). A grant index set
 * lets revokeByGrantId find every artifact of a grant; keys of one grant live in different slots, so they
 * are deleted one by one (no cross-slot MULTI).
 */
export function redisArtifactStore(redis: Redis | Cluster, clock: Clock): ArtifactStore {
  const commands = withArtifactCommands(redis);
  // Lookups of one key already on their way are shared: introspection asks for a value as an access token, a
  // client_credentials token and (through the adapter) a refresh token at once, all one key (adapter STORED_AS).
  // The raw reply is shared; each caller parses its own payload object.
  const inFlight = new Map<string, Promise<Array<string | null>>>();
  const read = (k: string) => {
    let reply = inFlight.get(k);
    if (!reply) {
      reply = redis.hmget(k, 'p', 'c').finally(() => inFlight.delete(k));
      inFlight.set(k, reply);
    }
    return reply;
  };
  return {
    async upsert(model, key, payload, expiresIn, indexes) {
      const k = artifactKey(model, key);
      const ttl = expiresIn ? String(expiresIn) : '';
      // The grant index first: if Redis fails in between, an index entry without its artifact is harmless,
      // while an artifact missing from the index would escape revokeByGrantId.
      if (indexes.grantId) await commands.oidcIndexArtifact(grantKey(indexes.grantId), k, ttl);
      await commands.oidcSaveArtifact(k, JSON.stringify(payload), ttl);
    },
    async find(model, key) {
      const [payload, consumed] = await read(artifactKey(model, key));
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
