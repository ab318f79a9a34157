import type Provider from 'oidc-provider';
import type { Logger } from 'winston';
import type { AuditLog } from '../audit/writer.js';
import type { AuditOrigin } from '../audit/origin.js';
import type { Clock } from '../oidc/adapter/artifact-store.js';
import type { GrantOwners, GrantQueries, GrantRow } from '../queries/grants.js';

export interface GrantView {
  grant_id: string;
  client_id: string;
  client_name: string;
  scopes: string[];
  created_at: string;
  last_used_at: string | null;
}

const LAST_USED_RESOLUTION_SECONDS = 60;
const TOUCH_FLUSH_MS = 1000;

function scopesOf(payload: Record<string, unknown>): string[] {
  const openid = (payload.openid as { scope?: string } | undefined)?.scope ?? '';
  const resources = Object.values((payload.resources as Record<string, string> | undefined) ?? {});
  return [...new Set([openid, ...resources].join(' ').split(' ').filter(Boolean))];
}

function toView(row: GrantRow): GrantView {
  const iat = typeof row.payload.iat === 'number' ? row.payload.iat : 0;
  return {
    grant_id: row.grant_id,
    client_id: row.client_id,
    client_name: row.client_name ?? row.client_id,
    scopes: scopesOf(row.payload),
    created_at: new Date(iat * 1000).toISOString(),
    last_used_at: row.last_used_at ? new Date(row.last_used_at).toISOString() : null,
  };
}

export interface GrantServiceDependencies {
  provider: Provider;
  grants: GrantQueries;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
}

/**
 * A user's grants (the apps they authorized) and their revocation through the whole chain: the grant first
 * (so every token of it fails its grant check at once), then its codes, access and refresh tokens in every
 * store (the adapter covers Redis and Postgres), then its place in the user's browser sessions.
 */
export function grantService({ provider, grants, audit, clock, logger }: GrantServiceDependencies) {
  // Per-instance throttle in front of the SQL one, so a busy grant costs no write at all most of the time;
  // the grants touched meanwhile are written together in one UPDATE, off the token endpoint's path.
  const lastTouched = new Map<string, number>();
  const touched = new Set<string>();
  let flushTimer: NodeJS.Timeout | undefined;
  async function flushTouched(): Promise<void> {
    if (flushTimer) clearTimeout(flushTimer);
    flushTimer = undefined;
    const ids = [...touched];
    touched.clear();
    if (!ids.length) return;
    try {
      await grants.touch(ids, new Date(clock()), LAST_USED_RESOLUTION_SECONDS);
    } catch (error) {
      logger.warn('grant last_used_at update failed', { error: (error as Error).message });
    }
  }

  const revokeChain = async (grantId: string) => {
    const grant = await provider.Grant.find(grantId, { ignoreExpiration: true });
    await grant?.destroy();
    await Promise.all(
      [provider.AccessToken, provider.RefreshToken, provider.AuthorizationCode, provider.DeviceCode, provider.BackchannelAuthenticationRequest].map((model) =>
        model.revokeByGrantId(grantId),
      ),
    );
  };

  const revoke = async (row: GrantOwners, origin: AuditOrigin, reason: string): Promise<void> => {
    await revokeChain(row.grant_id);
    await grants.detachFromSessions(row.account_id, row.client_id, row.grant_id);
    const event = { ...origin, clientId: row.client_id, accountId: row.account_id, workspaceId: row.workspace_id };
    await audit.record({ ...event, type: 'OAuthGrantRevoke', details: { grant_id: row.grant_id, reason } });
    await audit.record({ ...event, type: 'OAuthRevoke', details: { grant_id: row.grant_id, cascade: true, reason } });
  };

  return {
    /** All of them (the account page), in the store's order. */
    async listForAccount(accountId: string): Promise<GrantView[]> {
      return (await grants.listForAccount(accountId, new Date(clock()))).map(toView);
    },

    /**
     * One page for the Account API: by `grant_id` in code-unit order (the same in JS and under any database
     * collation), up to `limit` grants after `afterId`. A user holds few grants, so the page is cut here rather
     * than in SQL.
     */
    async pageForAccount(accountId: string, afterId: string | undefined, limit: number): Promise<GrantView[]> {
      const rows = await grants.listForAccount(accountId, new Date(clock()));
      return rows
        .filter((row) => afterId === undefined || row.grant_id > afterId)
        .sort((a, b) => (a.grant_id < b.grant_id ? -1 : a.grant_id > b.grant_id ? 1 : 0))
        .slice(0, limit)
        .map(toView);
    },

    /** Revokes one grant of this account; false when the account holds no such grant. */
    async revokeForAccount(accountId: string, grantId: string, origin: AuditOrigin): Promise<boolean> {
      const row = await grants.find(grantId);
      if (!row || row.account_id !== accountId) return false;
      await revoke(row, origin, 'user');
      return true;
    },

    async revokeAllOfClient(clientId: string, origin: AuditOrigin): Promise<number> {
      const rows = await grants.ownersForClient(clientId);
      for (const row of rows) await revoke(row, origin, 'client_deleted');
      return rows.length;
    },

    async revokeAllOfAccount(accountId: string, origin: AuditOrigin): Promise<number> {
      const rows = await grants.ownersForAccount(accountId);
      for (const row of rows) await revoke(row, origin, 'user_deleted');
      await grants.deleteSessionsOfAccount(accountId);
      return rows.length;
    },

    /** last_used_at bookkeeping; called from provider events, so it never throws. Written in batches. */
    touch(grantId: string): void {
      const now = clock();
      if ((lastTouched.get(grantId) ?? 0) > now - LAST_USED_RESOLUTION_SECONDS * 1000) return;
      if (lastTouched.size > 10_000) lastTouched.clear();
      lastTouched.set(grantId, now);
      touched.add(grantId);
      flushTimer ??= setTimeout(() => void flushTouched(), TOUCH_FLUSH_MS);
    },

    /** Writes pending last_used_at updates now (tests, shutdown). */
    flushTouched,
  };
}

export type GrantService = ReturnType<typeof grantService>;
