import { randomUUID } from 'node:crypto';
import type { AuditOrigin } from '../audit/origin.js';
import type { ConnectionRow } from '../queries/connections.js';
import { actorLabel, type IntegrationActor } from './actor.js';
import type { IntegrationDeps } from './deps.js';
import type { LinkedIdentity } from './identity.js';

export interface NewLink {
  actor: IntegrationActor;
  provider: string;
  purpose: string;
  identity: LinkedIdentity;
  /** What the provider granted (its `scope`), else what was asked for. */
  scopes: string[];
  tokens: { access_token: string; refresh_token?: string; token_type?: string; expires_in?: number };
  origin: AuditOrigin;
  /** Extra audit details, e.g. how the link was made (`via: alexa_accept_grant`). */
  details?: Record<string, unknown>;
}

/**
 * Stores a freshly linked account, whatever made the link (the callback, Alexa's AcceptGrant): tokens sealed to
 * the row, the cache of an earlier link of the same key purged, audited, announced, and its refresh planned.
 */
export function linkStore(deps: Pick<IntegrationDeps, 'connections' | 'sealer' | 'cache' | 'audit' | 'events' | 'planNext' | 'clock'>) {
  const { connections, sealer, cache, audit, events, planNext, clock } = deps;
  return async function storeLink(link: NewLink): Promise<ConnectionRow> {
    const now = clock();
    const key = { ...link.actor, provider: link.provider, purpose: link.purpose };
    const row = await connections.upsertConnected({
      ...key,
      id: randomUUID(),
      provider_subject: link.identity.subject,
      provider_email: link.identity.email,
      scopes: link.scopes,
      access_token_enc: sealer.seal(key, 'access_token', link.tokens.access_token),
      refresh_token_enc: sealer.seal(key, 'refresh_token', link.tokens.refresh_token),
      token_type: link.tokens.token_type ?? 'bearer',
      expires_at: link.tokens.expires_in !== undefined ? new Date(now + link.tokens.expires_in * 1000) : null,
      now: new Date(now),
    });
    await cache.purge(row.id); // tokens of an earlier link of the same key are gone
    await audit.record({
      ...link.origin,
      type: 'IntegrationConnect',
      actor: actorLabel(link.actor),
      workspaceId: link.actor.workspace_id,
      details: { provider: link.provider, purpose: link.purpose, ...link.details, connection_id: row.id, subject: link.identity.subject },
    });
    await events.emit('connection.connected', row);
    await planNext(row);
    return row;
  };
}

/** Scopes from a token response's `scope` (space- or comma-separated), else the requested ones. */
export const grantedScopes = (scope: string | undefined, requested: string[]): string[] =>
  scope ? scope.split(/[ ,]+/).filter(Boolean) : requested;
