import type { ArtifactStore } from './artifact-store.js';

/**
 * Redis first, Postgres as the durable copy: reads hit Redis and fall back to Postgres after a flush or
 * restart, so a valid access token keeps working. Revocation and deletion go to both.
 */
export function writeThroughStore(fast: ArtifactStore, durable: ArtifactStore): ArtifactStore {
  return {
    async upsert(model, key, payload, expiresIn, indexes) {
      await Promise.all([durable.upsert(model, key, payload, expiresIn, indexes), fast.upsert(model, key, payload, expiresIn, indexes)]);
    },
    async find(model, key) {
      return (await fast.find(model, key)) ?? durable.find(model, key);
    },
    findBy: (model, column, value) => durable.findBy(model, column, value),
    consume: (model, key, graceSinceMs) => durable.consume(model, key, graceSinceMs),
    async destroy(model, key) {
      await Promise.all([durable.destroy(model, key), fast.destroy(model, key)]);
    },
    async revokeByGrantId(model, grantId) {
      await Promise.all([durable.revokeByGrantId(model, grantId), fast.revokeByGrantId(model, grantId)]);
    },
  };
}
