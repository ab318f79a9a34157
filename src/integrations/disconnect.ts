import * as oauth from 'openid-client';
import { DecryptionError } from '../crypto/keyring.js';
import { conflict } from '../http/errors.js';
import type { AuditOrigin } from '../audit/origin.js';
import type { ConnectionRow } from '../queries/connections.js';
import type { IntegrationDeps } from './deps.js';
import { classifyUpstreamError } from './errors.js';

export interface DisconnectResult {
  connection: ConnectionRow;
  /** `revoked`: the provider confirmed; `not_supported`: it has no revocation endpoint; `failed`: it could not be reached or refused. */
  upstream_revocation: 'revoked' | 'not_supported' | 'failed' | 'nothing_to_revoke';
  mailboxes_reverted: string[];
}

/**
 * Disconnect: revoke at the provider where it has an endpoint (RFC 7009; Google, Notion), then delete the tokens
 * and mark the connection `revoked` whatever the provider said (the user asked to be disconnected; a provider
 * outage must not keep our copy of the tokens alive). Mailboxes using it go back to password auth.
 */
export function disconnectFlow(deps: IntegrationDeps) {
  const { settings, connections, mailboxes, sealer, cache, upstream, audit, events, clock, logger } = deps;

  async function revokeUpstream(row: ConnectionRow): Promise<DisconnectResult['upstream_revocation']> {
    const entry = Object.hasOwn(settings.providers, row.provider) ? settings.providers[row.provider] : undefined;
    if (!entry?.configured) return 'not_supported';
    try {
      const refreshToken = sealer.open(row, 'refresh_token', row.refresh_token_enc);
      const accessToken = sealer.open(row, 'access_token', row.access_token_enc);
      if (!refreshToken && !accessToken) return 'nothing_to_revoke';
      const config = await upstream.get(entry);
      if (!config.serverMetadata().revocation_endpoint) return 'not_supported';
      // Revoking the refresh token ends the grant at Google and Notion; the access token too, for providers
      // that revoke only the token they are given.
      if (refreshToken) await oauth.tokenRevocation(config, refreshToken, { token_type_hint: 'refresh_token' });
      if (accessToken) await oauth.tokenRevocation(config, accessToken, { token_type_hint: 'access_token' });
      return 'revoked';
    } catch (error) {
      logger.warn('upstream revocation failed', { provider: row.provider, connection_id: row.id, error: error instanceof DecryptionError ? error.message : classifyUpstreamError(error).message });
      return 'failed';
    }
  }

  /**
   * A link that is already revoked: the same answer, without a second `connection.revoked` webhook or
   * IntegrationDisconnect event. Mailboxes still pointing at it (a RISC revocation leaves them) go back to passwords.
   */
  async function alreadyRevoked(row: ConnectionRow): Promise<DisconnectResult> {
    // A revocation that did not come through here (RISC) may have left cached token ciphertext: purging is idempotent.
    await cache.purge(row.id);
    const reverted = await mailboxes.revertToPassword(row.id, new Date(clock()));
    return { connection: row, upstream_revocation: 'nothing_to_revoke', mailboxes_reverted: reverted.map((m) => m.purpose) };
  }

  return {
    /** Disconnects a row the caller found (the API, the account page, a deleted actor's cascade, a refused callback). */
    async disconnect(row: ConnectionRow, origin: AuditOrigin): Promise<DisconnectResult> {
      if (row.status === 'revoked') return alreadyRevoked(row);
      const upstreamRevocation = await revokeUpstream(row);
      const now = new Date(clock());
      // Conditional on "not revoked yet": of two disconnects at once, one reports the revocation.
      const revoked = await connections.markRevoked(row.id, now, row.connected_at);
      if (!revoked) {
        const current = await connections.findById(row.id);
        const sameLink = current && new Date(current.connected_at).getTime() === new Date(row.connected_at).getTime();
        if (sameLink && current.status === 'revoked') return alreadyRevoked(current);
        throw conflict(`the ${row.provider} connection was linked again while disconnecting; disconnect it again if you mean it`, 'conflict');
      }
      await cache.purge(row.id);
      const reverted = await mailboxes.revertToPassword(row.id, now);
      await audit.record({
        ...origin,
        type: 'IntegrationDisconnect',
        workspaceId: row.workspace_id,
        details: { provider: row.provider, purpose: row.purpose, connection_id: row.id, upstream_revocation: upstreamRevocation, mailboxes_reverted: reverted.map((m) => m.purpose) },
      });
      await events.emit('connection.revoked', revoked);
      return { connection: revoked, upstream_revocation: upstreamRevocation, mailboxes_reverted: reverted.map((m) => m.purpose) };
    },
  };
}
