import type { Knex } from 'knex';
import { auditQueries } from './audit.js';
import { clientQueries } from './clients.js';
import { grantQueries } from './grants.js';
import { oidcModelQueries } from './oidc-models.js';
import { resourceServerQueries } from './resource-servers.js';
import { signingKeyQueries } from './signing-keys.js';
import { userQueries } from './users.js';
import { workspaceQueries } from './workspaces.js';

export function createQueries(db: Knex) {
  return {
    audit: auditQueries(db),
    clients: clientQueries(db),
    grants: grantQueries(db),
    oidcModels: oidcModelQueries(db),
    resourceServers: resourceServerQueries(db),
    signingKeys: signingKeyQueries(db),
    users: userQueries(db),
    workspaces: workspaceQueries(db),
  };
}

export type Queries = ReturnType<typeof createQueries>;
