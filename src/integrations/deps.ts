import type { OutboundPolicy } from '../net/outbound-policy.js';
import type { Logger } from 'winston';
import type { AuditLog } from '../audit/writer.js';
import type { KeyRing } from '../crypto/keyring.js';
import type { ConnectionQueries, ConnectionRow } from '../queries/connections.js';
import type { ConnectionLeaseQueries } from '../queries/connection-leases.js';
import type { MailboxQueries } from '../queries/mailboxes.js';
import type { OAuthStateQueries } from '../queries/oauth-states.js';
import type { ActorDirectory } from './actor.js';
import type { ProviderRegistry } from './registry/index.js';
import type { ConnectionEvents } from './events.js';
import type { ConnectionSealer } from './sealing.js';
import type { TokenCache } from './token-cache.js';
import type { UpstreamClients } from './upstream-client.js';

export interface IntegrationSettings {
  issuer: string;
  providers: ProviderRegistry;
  /** How long an authorization request may take (CONTRACT.md: 10 min). */
  stateTtlSeconds: number;
  /** A token expiring within this many seconds is refreshed before it is handed out. */
  refreshMarginSeconds: number;
}

/** What the integrations services are built from (passed in, never imported singletons). */
export interface IntegrationDeps {
  settings: IntegrationSettings;
  connections: ConnectionQueries;
  leases: ConnectionLeaseQueries;
  /** This process, as a lease owner (plus a random part per attempt). */
  instanceId: string;
  /** Plans a connection's next scheduled refresh (the refresh scheduler; a no-op where none runs). */
  planNext: (row: ConnectionRow) => Promise<void>;
  /** Queues every connection due soon (the refresh scheduler's planner). */
  planDue: () => Promise<number>;
  oauthStates: OAuthStateQueries;
  /** Users and clients, to refuse a callback whose actor was deleted meanwhile. */
  actors: ActorDirectory;
  mailboxes: MailboxQueries;
  keyring: KeyRing;
  sealer: ConnectionSealer;
  cache: TokenCache;
  upstream: UpstreamClients;
  audit: AuditLog;
  /** Lifecycle events for webhooks (connected, refreshed, needs_reauth, revoked). */
  events: ConnectionEvents;
  /** Counts each refresh at the provider by outcome (metrics: integration_refresh_total); optional. */
  refreshOutcome?: (provider: string, outcome: 'success' | 'needs_reauth' | 'failure') => void;
  /** Where the mail check may connect (special-use addresses refused; ISSUER, OUTBOUND_ALLOW_PRIVATE_NETWORKS). */
  outbound: OutboundPolicy;
  logger: Logger;
  clock: () => number;
}
