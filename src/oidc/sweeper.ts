import type { Logger } from 'winston';
import type { Queries } from '../queries/index.js';
import type { Clock } from './adapter/artifact-store.js';

/**
 * Deletes expired oidc artifacts (Redis expires its own keys), old audit events, expired consumer states and
 * old integration error rows every `intervalSeconds`.
 * Reads already ignore expired rows, so the sweep only reclaims space; running it on several instances is harmless.
 */
export interface SweeperDependencies {
  queries: Queries;
  logger: Logger;
  clock: Clock;
  intervalSeconds: number;
  /** Audit events older than this many days go; 0 keeps them. */
  auditRetentionDays: number;
}

/** One sweep: expired oidc artifacts, and audit events past retention. Exported for the tests. */
export async function sweepOnce(
  deps: Omit<SweeperDependencies, 'intervalSeconds'>,
): Promise<{ artifacts: number; auditEvents: number; oauthStates: number; integrationErrors: number }> {
  const now = deps.clock();
  const artifacts = await deps.queries.oidcModels.deleteExpired(new Date(now));
  const auditEvents = deps.auditRetentionDays > 0 ? await deps.queries.audit.deleteOlderThan(new Date(now - deps.auditRetentionDays * 86_400_000)) : 0;
  // Consumer side: authorization states past their 10 minutes, and error log rows older than the week that
  // health reporting looks at (`error_count_24h` needs only a day).
  const oauthStates = await deps.queries.oauthStates.deleteExpired(new Date(now));
  const integrationErrors = await deps.queries.connections.deleteErrorsOlderThan(new Date(now - 7 * 86_400_000));
  return { artifacts, auditEvents, oauthStates, integrationErrors };
}

export function startSweeper(deps: SweeperDependencies): () => void {
  if (deps.intervalSeconds <= 0) return () => {};
  const sweep = async () => {
    try {
      const deleted = await sweepOnce(deps);
      if (Object.values(deleted).some(Boolean)) deps.logger.info('swept expired rows', deleted);
    } catch (error) {
      deps.logger.warn('sweep of expired rows failed', { error: (error as Error).message });
    }
  };
  const timer = setInterval(sweep, deps.intervalSeconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
