import type { ArtifactIndexes } from '../../queries/oidc-models.js';

export interface Artifact {
  payload: Record<string, unknown>;
  /** When it was consumed (ms since epoch), if it was. */
  consumedAt?: number;
}

/** Where oidc-provider artifacts of one model live: Postgres, Redis, or both (write-through). */
export interface ArtifactStore {
  upsert(model: string, key: string, payload: Record<string, unknown>, expiresInSeconds: number | undefined, indexes: ArtifactIndexes): Promise<void>;
  find(model: string, key: string): Promise<Artifact | undefined>;
  findBy(model: string, column: 'uid' | 'user_code', value: string): Promise<{ key: string; artifact: Artifact } | undefined>;
  /** Atomic: true for exactly one caller (or any caller while the consumption is younger than `graceSince`). */
  consume(model: string, key: string, graceSinceMs?: number): Promise<boolean>;
  destroy(model: string, key: string): Promise<void>;
  revokeByGrantId(model: string, grantId: string): Promise<void>;
}

export type Clock = () => number;
