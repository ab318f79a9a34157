import type { OidcModelQueries } from '../../queries/oidc-models.js';
import type { ArtifactStore, Clock } from './artifact-store.js';

export function postgresArtifactStore(queries: OidcModelQueries, clock: Clock): ArtifactStore {
  const toArtifact = (stored: { payload: Record<string, unknown>; consumedAt: Date | null }) => ({
    payload: stored.payload,
    ...(stored.consumedAt ? { consumedAt: stored.consumedAt.getTime() } : {}),
  });
  return {
    async upsert(model, key, payload, expiresIn, indexes) {
      const expiresAt = expiresIn ? new Date(clock() + expiresIn * 1000) : null;
      await queries.upsert(model, key, payload, expiresAt, indexes);
    },
    async find(model, key) {
      const stored = await queries.find(model, key, new Date(clock()));
      return stored ? toArtifact(stored) : undefined;
    },
    async findBy(model, column, value) {
      const found = await queries.findBy(model, column, value, new Date(clock()));
      return found ? { key: found.id, artifact: toArtifact(found.artifact) } : undefined;
    },
    async consume(model, key, graceSinceMs) {
      return queries.consume(model, key, new Date(clock()), graceSinceMs === undefined ? undefined : new Date(graceSinceMs));
    },
    async destroy(model, key) {
      await queries.destroy(model, key);
    },
    async revokeByGrantId(model, grantId) {
      await queries.revokeByGrantId(model, grantId);
    },
  };
}
