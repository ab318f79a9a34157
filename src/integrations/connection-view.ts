import type { ConnectionRow } from '../queries/connections.js';

const iso = (value: Date | string | null) => (value ? new Date(value).toISOString() : null);

/** The API's view of a connection: status, identity, scopes, expiry and health — never a token. */
export const toConnectionView = (row: ConnectionRow & { error_count_24h?: number }) => ({
  id: row.id,
  provider: row.provider,
  purpose: row.purpose,
  status: row.status,
  actor: `${row.actor_type}:${row.actor_id}`,
  workspace_id: row.workspace_id,
  identity: { subject: row.provider_subject, email: row.provider_email },
  scopes: row.scopes,
  expires_at: iso(row.expires_at),
  connected_at: iso(row.connected_at),
  revoked_at: iso(row.revoked_at),
  health: {
    last_success_at: iso(row.last_success_at),
    last_refreshed_at: iso(row.last_refreshed_at),
    last_error: row.last_error,
    last_error_at: iso(row.last_error_at),
    error_count_24h: row.error_count_24h ?? 0,
  },
});

export type ConnectionView = ReturnType<typeof toConnectionView>;
