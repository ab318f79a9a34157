import type { Logger } from 'winston';
import type { Queries } from '../queries/index.js';
import type { Clock } from './adapter/artifact-store.js';

/**
 * Deletes expired oidc artifacts from Postgres every `intervalSeconds` (Redis expires its own keys).
 * Reads already ignore expired rows, so the sweep only reclaims space; running it on several instances is harmless.
 */
export function startSweeper(deps: { queries: Queries; logger: Logger; clock: Clock; intervalSeconds: number }): () => void {
  if (deps.intervalSeconds <= 0) return () => {};
  const sweep = async () => {
    try {
      const deleted = await deps.queries.oidcModels.deleteExpired(new Date(deps.clock()));
      if (deleted) deps.logger.info('swept expired oidc artifacts', { deleted });
    } catch (error) {
      deps.logger.warn('sweep of expired oidc artifacts failed', { error: (error as Error).message });
    }
  };
  const timer = setInterval(sweep, deps.intervalSeconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
