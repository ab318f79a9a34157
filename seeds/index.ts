import type { Logger } from 'winston';
import type { AccountService } from '../src/accounts/service.js';
import type { ClientService } from '../src/clients/service.js';
import type { Queries } from '../src/queries/index.js';

export const DEFAULT_WORKSPACE_ID = 'default';

/** Outside production only: a user and a public client to try the flow with (printed by the start banner). */
export const DEMO = {
  email: 'demo@example.com',
  password: 'demo-password',
  clientId: 'demo-app',
  redirectUri: 'http://localhost:8080/callback',
};

export interface SeedDependencies {
  queries: Queries;
  accounts: AccountService;
  clients: ClientService;
  logger: Logger;
  seedDemo: boolean;
}

/** Idempotent: safe on every start and on several instances at once. */
export async function runSeeds({ queries, accounts, clients, logger, seedDemo }: SeedDependencies): Promise<void> {
  await queries.workspaces.ensure(DEFAULT_WORKSPACE_ID, 'Default workspace');
  if (!seedDemo) return;
  await accounts.ensure({ email: DEMO.email, password: DEMO.password, name: 'Demo User', workspaceId: DEFAULT_WORKSPACE_ID, emailVerified: true });
  if (!(await clients.find(DEMO.clientId))) {
    await clients.register({
      client_id: DEMO.clientId,
      client_name: 'Demo app',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [DEMO.redirectUri, 'http://127.0.0.1:8080/callback'],
      scope: 'openid profile email offline_access account',
      workspace_id: DEFAULT_WORKSPACE_ID,
    });
    logger.info('seeded the demo client and user', { client_id: DEMO.clientId, email: DEMO.email });
  }
}
