import type { ConnectionRow } from '../queries/connections.js';

/** What a workspace's webhook subscriptions can hear about its connections (CONTRACT.md, webhooks). */
export const CONNECTION_EVENTS = ['connection.connected', 'connection.refreshed', 'connection.needs_reauth', 'connection.revoked'] as const;
export type ConnectionEvent = (typeof CONNECTION_EVENTS)[number];

/**
 * Where the integrations services report lifecycle changes. The webhook dispatcher implements it; emitting
 * must never fail the action that caused it (it queues, and logs its own failures).
 */
export interface ConnectionEvents {
  emit(event: ConnectionEvent, connection: ConnectionRow): Promise<void>;
}
