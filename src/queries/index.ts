import type { Knex } from 'knex';
import { clientQueries } from './clients.js';
import { oidcModelQueries } from './oidc-models.js';
import { resourceServerQueries } from './resource-servers.js';
import { signingKeyQueries } from './signing-keys.js';
import { userQueries } from './users.js';
import { workspaceQueries } from './workspaces.js';

export function createQueries(db: Knex) {
  return {
    clients: clientQueries(db),
    oidcModels: oidcModelQueries(db),
    resourceServers: resourceServerQueries(db),
    signingKeys: signingKeyQueries(db),
    users: userQueries(db),
    workspaces: workspaceQueries(db),
  };
}

export type Queries = ReturnType<typeof createQueries>;
