import type { Knex } from 'knex';
import type { StatementRunner } from '../db/knex.js';
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

/** `statements`: the pool of the hot prepared statements on Postgres (src/db/knex.ts); absent on PGlite. */
export function createQueries(db: Knex, statements?: StatementRunner) {
  return {
    audit: auditQueries(db, statements),
    clients: clientQueries(db),
    connections: connectionQueries(db),
    connectionLeases: connectionLeaseQueries(db),
    grants: grantQueries(db),
    mailboxes: mailboxQueries(db),
    oauthStates: oauthStateQueries(db),
    oidcModels: oidcModelQueries(db, statements),
    resourceServers: resourceServerQueries(db),
    signingKeys: signingKeyQueries(db),
    users: userQueries(db, statements),
    webhooks: webhookQueries(db),
    workspaces: workspaceQueries(db),
  };
}

export type Queries = ReturnType<typeof createQueries>;
