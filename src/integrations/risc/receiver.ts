import { createHash } from 'node:crypto';
import type { JWTVerifyGetKey } from 'jose';
import type { Logger } from 'winston';
import type { AuditOrigin } from '../../audit/origin.js';
import type { AuditLog } from '../../audit/writer.js';
import type { ConnectionQueries, ConnectionRow } from '../../queries/connections.js';
import type { ConnectionEvents } from '../events.js';
import { actionOf, eventName, subjectOf, type RiscAction, type RiscSubject, type TokenIdentifier } from './events.js';
import type { RiscConfig } from './settings.js';
import { CLOCK_TOLERANCE_SECONDS, DEFAULT_MAX_AGE_SECONDS, issuerForms, RiscError, setVerifier, type VerifiedSet } from './verify.js';

export interface RiscDeps {
  config: RiscConfig;
  connections: Pick<ConnectionQueries, 'findBySubject' | 'markStatus' | 'pageLiveWithRefreshToken'>;
  /** Providers whose links are Google accounts (`googleFamily`). */
  providers: string[];
  /** Drops a connection's cached access tokens (`tokenCache(...).purge`). */
  purgeCache(connectionId: string): Promise<void>;
  events: ConnectionEvents;
  audit: Pick<AuditLog, 'record'>;
  clock: () => number;
  logger: Logger;
  /** Marks a SET as handled; true when it already was (a replay). See replay.ts. */
  seen(key: string, ttlSeconds: number): Promise<boolean>;
  /** Unmarks a SET whose handling failed, so the transmitter's retry is handled. */
  forget?(key: string): Promise<void>;
  /**
   * Opens a link's refresh token, to match `token-revoked` events that name a token (prefix or double SHA-512)
   * rather than an account. Without it, such events match nothing (logged).
   */
  openRefreshToken?(row: ConnectionRow): string | undefined;
  /** Key source instead of the remote JWKS (tests). */
  keys?: JWTVerifyGetKey;
}

export interface RiscEventOutcome {
  type: string;
  action: RiscAction;
  /** Links whose status this event changed. */
  connections: string[];
}

export interface RiscOutcome {
  jti: string;
  /** Already handled: nothing was done this time. */
  replay: boolean;
  events: RiscEventOutcome[];
}

/**
 * A link made this long after the SET was issued is taken to postdate the event (the person linked again after
 * Google acted) and is left alone; within it (clock skew between Google and us) the event still applies.
 */
const RELINK_GRACE_SECONDS = 60;
const TOKEN_SCAN_PAGE = 500;

const doubleSha512 = (token: string): string => createHash('sha512').update(createHash('sha512').update(token, 'utf8').digest()).digest('base64');
/** base64 or base64url, padded or not: one form to compare. */
const b64 = (value: string): string => value.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');

/**
 * Google Cross-Account Protection receiver (RFC 8417 SETs pushed per RFC 8935). Verifies the SET, drops replays,
 * and applies each event to every matching link of the Google family, in every workspace: `revoke` (status
 * revoked, tokens deleted) or `needs_reauth`. Each change purges the token cache, emits the connection event
 * and writes an audit event. A SET about nobody we know is accepted and changes nothing.
 */
export function riscReceiver(deps: RiscDeps) {
  const { config, connections, providers, purgeCache, events, audit, clock, logger } = deps;
  const maxAge = config.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS;
  const audience = typeof config.audience === 'string' ? (config.audience ? [config.audience] : []) : (config.audience ?? []);
  const verify = setVerifier({ issuer: config.issuer, jwksUri: config.jwksUri, audience, clock, maxAgeSeconds: maxAge, keys: deps.keys });
  const subjectIssuers = config.subjectIssuers && new Set(config.subjectIssuers.flatMap(issuerForms));

  /** Links holding a refresh token with this identifier (among `candidates`, or every live Google-family link). */
  async function matchToken(token: TokenIdentifier, candidates?: ConnectionRow[]): Promise<ConnectionRow[]> {
    if (!deps.openRefreshToken) {
      logger.warn('risc: a token-revoked event names a token, and no refresh-token opener is configured', { alg: token.alg });
      return [];
    }
    const wanted = token.alg === 'prefix' ? token.value : b64(token.value);
    const matches = (row: ConnectionRow): boolean => {
      let refreshToken: string | undefined;
      try {
        refreshToken = deps.openRefreshToken!(row);
      } catch {
        return false; // does not open (its key left the ring): not a token we could use anyway
      }
      if (!refreshToken) return false;
      return token.alg === 'prefix' ? refreshToken.length >= 16 && refreshToken.slice(0, 16) === wanted : b64(doubleSha512(refreshToken)) === wanted;
    };
    if (candidates) return candidates.filter(matches);
    const found: ConnectionRow[] = [];
    let after: string | undefined;
    for (;;) {
      const rows = await connections.pageLiveWithRefreshToken(providers, after, TOKEN_SCAN_PAGE);
      found.push(...rows.filter(matches));
      if (rows.length < TOKEN_SCAN_PAGE) return found;
      after = rows.at(-1)!.id;
    }
  }

  /** The live links an event is about (before the "linked after the event" filter). */
  async function linksOf(subject: RiscSubject): Promise<ConnectionRow[]> {
    if (subject.iss && subjectIssuers && !subjectIssuers.has(subject.iss)) {
      logger.warn('risc: event subject from another issuer ignored', { subject_iss: subject.iss });
      return [];
    }
    const bySubject = subject.sub || subject.email ? await connections.findBySubject(providers, { sub: subject.sub, email: subject.email }) : undefined;
    if (subject.token) return matchToken(subject.token, bySubject);
    return bySubject ?? [];
  }

  async function apply(row: ConnectionRow, action: 'revoke' | 'needs_reauth', name: string, set: VerifiedSet, origin: AuditOrigin): Promise<ConnectionRow | undefined> {
    const now = new Date(clock());
    const status = action === 'revoke' ? 'revoked' : 'needs_reauth';
    const changed = await connections.markStatus(row.id, status, now, `risc: ${name}`, row.connected_at);
    if (!changed) return undefined; // already in that state, or linked again meanwhile
    // Token vending checks the status first; the purge keeps no copy of a dead token around.
    await purgeCache(row.id).catch((error: unknown) => logger.warn('risc: purging cached tokens failed', { connection_id: row.id, error: (error as Error).message }));
    const details = { provider: row.provider, purpose: row.purpose, connection_id: row.id, reason: 'risc', event: name, jti: set.jti };
    const who = { workspaceId: row.workspace_id, accountId: row.actor_type === 'user' ? row.actor_id : null, clientId: row.actor_type === 'api_key' ? row.actor_id : null };
    if (status === 'revoked') await audit.record({ ...origin, ...who, type: 'IntegrationDisconnect', details });
    else await audit.record({ ...origin, ...who, type: 'IntegrationRefreshFailure', outcome: 'failure', details: { ...details, error: 'risc' } });
    await events
      .emit(status === 'revoked' ? 'connection.revoked' : 'connection.needs_reauth', changed)
      .catch((error: unknown) => logger.warn('risc: emitting the connection event failed', { connection_id: row.id, error: (error as Error).message }));
    return changed;
  }

  async function handle(set: VerifiedSet, type: string, body: Record<string, unknown>, origin: AuditOrigin): Promise<RiscEventOutcome> {
    const action = actionOf(type, body);
    const name = eventName(type);
    if (action === 'none') {
      logger.info('risc: event received, nothing to change', { event: type, jti: set.jti, ...(typeof body.state === 'string' ? { state: body.state.slice(0, 200) } : {}) });
      return { type, action, connections: [] };
    }
    const subject = subjectOf(body, set);
    const linkedBefore = (set.iat + RELINK_GRACE_SECONDS) * 1000;
    const links = (await linksOf(subject)).filter((row) => new Date(row.connected_at).getTime() <= linkedBefore);
    const changed: string[] = [];
    for (const row of links) {
      if (await apply(row, action, name, set, origin)) changed.push(row.id);
    }
    logger.info('risc: event applied', { event: type, jti: set.jti, action, matched: links.length, changed: changed.length });
    return { type, action, connections: changed };
  }

  return {
    /**
     * Verifies and acts on one SET (the compact JWT). Throws RiscError for a SET to refuse (400), HttpError 503
     * when the signing keys cannot be fetched; resolves for everything to answer 202 (replays included).
     */
    async receive(jwt: string, origin: AuditOrigin = { actor: 'system' }): Promise<RiscOutcome> {
      if (!audience.length) {
        throw new RiscError('invalid_audience', 'this receiver accepts no SETs: the google provider has no client_id (GOOGLE_CLIENT_ID), so no audience is configured');
      }
      const set = await verify(jwt.trim());
      const key = createHash('sha256').update(`${set.iss}\n${set.jti}`).digest('base64url');
      if (await deps.seen(key, maxAge + 2 * CLOCK_TOLERANCE_SECONDS)) {
        logger.info('risc: replayed SET ignored', { jti: set.jti });
        return { jti: set.jti, replay: true, events: [] };
      }
      try {
        const outcomes: RiscEventOutcome[] = [];
        for (const [type, body] of Object.entries(set.events)) outcomes.push(await handle(set, type, body, origin));
        return { jti: set.jti, replay: false, events: outcomes };
      } catch (error) {
        await deps.forget?.(key).catch(() => {});
        throw error;
      }
    },
  };
}

export type RiscReceiver = ReturnType<typeof riscReceiver>;
