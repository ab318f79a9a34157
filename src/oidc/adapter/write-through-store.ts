import type { Logger } from 'winston';
import type { ArtifactStore } from './artifact-store.js';

const WARN_EVERY_MS = 10_000;

/**
 * Redis first, Postgres as the durable copy (access tokens and grants): reads hit Redis and fall back to Postgres
 * after a flush or restart, so a valid access token keeps working.
 *
 * Redis down: the Postgres copy alone serves. A write or read that Redis fails is logged and carried by Postgres,
 * so a refresh in progress does not fail after its refresh token was already rotated (the client's retry would
 * come after the reuse grace window and revoke the grant). Deletion is the other way round: Redis first, and a
 * failure there fails the call before Postgres changes, so a revoked token never lives on as a Redis copy that
 * reads would find once Redis is back.
 */
export function writeThroughStore(fast: ArtifactStore, durable: ArtifactStore, logger: Logger): ArtifactStore {
  let warnedAt = -Infinity;
  const degraded = (operation: string) => (error: unknown) => {
    // One line per WARN_EVERY_MS, not one per request, while Redis is away.
    if (Date.now() - warnedAt >= WARN_EVERY_MS) {
      warnedAt = Date.now();
      logger.warn('redis unavailable, access tokens and grants served from Postgres', { operation, error: (error as Error)?.message });
    }
    return undefined;
  };
  return {
    async upsert(model, key, payload, expiresIn, indexes) {
      await Promise.all([durable.upsert(model, key, payload, expiresIn, indexes), fast.upsert(model, key, payload, expiresIn, indexes).catch(degraded('upsert'))]);
    },
    async find(model, key) {
      return (await fast.find(model, key).catch(degraded('find'))) ?? durable.find(model, key);
    },
    findBy: (model, column, value) => durable.findBy(model, column, value),
    consume: (model, key, graceSinceMs) => durable.consume(model, key, graceSinceMs),
    async destroy(model, key) {
      await fast.destroy(model, key);
      await durable.destroy(model, key);
    },
    async revokeByGrantId(model, grantId) {
      await fast.revokeByGrantId(model, grantId);
      await durable.revokeByGrantId(model, grantId);
    },
  };
}
