import { randomUUID } from 'node:crypto';
import type { ConnectionSealer } from '../../src/integrations/sealing.js';
import type { ConnectionQueries, ConnectionRow } from '../../src/queries/connections.js';
import { COUNTING_PROVIDER, type CountingUpstream } from './counting-upstream.js';

export interface SeedDeps {
  connections: Pick<ConnectionQueries, 'upsertConnected'>;
  sealer: ConnectionSealer;
  upstream: Pick<CountingUpstream, 'mint'>;
}

/**
 * Links to the counting upstream written the way a finished authorization writes them (tokens sealed to their
 * row, actor `svc-<i>`), one per expiry, `concurrency` at a time; `afterEach` runs on each stored row (e.g. to
 * plan its refresh, as linking does).
 */
export async function seedLinks(deps: SeedDeps, expiries: Date[], options: { concurrency?: number; afterEach?: (row: ConnectionRow) => Promise<void> } = {}): Promise<ConnectionRow[]> {
  const rows: ConnectionRow[] = new Array(expiries.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < expiries.length; i = next++) {
      const key = { workspace_id: 'default', actor_type: 'api_key' as const, actor_id: `svc-${i}`, provider: COUNTING_PROVIDER, purpose: 'default' };
      const id = randomUUID();
      const tokens = deps.upstream.mint(id);
      const row = await deps.connections.upsertConnected({
        ...key,
        id,
        provider_subject: null,
        provider_email: null,
        scopes: [],
        access_token_enc: deps.sealer.seal(key, 'access_token', tokens.accessToken),
        refresh_token_enc: deps.sealer.seal(key, 'refresh_token', tokens.refreshToken),
        token_type: 'Bearer',
        expires_at: expiries[i]!,
        now: new Date(),
      });
      await options.afterEach?.(row);
      rows[i] = row;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 1) }, worker));
  return rows;
}
