import type { Knex } from 'knex';
import { auditQueries } from './audit.js';
import { clientQueries } from './clients.js';
import { connectionQueries } from './connections.js';
import { connectionLeaseQueries } from './connection-leases.js';
import { grantQueries } from './grants.js';
import { mailboxQueries } from './mailboxes.js';
import { oauthStateQueries } from './oauth-states.js';
import { oidcModelQueries } from './oidc-models.js';
import { resourceServerQueries } from './resource-servers.js';
import { signingKeyQueries } from './signing-keys.js';
import { userQueries } from './users.js';
import { webhookQueries } from './webhooks.js';
import { workspaceQueries } from './workspaces.js';

export function createQueries(db: Knex) {
  return {
    audit: auditQueries(db),
    clients: clientQueries(db),
    connections: connectionQueries(db),
    connectionLeases: connectionLeaseQueries(db),
    grants: grantQueries(db),
    mailboxes: mailboxQueries(db),
    oauthStates: oauthStateQueries(db),
    oidcModels: oidcModelQueries(db),
    resourceServers: resourceServerQueries(db),
    signingKeys: signingKeyQueries(db),
    users: userQueries(db),
    webhooks: webhookQueries(db),
    workspaces: workspaceQueries(db),
  };
}

export type Queries = ReturnType<typeof createQueries>;
