import * as oauth from 'openid-client';
import { randomUUID } from 'node:crypto';
import { DecryptionError } from '../crypto/keyring.js';
import { SYSTEM } from '../audit/origin.js';
import { HttpError, notFound } from '../http/errors.js';
import type { AuditOrigin } from '../audit/origin.js';
import type { ConnectionKey, ConnectionRow } from '../queries/connections.js';
import { actorLabel, type IntegrationActor } from './actor.js';
import type { IntegrationDeps } from './deps.js';
import { classifyUpstreamError, safeErrorCode } from './errors.js';
import { configuredProvider } from './providers.js';
import { resourceKeyOf, type CachedToken } from './token-cache.js';

export interface TokenRequest {
  purpose: string;
  /** A token for other scopes than the connection's own (Microsoft: Graph vs Outlook from one refresh token). */
  scopes?: string[];
  /** Refresh even if the current token is still fresh. */
  force_refresh?: boolean;
}

export interface VendedToken {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
}

const notActive = (row: ConnectionRow) =>
  new HttpError(
    409,
    row.status === 'needs_reauth' ? 'needs_reauth' : 'connection_revoked',
    row.status === 'needs_reauth' ? `the ${row.provider} link is broken (${row.last_error ?? 'refresh refused'}): the account must be connected again` : `the ${row.provider} link was disconnected`,
  );

/**
 * Token vending: the caller's own connection's access token, refreshed first when it expires within the margin.
 * A refresh keeps the old refresh token when the provider returns none and stores the new one when it rotates.
 * Concurrent refreshes of one connection in this process share one upstream call; the stored row is updated
 * with a compare-and-set on the refresh token it started from, so a rotated refresh token is never overwritten
 * by an older one (cross-instance leases come with the scheduled-refresh work).
 */
/** A lease outlives the longest refresh (openid-client times out at 15 s); a crashed holder's lease runs out. */
const LEASE_MS = 30_000;
const LEASE_WAIT_MS = 20_000;
const LEASE_POLL_MS = 100;

/**
 * openid-client lowercases `token_type` (RFC 6749 §5.1: it is case-insensitive); callers get the spelling of the
 * RFCs that define the common ones (`Bearer`, RFC 6750; `DPoP`, RFC 9449), as providers send them.
 */
const CANONICAL_TOKEN_TYPES: Record<string, string> = { bearer: 'Bearer', dpop: 'DPoP' };
const canonicalTokenType = (tokenType: string): string => CANONICAL_TOKEN_TYPES[tokenType.toLowerCase()] ?? tokenType;

export function tokenVending(deps: IntegrationDeps) {
  const { settings, connections, leases, sealer, cache, upstream, audit, events, planNext, clock, logger } = deps;
  const outcome = (provider: string, result: 'success' | 'needs_reauth' | 'failure') => deps.refreshOutcome?.(provider, result);
  const inFlight = new Map<string, Promise<CachedToken>>();

  const toVended = (token: CachedToken): VendedToken => ({
    access_token: token.access_token,
    token_type: canonicalTokenType(token.token_type),
    expires_in: Math.max(0, Math.floor((token.expires_at - clock()) / 1000)),
    scope: token.scope.join(' '),
  });
  const fresh = (token: CachedToken | undefined) => !!token && token.expires_at - clock() > settings.refreshMarginSeconds * 1000;

  /** Opens a stored secret; a ciphertext that does not open for this row (moved from another row, or its key left the ring) counts as absent. */
  const openOrUndefined = (row: ConnectionRow, field: 'access_token' | 'refresh_token'): string | undefined => {
    try {
      return sealer.open(row, field, field === 'access_token' ? row.access_token_enc : row.refresh_token_enc);
    } catch (error) {
      if (!(error instanceof DecryptionError)) throw error;
      logger.warn('stored integration secret does not open for its row', { connection_id: row.id, field, error: error.message });
      return undefined;
    }
  };

  /** The row's own access token, when it is still fresh enough to hand out. */
  const storedToken = (row: ConnectionRow): CachedToken | undefined => {
    const accessToken = openOrUndefined(row, 'access_token');
    if (!accessToken) return undefined;
    // No expiry from the provider: treat the token as valid for an hour from its last refresh.
    const expiresAt = row.expires_at ? new Date(row.expires_at).getTime() : new Date(row.last_refreshed_at ?? row.connected_at).getTime() + 3600_000;
    return { access_token: accessToken, token_type: row.token_type ?? 'bearer', scope: row.scopes, expires_at: expiresAt };
  };

  async function refresh(row: ConnectionRow, scopes: string[] | undefined, origin: AuditOrigin): Promise<CachedToken> {
    const entry = configuredProvider(settings.providers, row.provider);
    const auditBase = { ...origin, workspaceId: row.workspace_id, details: { provider: row.provider, purpose: row.purpose, connection_id: row.id } };
    const refreshToken = openOrUndefined(row, 'refresh_token');
    if (!refreshToken) {
      const unreadable = row.refresh_token_enc !== null;
      const message = unreadable ? 'the stored refresh token does not open for this connection' : 'the provider issued no refresh token';
      await connections.recordFailure(row.id, {
        code: unreadable ? 'unreadable_token' : 'no_refresh_token',
        message,
        now: new Date(clock()),
        status: 'needs_reauth',
        expectedRefreshTokenEnc: row.refresh_token_enc,
      });
      await cache.purge(row.id);
      outcome(row.provider, 'needs_reauth');
      throw new HttpError(409, 'needs_reauth', `the ${row.provider} access token cannot be renewed (${message}): connect again`);
    }
    const config = await upstream.get(entry);
    let tokens: oauth.TokenEndpointResponse;
    try {
      tokens = await oauth.refreshTokenGrant(config, refreshToken, scopes ? { scope: scopes.join(' ') } : undefined);
    } catch (error) {
      const failure = classifyUpstreamError(error);
      // Another refresh may have rotated the token meanwhile: then this refusal is about the old token only.
      const current = await connections.findById(row.id);
      if (current && current.refresh_token_enc !== row.refresh_token_enc && current.status === 'active') {
        const stored = storedToken(current);
        if (stored && !scopes) return stored;
      }
      // A refusal of extra scopes (Microsoft answers invalid_grant to an unconsented resource) says nothing about
      // the link itself: only a refusal of the connection's own refresh says it is broken.
      const broken = !scopes && failure.kind === 'oauth' && failure.code === 'invalid_grant';
      await connections.recordFailure(row.id, {
        code: failure.code,
        message: failure.message,
        now: new Date(clock()),
        status: broken ? 'needs_reauth' : undefined,
        expectedRefreshTokenEnc: row.refresh_token_enc,
      });
      await audit.record({ ...auditBase, type: 'IntegrationRefreshFailure', outcome: 'failure', details: { ...auditBase.details, error: failure.code } });
      outcome(row.provider, broken ? 'needs_reauth' : 'failure');
      if (broken) {
        await cache.purge(row.id);
        const marked = await connections.findById(row.id);
        if (marked?.status === 'needs_reauth') await events.emit('connection.needs_reauth', marked);
        throw new HttpError(409, 'needs_reauth', `the ${row.provider} refresh token was refused (${failure.message}): the account must be connected again`);
      }
      if (failure.kind === 'oauth') throw new HttpError(400, safeErrorCode(failure.code), `the provider refused the refresh: ${failure.message}`);
      throw new HttpError(502, 'upstream_unavailable', `refreshing the ${row.provider} token failed: ${failure.message}`);
    }

    const now = clock();
    const token: CachedToken = {
      access_token: tokens.access_token,
      token_type: tokens.token_type ?? 'bearer',
      scope: tokens.scope ? tokens.scope.split(/[ ,]+/).filter(Boolean) : (scopes ?? row.scopes),
      // No expires_in: assume an hour (RFC 6749 §5.1 makes it optional; providers that omit it use about that).
      expires_at: now + (tokens.expires_in ?? 3600) * 1000,
    };
    const rotated = tokens.refresh_token ?? refreshToken; // none returned: the old one stays valid (RFC 6749 §6)
    const stored = await connections.storeRefreshed(row.id, row.refresh_token_enc, {
      // A token for other scopes does not replace the connection's own access token.
      access_token_enc: scopes ? row.access_token_enc : sealer.seal(row, 'access_token', token.access_token),
      refresh_token_enc: rotated === refreshToken ? row.refresh_token_enc : sealer.seal(row, 'refresh_token', rotated),
      token_type: scopes ? row.token_type : token.token_type,
      expires_at: scopes ? row.expires_at : new Date(token.expires_at),
      scopes: scopes ? row.scopes : token.scope,
      now: new Date(now),
    });
    await audit.record({ ...auditBase, type: 'IntegrationRefresh', details: { ...auditBase.details, rotated: rotated !== refreshToken, stored: !!stored } });
    outcome(row.provider, 'success');
    if (!stored) {
      // The row changed under us: disconnected, reconnected (possibly another account) or refreshed elsewhere.
      // The token is not cached, and a link that is no longer active hands out nothing.
      logger.warn('integration refresh result not stored: the connection changed meanwhile', { connection_id: row.id, provider: row.provider, rotated: rotated !== refreshToken });
      const current = await connections.findById(row.id);
      if (!current || current.status !== 'active' || new Date(current.connected_at).getTime() !== new Date(row.connected_at).getTime()) throw notActive(current ?? { ...row, status: 'revoked' });
      return token;
    }
    await cache.set(row.id, row, resourceKeyOf(scopes), token);
    await events.emit('connection.refreshed', stored);
    if (!scopes) await planNext(stored);
    return token;
  }

  /**
   * Every refresh, on demand or scheduled, runs under the connection's lease (owner-checked, re-reading the row):
   * across instances one refresh at a time per connection, each starting from the newest refresh token.
   * `wait: false` (the scheduler) gives up at once when another holder is at work; on demand waits for it and
   * then uses what it stored.
   */
  async function refreshUnderLease(row: ConnectionRow, scopes: string[] | undefined, origin: AuditOrigin, options: { force: boolean; wait: boolean }): Promise<CachedToken | undefined> {
    const owner = `${deps.instanceId}:${randomUUID()}`;
    const waitUntil = clock() + LEASE_WAIT_MS;
    let leased: ConnectionRow | undefined;
    for (;;) {
      leased = await leases.acquire(row.id, owner, new Date(clock()), new Date(clock() + LEASE_MS));
      if (leased) break;
      const current = await connections.findById(row.id);
      if (!current || current.status !== 'active') throw notActive(current ?? { ...row, status: 'revoked' });
      if (!options.wait) return undefined;
      if (clock() > waitUntil) throw new HttpError(503, 'temporarily_unavailable', `another refresh of this ${row.provider} connection is taking long; try again`, { 'Retry-After': '2' });
      await sleep(LEASE_POLL_MS);
    }
    try {
      // Someone refreshed while we waited (or since we read the row): use theirs unless it is stale too.
      const theirs = !scopes && (leased.refresh_token_enc !== row.refresh_token_enc || !options.force) ? storedToken(leased) : undefined;
      if (theirs && fresh(theirs)) return theirs;
      return await refresh(leased, scopes, origin);
    } finally {
      await leases.release(row.id, owner).catch((error: unknown) => logger.warn('releasing a refresh lease failed (it expires by itself)', { connection_id: row.id, error: (error as Error).message }));
    }
  }

  return {
    async token(actor: IntegrationActor, providerName: string, request: TokenRequest, origin: AuditOrigin): Promise<VendedToken> {
      configuredProvider(settings.providers, providerName);
      const key: ConnectionKey = { ...actor, provider: providerName, purpose: request.purpose };
      const row = await connections.find(key);
      if (!row) throw notFound(`no ${providerName} connection with purpose ${request.purpose} for ${actorLabel(actor)}`);
      if (row.status !== 'active') throw notActive(row);
      const scopes = request.scopes?.length ? [...new Set(request.scopes)] : undefined;
      const resource = resourceKeyOf(scopes);

      if (!request.force_refresh) {
        const cached = await cache.get(row.id, row, resource);
        if (fresh(cached)) return toVended(cached!);
        if (!scopes) {
          const stored = storedToken(row);
          if (fresh(stored)) {
            await cache.set(row.id, row, resource, stored!);
            return toVended(stored!);
          }
        }
      }
      const flightKey = `${row.id}:${resource}`;
      let pending = inFlight.get(flightKey);
      if (!pending) {
        pending = refreshUnderLease(row, scopes, origin, { force: request.force_refresh ?? false, wait: true })
          .then((token) => token!)
          .finally(() => inFlight.delete(flightKey));
        inFlight.set(flightKey, pending);
      }
      return toVended(await pending);
    },

    /**
     * The scheduled refresh of one connection (a queue job). Not due any more (refreshed on demand meanwhile) →
     * planned again; another instance holds the lease → nothing to do; a broken link → no retry; a provider
     * outage → throws, so the queue retries with backoff.
     */
    async runScheduled(connectionId: string): Promise<void> {
      const row = await connections.findById(connectionId);
      if (!row || row.status !== 'active' || !row.refresh_token_enc) return;
      const expiresAt = row.expires_at ? new Date(row.expires_at).getTime() : undefined;
      if (expiresAt !== undefined && expiresAt - clock() > (settings.refreshMarginSeconds + 60) * 1000) {
        await planNext(row);
        return;
      }
      try {
        await refreshUnderLease(row, undefined, SYSTEM, { force: true, wait: false });
      } catch (error) {
        // needs_reauth, revoked, not configured: retrying cannot help (the failure is already recorded)
        if (error instanceof HttpError && error.status < 500) {
          logger.info('scheduled refresh not possible', { connection_id: connectionId, error: error.code });
          return;
        }
        throw error;
      }
    },
  };
}

export type TokenVending = ReturnType<typeof tokenVending>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
